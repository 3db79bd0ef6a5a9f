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
  /** Cooldown after a 429 that came without a retry-after. @default "60 seconds" */
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

interface Slot {
  readonly credential: Credential
  readonly holders: number
  /** Epoch ms before which the credential is not leased; 0 when it is not cooling. */
  readonly deadline: number
  /** Order of the last lease, for least-recently-used choice. */
  readonly lastLeased: number
  readonly leases: number
  readonly rateLimits: number
  readonly coolingMillis: number
}

interface Waiter {
  readonly deferred: Deferred.Deferred<number>
  assigned: number | undefined
}

interface PoolState {
  readonly slots: ReadonlyArray<Slot>
  readonly waiters: ReadonlyArray<Waiter>
  readonly sequence: number
  readonly condition: PoolCondition
}

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

const isFree = (slot: Slot, perCredential: number, now: number) => slot.holders < perCredential && slot.deadline <= now

/** Fewest holders first, then least recently leased. */
const pickSlot = (slots: ReadonlyArray<Slot>, perCredential: number, now: number): number => {
  let best = -1
  for (let i = 0; i < slots.length; i++) {
    const s = slots[i]!
    if (!isFree(s, perCredential, now)) continue
    const b = best === -1 ? undefined : slots[best]!
    if (b === undefined || s.holders < b.holders || (s.holders === b.holders && s.lastLeased < b.lastLeased)) best = i
  }
  return best
}

const conditionOf = (slots: ReadonlyArray<Slot>, waiting: number, now: number): PoolCondition => {
  if (waiting === 0) return "Available"
  return slots.every((s) => s.deadline > now) ? "AllCooling" : "Exhausted"
}

const nextDeadlineOf = (slots: ReadonlyArray<Slot>, now: number): Option.Option<number> => {
  let next = Infinity
  for (const s of slots) if (s.deadline > now && s.deadline < next) next = s.deadline
  return next === Infinity ? Option.none() : Option.some(next)
}

const replaceSlot = (slots: ReadonlyArray<Slot>, index: number, f: (slot: Slot) => Slot) =>
  slots.map((s, i) => (i === index ? f(s) : s))

