import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import type * as Scope from "effect/Scope"

/**
 * The longest delay a Node timer holds (2^31−1 ms, about 24.8 days). Effect schedules no timer at
 * all for a longer sleep, so such a sleep never ends and, with nothing else pending, the event loop
 * runs dry and the process exits.
 */
export const MAX_TIMER_MILLIS = 2 ** 31 - 1

/**
 * The longest cooldown a credential is given and the longest retry delay: 24 hours. A retry-after
 * beyond it (a hostile or buggy API can send `retry-after: 1e20`) is read as 24 hours.
 */
export const MAX_COOLDOWN_MILLIS = 24 * 3_600_000

/** `millis` as a cooldown: not negative, not NaN, at most {@link MAX_COOLDOWN_MILLIS}. */
export const clampCooldownMillis = (millis: number): number =>
  Number.isNaN(millis) ? 0 : Math.min(MAX_COOLDOWN_MILLIS, Math.max(0, millis))

/**
 * Sleeps for `duration`, however long, in steps a Node timer can hold; an infinite duration never
 * ends (without a timer).
 */
export const sleepLong = (duration: Duration.DurationInput): Effect.Effect<void> => {
  const millis = Duration.toMillis(duration)
  if (!(millis > MAX_TIMER_MILLIS)) return Effect.sleep(duration)
  if (!Number.isFinite(millis)) return Effect.never
  return Effect.zipRight(
    Effect.sleep(Duration.millis(MAX_TIMER_MILLIS)),
    Effect.suspend(() => sleepLong(Duration.millis(millis - MAX_TIMER_MILLIS)))
  )
}

/**
 * A ref'ed Node timer for the life of the scope: while it is held, the process cannot run out of
 * work (and exit as if done) because some wait was left without a timer.
 */
export const keepAlive: Effect.Effect<void, never, Scope.Scope> = Effect.asVoid(
  Effect.acquireRelease(
    Effect.sync(() => setInterval(() => {}, 1_000_000_000)),
    (handle) => Effect.sync(() => clearInterval(handle))
  )
)
