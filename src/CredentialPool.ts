/**
 * A scoped pool of API credentials with exclusive (or bounded shared) leases and rate-limit
 * cooldowns. The cooldown deadlines live in a `Ref`; waiters queue in order and are woken by a
 * release or by the timer of the earliest deadline — never by polling.
 *
 * @since 0.1.0
 */
import * as Cause from "effect/Cause"
import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as Data from "effect/Data"
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as FiberId from "effect/FiberId"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as PubSub from "effect/PubSub"
import type * as Queue from "effect/Queue"
import * as Random from "effect/Random"
import * as Redacted from "effect/Redacted"
import * as Ref from "effect/Ref"
import * as Schema from "effect/Schema"
import type * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import { clampCooldownMillis, sleepLong } from "./internal/timers.js"
import { isRateLimited, type RateLimited } from "./RateLimited.js"

/**
 * One credential: a label safe to show (`key-1`, or the label given) and the secret, which only
 * ever leaves the pool as `Redacted`.
 *
 * @since 0.1.0
 * @category models
 */
export class Credential extends Data.Class<{
  readonly label: string
  readonly secret: Redacted.Redacted<string>
}> {
  override toString(): string {
    return `Credential(${this.label})`
  }
  toJSON(): unknown {
    return { label: this.label }
  }
}

/**
 * A credential as given to the pool: a bare secret (labelled `key-N` by position) or a labelled one.
 *
 * @since 0.1.0
 * @category models
 */
export type CredentialInput =
  | string
  | Redacted.Redacted<string>
  | { readonly label?: string | undefined; readonly secret: string | Redacted.Redacted<string> }

/**
 * Why no credential could be had.
 *
 * - `WaitTimedOut`: no credential became free within `maxWait`.
 * - `WaitAbandoned`: the caller's `stopWaitingWhen` completed first.
 * - `RateLimitRetriesExhausted`: the work was rate limited more times than `maxRateLimitRetries`.
 *
 * @since 0.1.0
 * @category errors
 */
export class CredentialUnavailable extends Schema.TaggedError<CredentialUnavailable>()("CredentialUnavailable", {
  reason: Schema.Literal("WaitTimedOut", "WaitAbandoned", "RateLimitRetriesExhausted"),
  detail: Schema.String
}) {
  override get message(): string {
    switch (this.reason) {
      case "WaitTimedOut":
        return `no credential became free in time: ${this.detail}`
      case "WaitAbandoned":
        return `stopped waiting for a credential: ${this.detail}`
      case "RateLimitRetriesExhausted":
        return `rate limited too many times: ${this.detail}`
    }
  }
}

/**
 * What the waiters are waiting for, when there are any.
 *
 * - `Available`: nobody waits.
 * - `Exhausted`: every credential is leased (some may also be cooling); waiters wake on a release.
 * - `AllCooling`: every credential is cooling after a 429; waiters sleep until `nextDeadline`.
 *
 * @since 0.1.0
 * @category models
 */
export type PoolCondition = "Available" | "Exhausted" | "AllCooling"

/**
 * A snapshot of the pool.
 *
 * @since 0.1.0
 * @category models
 */
export interface PoolStats {
  readonly total: number
  /** Credentials that can be leased right now. */
  readonly available: number
  /** Credentials with at least one holder. */
  readonly inUse: number
  /** Credentials whose cooldown deadline is in the future. */
  readonly rateLimited: number
  /** Leases waited for. */
  readonly waiting: number
  readonly condition: PoolCondition
  /** Epoch milliseconds of the earliest cooldown deadline still ahead, if any. */
  readonly nextDeadline: Option.Option<number>
}

/**
 * Per-credential counters, for summaries.
 *
 * @since 0.1.0
 * @category models
 */
export interface CredentialUsage {
  readonly label: string
  readonly leases: number
  readonly rateLimits: number
  readonly coolingMillis: number
}

/**
 * A change of the pool's state.
 *
 * @since 0.1.0
 * @category models
 */
export type PoolEvent = Data.TaggedEnum<{
  Leased: { readonly label: string; readonly waitedMillis: number }
  Released: { readonly label: string }
  RateLimited: { readonly label: string; readonly cooldownMillis: number; readonly until: number }
  CooledDown: { readonly label: string }
  ConditionChanged: {
    readonly condition: PoolCondition
    readonly waiting: number
    readonly nextDeadline: Option.Option<number>
  }
}>