/**
 * Builds a pool whose cooldown timers live in the current scope.
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
    const state = yield* Ref.make<PoolState>({
      slots: credentials.map((credential) => ({
        credential,
        holders: 0,
        deadline: 0,
        lastLeased: 0,
        leases: 0,
        rateLimits: 0,
        coolingMillis: 0
      })),
      waiters: [],
      sequence: 0,
      condition: "Available"
    })
    yield* Effect.addFinalizer(() => PubSub.shutdown(events))

    // Events are published only while someone listens.
    let listeners = 0
    const publishAll = (list: ReadonlyArray<PoolEvent>) =>
      list.length === 0 || listeners === 0 ? Effect.void : PubSub.publishAll(events, list)
    const subscribe = Effect.zipRight(
      Effect.acquireRelease(Effect.sync(() => listeners++), () => Effect.sync(() => listeners--)),
      PubSub.subscribe(events)
    )

    /** Hands free credentials to waiters in queue order; returns who got what and the events. */
    const dispatch = (s: PoolState, now: number, out: Array<PoolEvent>): [Array<Waiter>, PoolState] => {
      const woken: Array<Waiter> = []
      let slots = s.slots
      let waiters = s.waiters
      let sequence = s.sequence
      while (waiters.length > 0) {
        const index = pickSlot(slots, perCredential, now)
        if (index === -1) break
        const waiter = waiters[0]!
        waiters = waiters.slice(1)
        sequence++
        const seq = sequence
        slots = replaceSlot(slots, index, (slot) => ({
          ...slot,
          holders: slot.holders + 1,
          lastLeased: seq,
          leases: slot.leases + 1
        }))
        waiter.assigned = index
        woken.push(waiter)
      }
      const condition = conditionOf(slots, waiters.length, now)
      if (condition !== s.condition) {
        out.push(PoolEvent.ConditionChanged({
          condition,
          waiting: waiters.length,
          nextDeadline: nextDeadlineOf(slots, now)
        }))
      }
      return [woken, { slots, waiters, sequence, condition }]
    }

    const wake = (woken: ReadonlyArray<Waiter>) =>
      Effect.forEach(woken, (w) => Deferred.succeed(w.deferred, w.assigned!), { discard: true })

    /** Runs a state transition that may free credentials, then wakes whoever got one. */
    const transition = (f: (s: PoolState, now: number, out: Array<PoolEvent>) => PoolState) =>
      Effect.suspend(() => {
        const now = clock.unsafeCurrentTimeMillis()
        const out: Array<PoolEvent> = []
        return Effect.flatMap(
          Ref.modify(state, (s) => dispatch(f(s, now, out), now, out)),
          (woken) => woken.length === 0 ? publishAll(out) : Effect.zipRight(wake(woken), publishAll(out))
        )
      })

    const release = (index: number) =>
      transition((s, _now, out) => {
        out.push(PoolEvent.Released({ label: labels[index]! }))
        return { ...s, slots: replaceSlot(s.slots, index, (slot) => ({ ...slot, holders: slot.holders - 1 })) }
      })

    const cooledDown = (index: number) =>
      transition((s, now, out) => {
        const slot = s.slots[index]!
        if (slot.deadline !== 0 && slot.deadline <= now) {
          out.push(PoolEvent.CooledDown({ label: labels[index]! }))
          return { ...s, slots: replaceSlot(s.slots, index, (x) => ({ ...x, deadline: 0 })) }
        }
        return s
      })

    const coolIndex = (index: number, retryAfter: Duration.DurationInput | undefined) =>
      Effect.gen(function*() {
        const base = retryAfter === undefined ? backoffMillis : Math.max(0, Duration.toMillis(retryAfter))
        const jitterCap = Math.min(maxJitterMillis, base * 0.1)
        const jitter = jitterCap > 0 ? Math.ceil(yield* Random.nextRange(0, jitterCap)) : 0
        const cooldown = Math.ceil(base) + jitter
        const now = yield* Clock.currentTimeMillis
        const until = now + cooldown
        const published = yield* Ref.modify(state, (s): readonly [ReadonlyArray<PoolEvent> | undefined, PoolState] => {
          const slot = s.slots[index]!
          if (slot.deadline >= until) return [undefined, s]
          const overlap = Math.max(0, slot.deadline - now)
          const slots = replaceSlot(s.slots, index, (x) => ({
            ...x,
            deadline: until,
            rateLimits: x.rateLimits + 1,
            coolingMillis: x.coolingMillis + cooldown - overlap
          }))
          const condition = conditionOf(slots, s.waiters.length, now)
          const out: Array<PoolEvent> = [
            PoolEvent.RateLimited({ label: labels[index]!, cooldownMillis: cooldown, until })
          ]
          // Waiters of an exhausted pool now wait for a deadline instead of a release: say so.
          if (condition !== s.condition) {
            out.push(PoolEvent.ConditionChanged({
              condition,
              waiting: s.waiters.length,
              nextDeadline: nextDeadlineOf(slots, now)
            }))
          }
          return [out, { ...s, slots, condition }]
        })
        if (published === undefined) return
        yield* publishAll(published)
        // Interruptible even when the 429 is reported from an uninterruptible region, so that
        // closing the pool's scope does not wait out the cooldown.
        yield* Effect.sleep(Duration.millis(cooldown)).pipe(
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
        Ref.modify(state, (s) =>
          s.waiters.includes(waiter)
            ? [false, { ...s, waiters: s.waiters.filter((w) => w !== waiter) }] as const
            : [waiter.assigned !== undefined, s] as const),
        (handedOver) => (handedOver ? release(waiter.assigned!) : transition((s) => s))
      )

    /**
     * Must run uninterruptibly; only the wait itself is made interruptible, through `restore`.
     * A caller served at once (no queue, a free credential) never waits on its `Deferred`.
     */
    const acquireIndex = (
      restore: <A, E, R>(effect: Effect.Effect<A, E, R>) => Effect.Effect<A, E, R>,
      leaseOptions: LeaseOptions | undefined
    ): Effect.Effect<number, CredentialUnavailable> =>
      Effect.suspend(() => {
        const start = clock.unsafeCurrentTimeMillis()
        const leased = (index: number) =>
          listeners === 0 ? Effect.succeed(index) : Effect.flatMap(Clock.currentTimeMillis, (now) =>
            Effect.as(
              PubSub.publish(events, PoolEvent.Leased({ label: labels[index]!, waitedMillis: now - start })),
              index
            ))
        // Fast path: nobody queued and a credential free.
        const taken = Ref.modify(state, (s): [number, PoolState] => {
          if (s.waiters.length > 0) return [-1, s]
          const index = pickSlot(s.slots, perCredential, start)
          if (index === -1) return [-1, s]
          const sequence = s.sequence + 1
          return [index, {
            ...s,
            sequence,
            slots: replaceSlot(s.slots, index, (slot) => ({
              ...slot,
              holders: slot.holders + 1,
              lastLeased: sequence,
              leases: slot.leases + 1
            }))
          }]
        })
        return Effect.flatMap(
          taken,
          (index) => index !== -1 ? leased(index) : enqueueAndWait(restore, leaseOptions, start, leased)
        )
      })

    /** The slow path of `acquireIndex`: join the queue and wait. */
    const enqueueAndWait = (
      restore: <A, E, R>(effect: Effect.Effect<A, E, R>) => Effect.Effect<A, E, R>,
      leaseOptions: LeaseOptions | undefined,
      start: number,
      leased: (index: number) => Effect.Effect<number>
    ): Effect.Effect<number, CredentialUnavailable> => {
      const waiter: Waiter = { deferred: Deferred.unsafeMake<number>(FiberId.none), assigned: undefined }
      const out: Array<PoolEvent> = []
      return Ref.modify(state, (s) => dispatch({ ...s, waiters: [...s.waiters, waiter] }, start, out)).pipe(
        Effect.tap((woken) => wake(woken.filter((w) => w !== waiter))),
        Effect.zipRight(Effect.suspend(() => publishAll(out))),
        Effect.flatMap(() => {
          if (waiter.assigned !== undefined) return leased(waiter.assigned)
          const maxWait = leaseOptions?.maxWait ?? options.maxWait
          const stopWhen = leaseOptions?.stopWaitingWhen
          let waiting: Effect.Effect<number, CredentialUnavailable> = Deferred.await(waiter.deferred)
          if (maxWait !== undefined) {
            waiting = Effect.timeoutFail(waiting, {
              duration: maxWait,
              onTimeout: () =>
                new CredentialUnavailable({
                  reason: "WaitTimedOut",
                  detail: `waited ${Duration.format(maxWait)} with all ${labels.length} credentials leased or cooling`
                })
            })
          }
          if (stopWhen !== undefined) {
            waiting = Effect.raceFirst(
              waiting,
              Effect.zipRight(
                stopWhen,
                Effect.fail(
                  new CredentialUnavailable({ reason: "WaitAbandoned", detail: "stopped waiting on request" })
                )
              )
            )
          }
          return restore(waiting).pipe(
            Effect.onExit((exit) => (Exit.isSuccess(exit) ? Effect.void : cancel(waiter))),
            Effect.flatMap(leased)
          )
        })
      )
    }

    const lease = (leaseOptions?: LeaseOptions): Effect.Effect<Lease, CredentialUnavailable, Scope.Scope> =>
      Effect.uninterruptibleMask((restore) =>
        Effect.flatMap(
          acquireIndex(restore, leaseOptions),
          (index) =>
            Effect.as(Effect.addFinalizer(() => release(index)), {
              credential: credentials[index]!,
              rateLimited: (retryAfter?: Duration.DurationInput) => coolIndex(index, retryAfter)
            })
        )
      )

    const withCredential = <A, E, R>(
      use: (credential: Credential) => Effect.Effect<A, E, R>,
      callOptions?: WithCredentialOptions
    ): Effect.Effect<A, Exclude<E, RateLimited> | CredentialUnavailable, R> => {
      const limit = callOptions?.maxRateLimitRetries ?? maxRateLimitRetries
      // Lease, use, cool on a 429, release: one uninterruptible region with only the wait and the
      // use interruptible, so the credential is released whatever happens.
      const once = Effect.uninterruptibleMask((restore) =>
        Effect.flatMap(
          acquireIndex(restore, callOptions),
          (index) =>
            Effect.flatMap(Effect.exit(restore(use(credentials[index]!))), (exit) => {
              const limited = Exit.isFailure(exit)
                ? Option.filter(Cause.failureOption(exit.cause), isRateLimited)
                : Option.none<RateLimited>()
              const cooled = Option.isSome(limited) ? coolIndex(index, limited.value.retryAfter) : Effect.void
              return Effect.as(Effect.zipRight(cooled, release(index)), [exit, Option.isSome(limited)] as const)
            })
        )
      )
      const attempt = (rateLimits: number): Effect.Effect<A, Exclude<E, RateLimited> | CredentialUnavailable, R> =>
        Effect.flatMap(once, ([exit, rateLimited]) => {
          if (!rateLimited) return exit as Exit.Exit<A, Exclude<E, RateLimited>>
          return rateLimits >= limit
            ? Effect.fail(
              new CredentialUnavailable({
                reason: "RateLimitRetriesExhausted",
                detail: `${rateLimits + 1} rate limits in a row (limit ${limit})`
              })
            )
            : attempt(rateLimits + 1)
        })
      return attempt(0)
    }

    const stats = Effect.flatMap(Clock.currentTimeMillis, (now) =>
      Effect.map(Ref.get(state), (s): PoolStats => ({
        total: s.slots.length,
        available: s.slots.filter((x) => isFree(x, perCredential, now)).length,
        inUse: s.slots.filter((x) => x.holders > 0).length,
        rateLimited: s.slots.filter((x) => x.deadline > now).length,
        waiting: s.waiters.length,
        condition: s.condition,
        nextDeadline: nextDeadlineOf(s.slots, now)
      })))

    const usage = Effect.map(Ref.get(state), (s) =>
      s.slots.map((x): CredentialUsage => ({
        label: x.credential.label,
        leases: x.leases,
        rateLimits: x.rateLimits,
        coolingMillis: x.coolingMillis
      })))

    return {
      labels,
      lease,
      withCredential,
      markRateLimited,
      stats,
      usage,
      subscribe,
      changes: Stream.unwrapScoped(Effect.map(subscribe, (queue) => Stream.fromQueue(queue)))
    } satisfies CredentialPoolShape
  })

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
