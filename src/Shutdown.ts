/**
 * A shutdown request that escalates: the first request asks running work to stop gracefully, the
 * second asks it to stop at once. The CLI feeds it from SIGINT/SIGTERM; a library user can feed it
 * from anything.
 *
 * @since 0.1.0
 */
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as FiberId from "effect/FiberId"
import * as Option from "effect/Option"

/**
 * @since 0.1.0
 * @category models
 */
export interface Shutdown {
  /** Escalates: the first call starts a graceful shutdown, the second forces it. */
  readonly request: (reason: string) => Effect.Effect<void>
  /** Starts a graceful shutdown unless one has begun; never escalates. */
  readonly requestGraceful: (reason: string) => Effect.Effect<void>
  /** Completes when a graceful shutdown begins. */
  readonly requested: Effect.Effect<void>
  /** Completes when the shutdown is forced (the grace is to be skipped). */
  readonly forced: Effect.Effect<void>
  /** The reason given with the first request (for example `"SIGINT"`). */
  readonly reason: Effect.Effect<Option.Option<string>>
  /** `request` for callers outside Effect, such as a signal handler. */
  readonly unsafeRequest: (reason: string) => void
}

/**
 * @since 0.1.0
 * @category constructors
 */
export const unsafeMake = (): Shutdown => {
  const requested = Deferred.unsafeMake<void>(FiberId.none)
  const forced = Deferred.unsafeMake<void>(FiberId.none)
  let firstReason: Option.Option<string> = Option.none()
  const requestGraceful = (reason: string) =>
    Effect.suspend(() => {
      if (Option.isNone(firstReason)) firstReason = Option.some(reason)
      return Deferred.succeed(requested, undefined)
    }).pipe(Effect.asVoid)
  const request = (reason: string) =>
    Effect.suspend(() =>
      Option.isNone(firstReason) ? requestGraceful(reason) : Deferred.succeed(forced, undefined).pipe(Effect.asVoid)
    )
  return {
    request,
    requestGraceful,
    requested: Deferred.await(requested),
    forced: Deferred.await(forced),
    reason: Effect.sync(() => firstReason),
    unsafeRequest: (reason) => Effect.runSync(request(reason))
  }
}

/**
 * @since 0.1.0
 * @category constructors
 */
export const make: Effect.Effect<Shutdown> = Effect.sync(unsafeMake)