/**
 * @since 0.1.0
 * @category constructors
 */
export const PoolEvent = Data.taggedEnum<PoolEvent>()

/**
 * An exclusive (or bounded shared) use of one credential for the life of a scope.
 *
 * @since 0.1.0
 * @category models
 */
export interface Lease {
  readonly credential: Credential
  /** Cools this credential (for `retryAfter`, or the pool's backoff) before it is released. */
  readonly rateLimited: (retryAfter?: Duration.DurationInput) => Effect.Effect<void>
}

/**
 * @since 0.1.0
 * @category models
 */
export interface LeaseOptions {
  /** Give up with `CredentialUnavailable("WaitTimedOut")` after this long. @default wait as long as it takes */
  readonly maxWait?: Duration.DurationInput | undefined
  /** Stop waiting, with `CredentialUnavailable("WaitAbandoned")`, when this completes first. */
  readonly stopWaitingWhen?: Effect.Effect<void> | undefined
}

/**
 * @since 0.1.0
 * @category models
 */
export interface WithCredentialOptions extends LeaseOptions {
  /** Rate-limit restarts allowed in one call before failing. @default the pool's `maxRateLimitRetries` */
  readonly maxRateLimitRetries?: number | undefined
}

/**
 * @since 0.1.0
 * @category models
 */
export interface CredentialPoolOptions {
  readonly credentials: ReadonlyArray<CredentialInput>
  /** Holders one credential may have at once. @default 1 (exclusive) */
  readonly perCredential?: number | undefined
  /** Cooldown after a 429 that came without a retry-after. Every cooldown is at most 24 hours. @default "60 seconds" */
  readonly backoff?: Duration.DurationInput | undefined
  /** Largest random delay added to a cooldown (never more than 10% of it). @default "250 millis" */
  readonly maxJitter?: Duration.DurationInput | undefined
  /** Rate-limit restarts allowed in one `withCredential` call. @default 20 */
  readonly maxRateLimitRetries?: number | undefined
  /** Default for {@link LeaseOptions.maxWait}. @default wait as long as it takes */
  readonly maxWait?: Duration.DurationInput | undefined
}

/**
 * The pool's interface.
 *
 * @since 0.1.0
 * @category models
 */
export interface CredentialPoolShape {
  readonly labels: ReadonlyArray<string>
  /** Leases a credential for the life of the scope. Waiting is interruptible. */
  readonly lease: (options?: LeaseOptions) => Effect.Effect<Lease, CredentialUnavailable, Scope.Scope>
  /**
   * Leases a credential, runs `use` with it and releases it. When `use` fails with
   * {@link RateLimited}, that credential is cooled and `use` runs again at once with another.
   */
  readonly withCredential: <A, E, R>(
    use: (credential: Credential) => Effect.Effect<A, E, R>,
    options?: WithCredentialOptions
  ) => Effect.Effect<A, Exclude<E, RateLimited> | CredentialUnavailable, R>
  /** Cools the credential with this label, as a 429 would. */
  readonly markRateLimited: (label: string, retryAfter?: Duration.DurationInput) => Effect.Effect<void>
  readonly stats: Effect.Effect<PoolStats>
  readonly usage: Effect.Effect<ReadonlyArray<CredentialUsage>>
  /** Subscribes to state changes for the life of the scope (no change is missed after it returns). */
  readonly subscribe: Effect.Effect<Queue.Dequeue<PoolEvent>, never, Scope.Scope>
  /** The state changes as a stream (subscribes when the stream starts). */
  readonly changes: Stream.Stream<PoolEvent>
}

/** Lease bookkeeping of one credential; its cooldown deadline lives in the pool's `Ref`. */
interface Slot {
  readonly credential: Credential
  holders: number
  /** Order of the last lease, for least-recently-used choice. */
  lastLeased: number
  leases: number
  rateLimits: number
  coolingMillis: number
}

interface Waiter {
  readonly deferred: Deferred.Deferred<number>
  assigned: number | undefined
}

/** Calls `use`, turning a throw into a defect, so that the lease is released even then. */
const useSafely = <A, E, R>(use: (credential: Credential) => Effect.Effect<A, E, R>, credential: Credential) => {
  try {
    return use(credential)
  } catch (defect) {
    return Effect.die(defect)
  }
}

/** Epoch ms before which each credential is not leased (by position); 0 when it is not cooling. */
type Deadlines = ReadonlyArray<number>

const toCredential = (input: CredentialInput, index: number): Credential => {
  const defaultLabel = `key-${index + 1}`
  if (typeof input === "string") return new Credential({ label: defaultLabel, secret: Redacted.make(input) })
  if (Redacted.isRedacted(input)) {
    return new Credential({ label: defaultLabel, secret: input as Redacted.Redacted<string> })
  }
  const secret = typeof input.secret === "string" ? Redacted.make(input.secret) : input.secret
  return new Credential({ label: input.label ?? defaultLabel, secret })
}

const positiveInt = (name: string, value: number | undefined, fallback: number): number => {
  const n = value ?? fallback
  if (!Number.isInteger(n) || n < 1) {
    throw new globalThis.Error(
      `CredentialPool: ${name} must be a whole number of at least 1, received ${String(value)}`
    )
  }
  return n
}

const nextDeadlineOf = (deadlines: Deadlines, now: number): Option.Option<number> => {
  let next = Infinity
  for (const d of deadlines) if (d > now && d < next) next = d
  return next === Infinity ? Option.none() : Option.some(next)
}

/**
 * Builds a pool whose cooldown timers live in the current scope.
 *
 * The cooldown deadlines are a `Ref`; every decision that depends on them (lease, hand-over to a
 * waiter, cooldown) is made inside one `Ref.modify`, so it is atomic. The lease bookkeeping beside
 * them (holders, the waiter queue, counters) is plain mutable state touched only inside those
 * synchronous sections.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (options: CredentialPoolOptions): Effect.Effect<CredentialPoolShape, never, Scope.Scope> =>
  Effect.gen(function*() {
    if (options.credentials.length === 0) {
      return yield* Effect.dieMessage("CredentialPool: expected at least one credential, received none")
    }
    const perCredential = positiveInt("perCredential", options.perCredential, 1)
    const maxRateLimitRetries = options.maxRateLimitRetries ?? 20
    const backoffMillis = Duration.toMillis(options.backoff ?? "60 seconds")
    const maxJitterMillis = Duration.toMillis(options.maxJitter ?? "250 millis")
    const credentials = options.credentials.map(toCredential)
    const labels = credentials.map((c) => c.label)
    if (new Set(labels).size !== labels.length) {
      return yield* Effect.dieMessage(`CredentialPool: expected distinct labels, received ${labels.join(", ")}`)
    }
    const scope = yield* Effect.scope
    // Read synchronously on the lease/release path (a TestClock when one is provided).
    const clock = yield* Effect.clock
    const events = yield* PubSub.unbounded<PoolEvent>()
    yield* Effect.addFinalizer(() => PubSub.shutdown(events))
    const deadlines = yield* Ref.make<Deadlines>(credentials.map(() => 0))
    const slots: ReadonlyArray<Slot> = credentials.map((credential) => ({
      credential,
      holders: 0,
      lastLeased: 0,
      leases: 0,
      rateLimits: 0,
      coolingMillis: 0
    }))
    const waiters: Array<Waiter> = []
    let sequence = 0
    let condition: PoolCondition = "Available"

    // Events are built and published only while someone listens. They are queued inside the
    // synchronous sections and published, in order, right after.
    let listeners = 0
    const queued: Array<PoolEvent> = []
    const emit = (event: () => PoolEvent) => {
      if (listeners > 0) queued.push(event())
    }
    const flush = Effect.suspend(() =>
      queued.length === 0 ? Effect.void : PubSub.publishAll(events, queued.splice(0, queued.length))
    )
    const subscribe = Effect.zipRight(
      Effect.acquireRelease(Effect.sync(() => listeners++), () => Effect.sync(() => listeners--)),
      PubSub.subscribe(events)
    )

    /** Fewest holders first, then least recently leased; -1 when none is free. */
    const pickSlot = (ds: Deadlines, now: number): number => {
      let best = -1
      for (let i = 0; i < slots.length; i++) {
        const s = slots[i]!
        if (s.holders >= perCredential || ds[i]! > now) continue
        const b = best === -1 ? undefined : slots[best]!
        if (b === undefined || s.holders < b.holders || (s.holders === b.holders && s.lastLeased < b.lastLeased)) {
          best = i
        }
      }
      return best
    }

    const take = (index: number) => {
      const slot = slots[index]!
      slot.holders++
      slot.leases++
      slot.lastLeased = ++sequence
    }

    /** Records what the waiters now wait for, announcing a change. */
    const noteCondition = (ds: Deadlines, now: number) => {
      const next: PoolCondition = waiters.length === 0
        ? "Available"
        : ds.every((d) => d > now)
        ? "AllCooling"
        : "Exhausted"
      if (next === condition) return
      condition = next
      emit(() =>
        PoolEvent.ConditionChanged({ condition: next, waiting: waiters.length, nextDeadline: nextDeadlineOf(ds, now) })
      )
    }

    /** Hands free credentials to waiters in queue order. */
    const serveWaiters = (ds: Deadlines, now: number) => {
      while (waiters.length > 0) {
        const index = pickSlot(ds, now)
        if (index === -1) break
        const waiter = waiters.shift()!
        take(index)
        waiter.assigned = index
        Deferred.unsafeDone(waiter.deferred, Exit.succeed(index))
      }
      if (waiters.length > 0 || condition !== "Available") noteCondition(ds, now)
    }

    /** One holder fewer; the credential goes to the first waiter, if any. Only inside a `Ref.modify`. */
    const giveBack = (ds: Deadlines, index: number) => {
      slots[index]!.holders--
      emit(() => PoolEvent.Released({ label: labels[index]! }))
      if (waiters.length > 0) serveWaiters(ds, clock.unsafeCurrentTimeMillis())
    }
    /** A synchronous section, then the events it queued, if anyone listens. */
    const flushedAfter = <A>(section: Effect.Effect<A>) => listeners === 0 ? section : Effect.zipLeft(section, flush)

    /** Gives a lease back, then succeeds with `value`. */
    const releaseWith = <A>(index: number, value: A): Effect.Effect<A> =>
      flushedAfter(Ref.modify(deadlines, (ds): readonly [A, Deadlines] => {
        giveBack(ds, index)
        return [value, ds]
      }))
    const release = (index: number): Effect.Effect<void> => releaseWith(index, undefined)
    /** Gives back what `holder` holds, clearing it in the same atomic step. */
    const releaseHeld = (holder: LeaseHolder): Effect.Effect<void> =>
      flushedAfter(Ref.modify(deadlines, (ds): readonly [void, Deadlines] => {
        if (holder.leased !== undefined) giveBack(ds, holder.leased)
        holder.leased = undefined
        return [undefined, ds]
      }))

    const cooledDown = (index: number) =>
      Effect.zipRight(
        Ref.modify(deadlines, (ds): readonly [void, Deadlines] => {
          const now = clock.unsafeCurrentTimeMillis()
          const deadline = ds[index]!
          if (deadline === 0 || deadline > now) return [undefined, ds]
          emit(() => PoolEvent.CooledDown({ label: labels[index]! }))
          const next = ds.map((d, i) => (i === index ? 0 : d))
          serveWaiters(next, now)
          return [undefined, next]
        }),
        flush
      )

    const coolIndex = (index: number, retryAfter: Duration.DurationInput | undefined) =>
      Effect.gen(function*() {
        // At most 24 hours, whatever the API said (a retry-after of 1e20 s is not a date).
        const base = clampCooldownMillis(retryAfter === undefined ? backoffMillis : Duration.toMillis(retryAfter))
        const jitterCap = Math.min(maxJitterMillis, base * 0.1)
        const jitter = jitterCap > 0 ? Math.ceil(yield* Random.nextRange(0, jitterCap)) : 0
        const cooldown = Math.ceil(base) + jitter
        const now = yield* Clock.currentTimeMillis
        const until = now + cooldown
        const extended = yield* Ref.modify(deadlines, (ds): readonly [boolean, Deadlines] => {
          if (ds[index]! >= until) return [false, ds]
          const slot = slots[index]!
          slot.rateLimits++
          slot.coolingMillis += cooldown - Math.max(0, ds[index]! - now)
          const next = ds.map((d, i) => (i === index ? until : d))
          emit(() => PoolEvent.RateLimited({ label: labels[index]!, cooldownMillis: cooldown, until }))
          // Waiters of an exhausted pool may now wait for a deadline instead of a release: say so.
          if (waiters.length > 0) noteCondition(next, now)
          return [true, next]
        })
        yield* flush
        if (!extended) return
        // Interruptible even when the 429 is reported from an uninterruptible region, so that
        // closing the pool's scope does not wait out the cooldown.
        yield* sleepLong(Duration.millis(cooldown)).pipe(
          Effect.zipRight(cooledDown(index)),
          Effect.interruptible,
          Effect.forkIn(scope)
        )
      })

    const markRateLimited = (label: string, retryAfter?: Duration.DurationInput) => {
      const index = labels.indexOf(label)
      return index === -1 ? Effect.void : coolIndex(index, retryAfter)
    }

    /** Leaves the queue; if a credential was already handed over, gives it back. */
    const cancel = (waiter: Waiter) =>
      Effect.flatMap(
        Ref.modify(deadlines, (ds) => {
          const position = waiters.indexOf(waiter)
          if (position === -1) return [waiter.assigned !== undefined, ds] as const
          waiters.splice(position, 1)
          noteCondition(ds, clock.unsafeCurrentTimeMillis())
          return [false, ds] as const
        }),
        (handedOver) => (handedOver ? release(waiter.assigned!) : flush)
      )

    /** Leases a free credential when nobody waits; -1 otherwise. Only inside a `Ref.modify`. */
    const leaseFree = (ds: Deadlines, now: number): number => {
      if (waiters.length > 0) return -1
      const index = pickSlot(ds, now)
      if (index === -1) return -1
      take(index)
      emit(() => PoolEvent.Leased({ label: labels[index]!, waitedMillis: 0 }))
      return index
    }

    /**
     * Leases a credential and continues with its index. Must run uninterruptibly; only the wait
     * itself is made interruptible, through `restore`. A caller served at once (no queue, a free
     * credential) never waits on a `Deferred`.
     */
    const acquireThen = <A, E, R>(
      restore: <A1, E1, R1>(effect: Effect.Effect<A1, E1, R1>) => Effect.Effect<A1, E1, R1>,
      leaseOptions: LeaseOptions | undefined,
      andThen: (index: number) => Effect.Effect<A, E, R>
    ): Effect.Effect<A, E | CredentialUnavailable, R> => {
      let start = 0
      let waiter: Waiter | undefined
      const taken = Ref.modify(deadlines, (ds): readonly [number, Deadlines] => {
        start = clock.unsafeCurrentTimeMillis()
        const index = leaseFree(ds, start)
        if (index !== -1) return [index, ds]
        waiter = { deferred: Deferred.unsafeMake<number>(FiberId.none), assigned: undefined }
        waiters.push(waiter)
        serveWaiters(ds, start)
        return [-1, ds]
      })
      return Effect.flatMap(taken, (index) => {
        if (index !== -1) return listeners === 0 ? andThen(index) : Effect.zipRight(flush, andThen(index))
        return Effect.zipRight(flush, Effect.flatMap(awaitTurn(restore, leaseOptions, waiter!, start), andThen))
      })
    }

    /** The slow path of `acquireThen`: wait in the queue for a credential. */
    const awaitTurn = (
      restore: <A, E, R>(effect: Effect.Effect<A, E, R>) => Effect.Effect<A, E, R>,
      leaseOptions: LeaseOptions | undefined,
      waiter: Waiter,
      start: number
    ): Effect.Effect<number, CredentialUnavailable> => {
      const leased = (index: number) =>
        Effect.zipRight(
          Effect.sync(() =>
            emit(() =>
              PoolEvent.Leased({ label: labels[index]!, waitedMillis: clock.unsafeCurrentTimeMillis() - start })
            )
          ),
          Effect.as(flush, index)
        )
      if (waiter.assigned !== undefined) return leased(waiter.assigned)
      const maxWait = leaseOptions?.maxWait ?? options.maxWait
      const stopWhen = leaseOptions?.stopWaitingWhen
      let waiting: Effect.Effect<number, CredentialUnavailable> = Deferred.await(waiter.deferred)
      if (maxWait !== undefined) {
        // A race, not `timeoutFail`: a maxWait beyond Node's timer limit must still end.
        waiting = Effect.raceFirst(
          waiting,
          Effect.zipRight(
            sleepLong(maxWait),
            Effect.fail(
              new CredentialUnavailable({
                reason: "WaitTimedOut",
                detail: `waited ${Duration.format(maxWait)} with all ${labels.length} credentials leased or cooling`
              })
            )
          )
        )
      }
      if (stopWhen !== undefined) {
        waiting = Effect.raceFirst(
          waiting,
          Effect.zipRight(
            stopWhen,
            Effect.fail(new CredentialUnavailable({ reason: "WaitAbandoned", detail: "stopped waiting on request" }))
          )
        )
      }
      return restore(waiting).pipe(
        Effect.onExit((exit) => (Exit.isSuccess(exit) ? Effect.void : cancel(waiter))),
        Effect.flatMap(leased)
      )
    }

    const lease = (leaseOptions?: LeaseOptions): Effect.Effect<Lease, CredentialUnavailable, Scope.Scope> =>
      Effect.uninterruptibleMask((restore) =>
        acquireThen(restore, leaseOptions, (index) =>
          Effect.as(Effect.addFinalizer(() => release(index)), {
            credential: credentials[index]!,
            rateLimited: (retryAfter?: Duration.DurationInput) => coolIndex(index, retryAfter)
          }))
      )

    /** What `use` failed with, when it was a rate limit. */
    const rateLimitOf = (cause: Cause.Cause<unknown>): RateLimited | undefined => {
      const failure = Cause.failureOption(cause)
      return Option.isSome(failure) && isRateLimited(failure.value) ? failure.value : undefined
    }

    /** What follows a 429: the credential cooled, then released. */
    const releaseRateLimited = (index: number, retryAfter: Duration.DurationInput | undefined) =>
      Effect.zipRight(coolIndex(index, retryAfter), release(index))

    /**
     * `withCredential` from its `rateLimits`-th restart on: lease, use, cool on a 429, release, in
     * one uninterruptible region with only the wait and the use interruptible, so the credential
     * is released whatever happens. The restart after a 429 runs through `restore`, with the
     * caller's interruptibility.
     */
    const withCredentialFrom = <A, E, R>(
      use: (credential: Credential) => Effect.Effect<A, E, R>,
      callOptions: WithCredentialOptions | undefined,
      rateLimits: number
    ): Effect.Effect<A, Exclude<E, RateLimited> | CredentialUnavailable, R> =>
      Effect.uninterruptibleMask((restore) =>
        acquireThen(
          restore,
          callOptions,
          (index) =>
            Effect.matchCauseEffect(restore(useSafely(use, credentials[index]!)), {
              onSuccess: (value) => releaseWith(index, value),
              onFailure: (cause): Effect.Effect<A, E | CredentialUnavailable, R> => {
                const limited = rateLimitOf(cause)
                return limited === undefined
                  ? Effect.zipRight(release(index), Effect.failCause(cause))
                  : Effect.zipRight(
                    releaseRateLimited(index, limited.retryAfter),
                    restore(restartAfterRateLimit(use, callOptions, rateLimits))
                  )
              }
            })
        )
      ) as Effect.Effect<A, Exclude<E, RateLimited> | CredentialUnavailable, R>

    /** After the `rateLimits + 1`-th 429 in a row: a restart on another credential, or the typed error past the limit. */
    const restartAfterRateLimit = <A, E, R>(
      use: (credential: Credential) => Effect.Effect<A, E, R>,
      callOptions: WithCredentialOptions | undefined,
      rateLimits: number
    ): Effect.Effect<A, Exclude<E, RateLimited> | CredentialUnavailable, R> => {
      const limit = callOptions?.maxRateLimitRetries ?? maxRateLimitRetries
      return rateLimits >= limit
        ? Effect.fail(
          new CredentialUnavailable({
            reason: "RateLimitRetriesExhausted",
            detail: `${rateLimits + 1} rate limits in a row (limit ${limit})`
          })
        )
        : withCredentialFrom(use, callOptions, rateLimits + 1)
    }

    const withCredential = <A, E, R>(
      use: (credential: Credential) => Effect.Effect<A, E, R>,
      callOptions?: WithCredentialOptions
    ): Effect.Effect<A, Exclude<E, RateLimited> | CredentialUnavailable, R> => withCredentialFrom(use, callOptions, 0)

    const stats = Effect.flatMap(Clock.currentTimeMillis, (now) =>
      Effect.map(Ref.get(deadlines), (ds): PoolStats => ({
        total: slots.length,
        available: slots.filter((s, i) => s.holders < perCredential && ds[i]! <= now).length,
        inUse: slots.filter((s) => s.holders > 0).length,
        rateLimited: ds.filter((d) => d > now).length,
        waiting: waiters.length,
        condition,
        nextDeadline: nextDeadlineOf(ds, now)
      })))

    const usage = Effect.sync(() =>
      slots.map((s): CredentialUsage => ({
        label: s.credential.label,
        leases: s.leases,
        rateLimits: s.rateLimits,
        coolingMillis: s.coolingMillis
      }))
    )

    const pool: CredentialPoolShape = {
      labels,
      lease,
      withCredential,
      markRateLimited,
      stats,
      usage,
      subscribe,
      changes: Stream.unwrapScoped(Effect.map(subscribe, (queue) => Stream.fromQueue(queue)))
    }
    leaseStepsByPool.set(pool, {
      credentials,
      tryLease: (holder) =>
        flushedAfter(Ref.modify(deadlines, (ds): readonly [boolean, Deadlines] => {
          const index = leaseFree(ds, clock.unsafeCurrentTimeMillis())
          if (index === -1) return [false, ds]
          holder.leased = index
          return [true, ds]
        })),
      release: releaseHeld,
      releaseRateLimited: (holder, retryAfter) =>
        holder.leased === undefined
          ? Effect.void
          : Effect.zipRight(coolIndex(holder.leased, retryAfter), releaseHeld(holder)),
      restartAfterFirstRateLimit: (use, callOptions) => restartAfterRateLimit(use, callOptions, 0)
    })
    return pool
  })

/**
 * Holds the index of a credential leased through {@link LeaseSteps}.
 *
 * @internal
 */
export interface LeaseHolder {
  leased: number | undefined
}

/**
 * The steps of `withCredential`, for a caller that releases what it holds by its own bookkeeping
 * even when it is interrupted (the coordinator: after its dispatch ends, it releases what
 * interrupted items still held), and so needs no uninterruptible region per lease. Not public.
 *
 * @internal
 */
export interface LeaseSteps {
  readonly credentials: ReadonlyArray<Credential>
  /** When nobody waits and a credential is free, leases it and stores its index in `holder`, in one atomic step. */
  readonly tryLease: (holder: LeaseHolder) => Effect.Effect<boolean>
  /** Releases what `holder` holds and clears it, in one atomic step (nothing when it holds nothing). */
  readonly release: (holder: LeaseHolder) => Effect.Effect<void>
  /** Cools what `holder` holds after a 429, then releases it. */
  readonly releaseRateLimited: (
    holder: LeaseHolder,
    retryAfter: Duration.DurationInput | undefined
  ) => Effect.Effect<void>
  /** Goes on as `withCredential` does after the first 429 in a row. */
  readonly restartAfterFirstRateLimit: <A, E, R>(
    use: (credential: Credential) => Effect.Effect<A, E, R>,
    options: WithCredentialOptions | undefined
  ) => Effect.Effect<A, Exclude<E, RateLimited> | CredentialUnavailable, R>
}

const leaseStepsByPool = new WeakMap<CredentialPoolShape, LeaseSteps>()

/**
 * The lease steps of a pool built by {@link make}; `undefined` for any other implementation.
 *
 * @internal
 */
export const leaseStepsOf = (pool: CredentialPoolShape): LeaseSteps | undefined => leaseStepsByPool.get(pool)

/**
 * The credential pool service.
 *
 * @since 0.1.0
 * @category tags
 */
export class CredentialPool extends Context.Tag("agentos-parallel/CredentialPool")<
  CredentialPool,
  CredentialPoolShape
>() {
  /**
   * A pool for the life of the layer.
   *
   * @since 0.1.0
   */
  static readonly layer = (options: CredentialPoolOptions): Layer.Layer<CredentialPool> =>
    Layer.scoped(CredentialPool, make(options))

  /**
   * Builds a pool in the current scope (for use without a layer).
   *
   * @since 0.1.0
   */
  static readonly make = make
}
