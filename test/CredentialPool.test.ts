import { assert, describe, it } from "@effect/vitest"
import * as Chunk from "effect/Chunk"
import * as Clock from "effect/Clock"
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Exit from "effect/Exit"
import * as fc from "effect/FastCheck"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Queue from "effect/Queue"
import * as Redacted from "effect/Redacted"
import * as Ref from "effect/Ref"
import * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import * as TestClock from "effect/TestClock"
import { inspect } from "node:util"
import {
  CredentialPool,
  type CredentialPoolOptions,
  type CredentialPoolShape,
  CredentialUnavailable,
  type Lease,
  type LeaseOptions,
  type PoolEvent
} from "../src/CredentialPool.js"
import { RateLimited } from "../src/RateLimited.js"

/** Lets forked fibers run until they block, without moving the clock. */
const settle = Effect.zipRight(TestClock.adjust(0), TestClock.adjust(0))

const now = Clock.currentTimeMillis

interface Holder {
  readonly fiber: Fiber.RuntimeFiber<void, CredentialUnavailable>
  /** The lease, once granted. */
  readonly lease: Effect.Effect<Option.Option<Lease>>
  readonly label: Effect.Effect<Option.Option<string>>
  /** Ends the lease (closes its scope) and lets waiters run. */
  readonly release: Effect.Effect<void, CredentialUnavailable>
}

/** Leases in a fiber of its own and holds the lease until `release`. */
const hold = (pool: CredentialPoolShape, options?: LeaseOptions) =>
  Effect.gen(function*() {
    const leased = yield* Deferred.make<Lease>()
    const done = yield* Deferred.make<void>()
    const fiber = yield* Effect.fork(
      Effect.scoped(
        Effect.flatMap(pool.lease(options), (lease) =>
          Effect.zipRight(Deferred.succeed(leased, lease), Deferred.await(done)))
      )
    )
    yield* settle
    const lease = Effect.flatMap(
      Deferred.poll(leased),
      Option.match({
        onNone: () =>
          Effect.succeedNone,
        onSome: (get) => Effect.asSome(Effect.orDie(get))
      })
    )
    const holder: Holder = {
      fiber,
      lease,
      label: Effect.map(lease, Option.map((l) => l.credential.label)),
      release: Deferred.succeed(done, undefined).pipe(Effect.zipRight(Fiber.join(fiber)), Effect.zipRight(settle))
    }
    return holder
  })

const labelOf = (holder: Holder) => Effect.map(holder.label, Option.getOrElse(() => "<waiting>"))

const drain = <A>(queue: Queue.Dequeue<A>) => Effect.map(Queue.takeAll(queue), Chunk.toReadonlyArray)

const conditions = (events: ReadonlyArray<PoolEvent>) =>
  events.flatMap((e) => (e._tag === "ConditionChanged" ? [e.condition] : []))

const freeAgain = (pool: CredentialPoolShape) =>
  Effect.gen(function*() {
    const stats = yield* pool.stats
    assert.strictEqual(stats.inUse, 0, "no credential in use")
    assert.strictEqual(stats.waiting, 0, "nobody waiting")
    assert.strictEqual(stats.available, stats.total, "every credential available")
  })

describe("CredentialPool", () => {
  describe("credentials", () => {
    it.scoped("labels bare secrets key-1..N by position and keeps given labels", () =>
      Effect.gen(function*() {
        const plain = yield* CredentialPool.make({ credentials: ["sk-a", "sk-b", "sk-c"] })
        assert.deepStrictEqual(plain.labels, ["key-1", "key-2", "key-3"])
        const mixed = yield* CredentialPool.make({
          credentials: [{ label: "prod", secret: "sk-a" }, "sk-b", Redacted.make("sk-c"), {
            secret: Redacted.make("sk-d")
          }]
        })
        assert.deepStrictEqual(mixed.labels, ["prod", "key-2", "key-3", "key-4"])
        assert.deepStrictEqual((yield* mixed.usage).map((u) => u.label), ["prod", "key-2", "key-3", "key-4"])
      }))

    it.scoped("never shows a secret, only its label", () =>
      Effect.gen(function*() {
        const secret = "sk-live-SUPERSECRET-123"
        const pool = yield* CredentialPool.make({ credentials: [secret, { label: "backup", secret: `${secret}-2` }] })
        const events = yield* pool.subscribe
        const seen = yield* Effect.scoped(Effect.gen(function*() {
          const lease = yield* pool.lease()
          yield* lease.rateLimited("1 second")
          return lease.credential
        }))
        assert.strictEqual(Redacted.value(seen.secret), secret)
        const renderings = [
          String(seen),
          `${seen}`,
          JSON.stringify(seen),
          JSON.stringify({ nested: [seen] }),
          inspect(seen, { depth: 10 }),
          String(seen.secret),
          JSON.stringify(yield* drain(events)),
          JSON.stringify(yield* pool.usage),
          JSON.stringify(yield* pool.stats),
          String(yield* Effect.flip(pool.withCredential(() => Effect.fail(new Error("boom")))))
        ]
        for (const text of renderings) assert.notInclude(text, "SUPERSECRET", text)
        assert.strictEqual(String(seen), "Credential(key-1)")
        assert.deepStrictEqual(JSON.parse(JSON.stringify(seen)), { label: "key-1" })
      }))

    it.scoped("refuses an empty list, duplicate labels and a bad perCredential", () =>
      Effect.gen(function*() {
        for (
          const options of [
            { credentials: [] },
            { credentials: [{ label: "a", secret: "1" }, { label: "a", secret: "2" }] },
            { credentials: ["x", { label: "key-1", secret: "y" }] },
            { credentials: ["x"], perCredential: 0 },
            { credentials: ["x"], perCredential: 1.5 }
          ] satisfies Array<CredentialPoolOptions>
        ) {
          const exit = yield* Effect.exit(CredentialPool.make(options))
          assert.isTrue(Exit.isFailure(exit) && Exit.isInterrupted(exit) === false, JSON.stringify(options))
          if (Exit.isFailure(exit)) assert.isTrue(exit.cause._tag === "Die", JSON.stringify(options))
        }
      }))
  })

  describe("leases", () => {
    it.scoped("are exclusive: a third lease on two credentials waits, and gets the first one released at once", () =>
      Effect.gen(function*() {
        const pool = yield* CredentialPool.make({ credentials: ["a", "b"] })
        const first = yield* hold(pool)
        const second = yield* hold(pool)
        assert.deepStrictEqual([yield* labelOf(first), yield* labelOf(second)], ["key-1", "key-2"])
        const third = yield* hold(pool)
        assert.isTrue(Option.isNone(yield* third.label))
        const stats = yield* pool.stats
        assert.deepInclude(stats, {
          total: 2,
          available: 0,
          inUse: 2,
          rateLimited: 0,
          waiting: 1,
          condition: "Exhausted"
        })
        assert.isTrue(Option.isNone(stats.nextDeadline))

        yield* first.release
        // no time passed: the waiter was handed the credential by the release itself
        assert.strictEqual(yield* now, 0)
        assert.strictEqual(yield* labelOf(third), "key-1")
        assert.deepInclude(yield* pool.stats, { available: 0, inUse: 2, waiting: 0, condition: "Available" })
        yield* second.release
        yield* third.release
        yield* freeAgain(pool)
      }))

    it.scoped("allow perCredential holders of one credential at once", () =>
      Effect.gen(function*() {
        const pool = yield* CredentialPool.make({ credentials: ["a"], perCredential: 2 })
        const a = yield* hold(pool)
        const b = yield* hold(pool)
        const c = yield* hold(pool)
        assert.deepStrictEqual([yield* labelOf(a), yield* labelOf(b), yield* labelOf(c)], [
          "key-1",
          "key-1",
          "<waiting>"
        ])
        assert.deepInclude(yield* pool.stats, { available: 0, inUse: 1, waiting: 1 })
        yield* b.release
        assert.strictEqual(yield* labelOf(c), "key-1")
        assert.deepStrictEqual((yield* pool.usage)[0], { label: "key-1", leases: 3, rateLimits: 0, coolingMillis: 0 })
      }))

    it.scoped("with perCredential 2 spread over the credentials with the fewest holders first", () =>
      Effect.gen(function*() {
        const pool = yield* CredentialPool.make({ credentials: ["a", "b"], perCredential: 2 })
        const holders: Array<Holder> = []
        for (let i = 0; i < 4; i++) holders.push(yield* hold(pool))
        const labels: Array<string> = []
        for (const h of holders) labels.push(yield* labelOf(h))
        assert.deepStrictEqual(labels, ["key-1", "key-2", "key-1", "key-2"])
        assert.deepInclude(yield* pool.stats, { available: 0, inUse: 2 })
        const fifth = yield* hold(pool)
        assert.strictEqual(yield* labelOf(fifth), "<waiting>")
        yield* holders[1]!.release
        assert.strictEqual(yield* labelOf(fifth), "key-2")
      }))

    it.scoped("choose the least recently used free credential", () =>
      Effect.gen(function*() {
        const pool = yield* CredentialPool.make({ credentials: ["a", "b", "c"] })
        const order: Array<string> = []
        for (let i = 0; i < 7; i++) {
          order.push(yield* Effect.scoped(Effect.map(pool.lease(), (l) => l.credential.label)))
        }
        assert.deepStrictEqual(order, ["key-1", "key-2", "key-3", "key-1", "key-2", "key-3", "key-1"])
        // a credential still held is skipped; the next least recently used one is chosen
        const held = yield* hold(pool) // key-2
        assert.strictEqual(yield* labelOf(held), "key-2")
        const next = yield* Effect.scoped(Effect.map(pool.lease(), (l) => l.credential.label))
        assert.strictEqual(next, "key-3")
        assert.deepStrictEqual((yield* pool.usage).map((u) => u.leases), [3, 3, 3])
      }))

    it.scoped("serve waiters first in, first out, each as soon as a credential is released", () =>
      Effect.gen(function*() {
        const pool = yield* CredentialPool.make({ credentials: ["a"] })
        const holder = yield* hold(pool)
        const waiters: Array<Holder> = []
        for (let i = 0; i < 3; i++) waiters.push(yield* hold(pool))
        assert.strictEqual((yield* pool.stats).waiting, 3)
        const served = () => Effect.forEach(waiters, (w) => Effect.map(w.label, Option.isSome))
        assert.deepStrictEqual(yield* served(), [false, false, false])
        yield* holder.release
        assert.deepStrictEqual(yield* served(), [true, false, false])
        yield* waiters[0]!.release
        assert.deepStrictEqual(yield* served(), [true, true, false])
        yield* waiters[1]!.release
        assert.deepStrictEqual(yield* served(), [true, true, true])
        assert.strictEqual(yield* now, 0)
        yield* waiters[2]!.release
        yield* freeAgain(pool)
      }))

    it.scoped("publish Leased with the time waited and Released", () =>
      Effect.gen(function*() {
        const pool = yield* CredentialPool.make({ credentials: ["a"] })
        const events = yield* pool.subscribe
        const first = yield* hold(pool)
        const second = yield* hold(pool)
        yield* TestClock.adjust("3 seconds")
        yield* first.release
        yield* second.release
        const leased = (yield* drain(events)).filter((e) => e._tag === "Leased" || e._tag === "Released")
        assert.deepStrictEqual(leased.map((e) => [e._tag, e.label, e._tag === "Leased" ? e.waitedMillis : -1]), [
          ["Leased", "key-1", 0],
          ["Released", "key-1", -1],
          ["Leased", "key-1", 3000],
          ["Released", "key-1", -1]
        ])
      }))
  })

  describe("rate limits", () => {
    it.scoped("cool exactly the credential for its retryAfter: no lease before the deadline", () =>
      Effect.gen(function*() {
        const pool = yield* CredentialPool.make({ credentials: ["a", "b"] })
        const events = yield* pool.subscribe
        const first = yield* hold(pool)
        const second = yield* hold(pool)
        const lease = Option.getOrThrow(yield* first.lease)
        yield* lease.rateLimited("10 seconds")
        yield* first.release
        const cooled = (yield* drain(events)).find((e) => e._tag === "RateLimited")
        assert(cooled !== undefined && cooled._tag === "RateLimited")
        assert.strictEqual(cooled.label, "key-1")
        // the deadline is the retry-after plus a jitter of at most min(250 ms, 10%)
        assert.isAtLeast(cooled.until, 10_000)
        assert.isAtMost(cooled.until, 10_250)
        assert.strictEqual(cooled.cooldownMillis, cooled.until)
        assert.deepInclude(yield* pool.stats, {
          available: 0,
          inUse: 1,
          rateLimited: 1,
          nextDeadline: Option.some(cooled.until)
        })

        const waiter = yield* hold(pool)
        yield* TestClock.adjust(cooled.until - 1)
        assert.strictEqual(yield* labelOf(waiter), "<waiting>", "still waiting one millisecond before the deadline")
        assert.deepInclude(yield* pool.stats, { waiting: 1, condition: "Exhausted" })
        yield* TestClock.adjust(1)
        yield* settle
        assert.strictEqual(yield* labelOf(waiter), "key-1", "leased at the deadline")
        // the other credential was never cooled
        yield* second.release
        yield* waiter.release
        const usage = yield* pool.usage
        assert.deepStrictEqual(usage.map((u) => [u.label, u.rateLimits]), [["key-1", 1], ["key-2", 0]])
        assert.strictEqual(usage[0]!.coolingMillis, cooled.until)
        assert.strictEqual(usage[1]!.coolingMillis, 0)
      }))

    it.scoped("a waiter is still waiting at retryAfter - 1 ms and holds a lease after retryAfter + the jitter cap", () =>
      Effect.gen(function*() {
        const pool = yield* CredentialPool.make({ credentials: ["a"], maxJitter: "100 millis" })
        const first = yield* hold(pool)
        yield* Effect.flatMap(Effect.map(first.lease, Option.getOrThrow), (l) => l.rateLimited(Duration.seconds(5)))
        yield* first.release
        const waiter = yield* hold(pool)
        yield* TestClock.adjust(4_999)
        assert.strictEqual(yield* labelOf(waiter), "<waiting>")
        yield* TestClock.adjust(101)
        yield* settle
        assert.strictEqual(yield* labelOf(waiter), "key-1")
      }))

    it.scoped("without retryAfter cool for the default backoff of 60 s", () =>
      Effect.gen(function*() {
        const pool = yield* CredentialPool.make({ credentials: ["a"] })
        yield* Effect.scoped(Effect.flatMap(pool.lease(), (l) => l.rateLimited()))
        const waiter = yield* hold(pool)
        const { nextDeadline } = yield* pool.stats
        assert.isTrue(Option.isSome(nextDeadline))
        assert.isAtLeast(Option.getOrThrow(nextDeadline), 60_000)
        assert.isAtMost(Option.getOrThrow(nextDeadline), 60_250)
        yield* TestClock.adjust(59_999)
        assert.strictEqual(yield* labelOf(waiter), "<waiting>")
        yield* TestClock.adjust(251)
        yield* settle
        assert.strictEqual(yield* labelOf(waiter), "key-1")
      }))

    it.scoped("without retryAfter cool for the configured backoff, exactly when jitter is off", () =>
      Effect.gen(function*() {
        const pool = yield* CredentialPool.make({ credentials: ["a"], backoff: "5 seconds", maxJitter: 0 })
        yield* pool.markRateLimited("key-1")
        const waiter = yield* hold(pool)
        yield* TestClock.adjust(4_999)
        assert.strictEqual(yield* labelOf(waiter), "<waiting>")
        yield* TestClock.adjust(1)
        yield* settle
        assert.strictEqual(yield* labelOf(waiter), "key-1")
        // an unknown label is ignored
        yield* pool.markRateLimited("nope", "1 hour")
        assert.deepStrictEqual((yield* pool.usage).map((u) => u.rateLimits), [1])
      }))

    it.scoped("a later, longer retry-after extends the cooldown; a shorter one does not shorten it", () =>
      Effect.gen(function*() {
        const pool = yield* CredentialPool.make({ credentials: ["a"], maxJitter: 0 })
        yield* pool.markRateLimited("key-1", "1 second")
        yield* TestClock.adjust(500)
        yield* pool.markRateLimited("key-1", "1 second") // until 1500
        yield* pool.markRateLimited("key-1", "100 millis") // shorter: ignored
        const waiter = yield* hold(pool)
        yield* TestClock.adjust(999) // t = 1499
        assert.strictEqual(yield* labelOf(waiter), "<waiting>")
        yield* TestClock.adjust(1)
        yield* settle
        assert.strictEqual(yield* labelOf(waiter), "key-1")
        const [usage] = yield* pool.usage
        assert.deepStrictEqual(usage, { label: "key-1", leases: 1, rateLimits: 2, coolingMillis: 1500 })
      }))
  })

  describe("withCredential", () => {
    it.scoped("rotates to another credential on RateLimited and returns the value", () =>
      Effect.gen(function*() {
        const pool = yield* CredentialPool.make({ credentials: ["a", "b"] })
        const seen: Array<string> = []
        const value = yield* pool.withCredential((credential) =>
          Effect.suspend(() => {
            seen.push(credential.label)
            return seen.length === 1
              ? Effect.fail(new RateLimited({ retryAfter: Duration.seconds(30) }))
              : Effect.succeed(`done with ${Redacted.value(credential.secret)}`)
          })
        )
        assert.strictEqual(value, "done with b")
        assert.deepStrictEqual(seen, ["key-1", "key-2"])
        assert.strictEqual(yield* now, 0, "the restart did not wait")
        assert.deepInclude(yield* pool.stats, { inUse: 0, rateLimited: 1, available: 1 })
        assert.deepStrictEqual((yield* pool.usage).map((u) => [u.label, u.leases, u.rateLimits]), [
          ["key-1", 1, 1],
          ["key-2", 1, 0]
        ])
      }))

    it.scoped("waits for a cooling credential when every one is cooling", () =>
      Effect.gen(function*() {
        const pool = yield* CredentialPool.make({ credentials: ["a"], maxJitter: 0 })
        const calls = yield* Ref.make<Array<number>>([])
        const fiber = yield* Effect.fork(pool.withCredential(() =>
          Effect.flatMap(now, (t) =>
            Ref.modify(calls, (xs) => [xs.length, [...xs, t]]).pipe(
              Effect.flatMap((n) =>
                n === 0 ? Effect.fail(new RateLimited({ retryAfter: Duration.seconds(2) })) : Effect.succeed(n)
              )
            ))
        ))
        yield* settle
        assert.deepStrictEqual(yield* Ref.get(calls), [0])
        assert.deepInclude(yield* pool.stats, { condition: "AllCooling", waiting: 1 })
        yield* TestClock.adjust(1_999)
        assert.deepStrictEqual(yield* Ref.get(calls), [0])
        yield* TestClock.adjust(1)
        assert.strictEqual(yield* Fiber.join(fiber), 1)
        assert.deepStrictEqual(yield* Ref.get(calls), [0, 2_000])
      }))

    it.scoped("gives up with RateLimitRetriesExhausted after the allowed restarts", () =>
      Effect.gen(function*() {
        const pool = yield* CredentialPool.make({ credentials: ["a", "b", "c"], maxRateLimitRetries: 2 })
        const seen: Array<string> = []
        const error = yield* Effect.flip(pool.withCredential((credential) =>
          Effect.suspend(() => {
            seen.push(credential.label)
            return Effect.fail(new RateLimited({ retryAfter: Duration.minutes(1) }))
          })
        ))
        assert.instanceOf(error, CredentialUnavailable)
        assert.strictEqual(error.reason, "RateLimitRetriesExhausted")
        assert.include(error.message, "rate limited")
        assert.deepStrictEqual(seen, ["key-1", "key-2", "key-3"])
        assert.deepInclude(yield* pool.stats, { inUse: 0, waiting: 0, rateLimited: 3 })

        const once: Array<string> = []
        const single = yield* Effect.flip(
          pool.withCredential(
            (credential) => Effect.suspend(() => (once.push(credential.label), Effect.fail(new RateLimited()))),
            { maxRateLimitRetries: 0, maxWait: "1 hour" }
          ).pipe(Effect.fork, Effect.tap(() => TestClock.adjust("2 minutes")), Effect.flatMap(Fiber.join))
        )
        assert.strictEqual(single.reason, "RateLimitRetriesExhausted")
        assert.strictEqual(once.length, 1)
      }))

    it.scoped("passes other failures through and releases the credential on success, failure, defect and interruption", () =>
      Effect.gen(function*() {
        const pool = yield* CredentialPool.make({ credentials: ["a", "b"] })
        assert.strictEqual(yield* pool.withCredential(() => Effect.succeed(1)), 1)
        yield* freeAgain(pool)
        const failed = yield* Effect.flip(pool.withCredential(() => Effect.fail("nope" as const)))
        assert.strictEqual(failed, "nope")
        yield* freeAgain(pool)
        const died = yield* Effect.exit(pool.withCredential(() => Effect.die(new Error("defect"))))
        assert.isTrue(Exit.isFailure(died) && died.cause._tag === "Die")
        yield* freeAgain(pool)

        const running = yield* Effect.fork(pool.withCredential(() => Effect.never))
        yield* settle
        assert.deepInclude(yield* pool.stats, { inUse: 1 })
        yield* Fiber.interrupt(running)
        yield* freeAgain(pool)
        assert.deepStrictEqual((yield* pool.usage).map((u) => u.rateLimits), [0, 0])
      }))

    it.scoped("releases a scoped lease when the scope fails or is interrupted", () =>
      Effect.gen(function*() {
        const pool = yield* CredentialPool.make({ credentials: ["a"] })
        const exit = yield* Effect.exit(Effect.scoped(Effect.zipRight(pool.lease(), Effect.fail("x"))))
        assert.isTrue(Exit.isFailure(exit))
        yield* freeAgain(pool)
        const fiber = yield* Effect.fork(Effect.scoped(Effect.zipRight(pool.lease(), Effect.never)))
        yield* settle
        assert.strictEqual((yield* pool.stats).inUse, 1)
        yield* Fiber.interrupt(fiber)
        yield* freeAgain(pool)
      }))
  })

  describe("waiting", () => {
    it.scoped("gives up after maxWait with WaitTimedOut", () =>
      Effect.gen(function*() {
        const pool = yield* CredentialPool.make({ credentials: ["a"] })
        const holder = yield* hold(pool)
        const waiter = yield* Effect.fork(Effect.scoped(pool.lease({ maxWait: "5 seconds" })))
        yield* settle
        yield* TestClock.adjust(4_999)
        assert.isTrue(Option.isNone(yield* Fiber.poll(waiter)))
        yield* TestClock.adjust(1)
        const error = yield* Effect.flip(Fiber.join(waiter))
        assert.instanceOf(error, CredentialUnavailable)
        assert.strictEqual(error.reason, "WaitTimedOut")
        assert.include(error.message, "5s")
        assert.deepInclude(yield* pool.stats, { waiting: 0, inUse: 1, condition: "Available" })
        yield* holder.release
        yield* freeAgain(pool)
      }))

    it.scoped("uses the pool's maxWait by default, also for withCredential", () =>
      Effect.gen(function*() {
        const pool = yield* CredentialPool.make({ credentials: ["a"], maxWait: "2 seconds" })
        const holder = yield* hold(pool)
        const waiter = yield* Effect.fork(pool.withCredential(() => Effect.succeed("never")))
        yield* TestClock.adjust(2_000)
        const error = yield* Effect.flip(Fiber.join(waiter))
        assert.strictEqual(error.reason, "WaitTimedOut")
        yield* holder.release
        yield* freeAgain(pool)
      }))

    it.scoped("is interruptible, and an interrupted waiter leaves the queue", () =>
      Effect.gen(function*() {
        const pool = yield* CredentialPool.make({ credentials: ["a"] })
        const holder = yield* hold(pool)
        const first = yield* hold(pool)
        const second = yield* hold(pool)
        assert.strictEqual((yield* pool.stats).waiting, 2)
        yield* Fiber.interrupt(first.fiber)
        assert.strictEqual((yield* pool.stats).waiting, 1)
        yield* holder.release
        assert.strictEqual(yield* labelOf(second), "key-1")
        yield* second.release
        yield* freeAgain(pool)
      }))

    it.scoped("leaks nothing when an interruption races the hand-over of a credential", () =>
      Effect.gen(function*() {
        const pool = yield* CredentialPool.make({ credentials: ["a"] })
        for (const interruptFirst of [false, true]) {
          const scope = yield* Scope.make()
          yield* Scope.extend(pool.lease(), scope)
          const waiter = yield* Effect.fork(Effect.scoped(Effect.zipRight(pool.lease(), Effect.never)))
          yield* settle
          assert.strictEqual((yield* pool.stats).waiting, 1)
          // release (which hands the credential to the waiter) and interrupt the waiter in the same step
          if (interruptFirst) {
            yield* Fiber.interruptFork(waiter)
            yield* Scope.close(scope, Exit.void)
          } else {
            yield* Scope.close(scope, Exit.void)
            yield* Fiber.interruptFork(waiter)
          }
          yield* Fiber.await(waiter)
          yield* settle
          yield* freeAgain(pool)
          assert.strictEqual(yield* Effect.scoped(Effect.map(pool.lease(), (l) => l.credential.label)), "key-1")
        }
      }))
  })

  describe("stats and changes", () => {
    it.scoped("tell an exhausted pool from one whose credentials are all cooling", () =>
      Effect.gen(function*() {
        const pool = yield* CredentialPool.make({ credentials: ["a", "b"], maxJitter: 0 })
        const events = yield* pool.subscribe
        const first = yield* hold(pool)
        const second = yield* hold(pool)
        assert.deepInclude(yield* pool.stats, { available: 0, inUse: 2, waiting: 0, condition: "Available" })
        const waiter = yield* hold(pool)
        assert.deepInclude(yield* pool.stats, { available: 0, inUse: 2, waiting: 1, condition: "Exhausted" })
        assert.deepStrictEqual(conditions(yield* drain(events)), ["Exhausted"])

        yield* Effect.flatMap(Effect.map(first.lease, Option.getOrThrow), (l) => l.rateLimited("10 seconds"))
        yield* Effect.flatMap(Effect.map(second.lease, Option.getOrThrow), (l) => l.rateLimited("20 seconds"))
        const cooling = yield* drain(events)
        assert.deepStrictEqual(conditions(cooling), ["AllCooling"], "the change to all-cooling is published")
        const change = cooling.find((e) => e._tag === "ConditionChanged")
        assert(change !== undefined && change._tag === "ConditionChanged")
        assert.strictEqual(change.waiting, 1)
        assert.deepStrictEqual(change.nextDeadline, Option.some(10_000))

        yield* first.release
        yield* second.release
        assert.deepStrictEqual(yield* pool.stats, {
          total: 2,
          available: 0,
          inUse: 0,
          rateLimited: 2,
          waiting: 1,
          condition: "AllCooling",
          nextDeadline: Option.some(10_000)
        })
        assert.deepStrictEqual(conditions(yield* drain(events)), [], "no repeated condition events")

        yield* TestClock.adjust("10 seconds")
        yield* settle
        assert.strictEqual(yield* labelOf(waiter), "key-1")
        const after = yield* drain(events)
        assert.deepStrictEqual(after.map((e) => e._tag), ["CooledDown", "ConditionChanged", "Leased"])
        assert.deepStrictEqual(conditions(after), ["Available"])
        assert.deepStrictEqual(yield* pool.stats, {
          total: 2,
          available: 0,
          inUse: 1,
          rateLimited: 1,
          waiting: 0,
          condition: "Available",
          nextDeadline: Option.some(20_000)
        })
        yield* TestClock.adjust("10 seconds")
        yield* settle
        assert.deepInclude(yield* pool.stats, { available: 1, rateLimited: 0, nextDeadline: Option.none() })
      }))

    it.scoped("a pool whose free credentials all cool becomes AllCooling for the waiters", () =>
      Effect.gen(function*() {
        const pool = yield* CredentialPool.make({ credentials: ["a"], maxJitter: 0 })
        const events = yield* pool.subscribe
        const holder = yield* hold(pool)
        const waiter = yield* hold(pool)
        yield* Effect.flatMap(Effect.map(holder.lease, Option.getOrThrow), (l) => l.rateLimited("3 seconds"))
        yield* holder.release
        assert.deepStrictEqual(conditions(yield* drain(events)), ["Exhausted", "AllCooling"])
        yield* TestClock.adjust("3 seconds")
        yield* settle
        assert.strictEqual(yield* labelOf(waiter), "key-1")
        assert.deepStrictEqual(conditions(yield* drain(events)), ["Available"])
      }))

    it.scoped("changes streams the same events", () =>
      Effect.gen(function*() {
        const pool = yield* CredentialPool.make({ credentials: ["a"], maxJitter: 0 })
        const collected = yield* Effect.fork(Stream.runCollect(Stream.take(pool.changes, 4)))
        yield* settle
        yield* Effect.scoped(Effect.flatMap(pool.lease(), (l) => l.rateLimited("1 second")))
        yield* TestClock.adjust("1 second")
        const tags = Chunk.toReadonlyArray(yield* Fiber.join(collected)).map((e) => e._tag)
        assert.deepStrictEqual(tags, ["Leased", "RateLimited", "Released", "CooledDown"])
      }))

    it.effect("CredentialPool.layer provides a pool for the life of the layer", () =>
      Effect.gen(function*() {
        const pool = yield* CredentialPool
        assert.deepStrictEqual(pool.labels, ["key-1", "key-2"])
        assert.strictEqual(yield* pool.withCredential((c) => Effect.succeed(c.label)), "key-1")
      }).pipe(Effect.provide(CredentialPool.layer({ credentials: ["a", "b"] }))))

    it.effect("CredentialPool.layer composes with other layers", () =>
      Effect.gen(function*() {
        const pool = yield* CredentialPool
        assert.strictEqual((yield* pool.stats).total, 3)
      }).pipe(Effect.provide(Layer.merge(CredentialPool.layer({ credentials: ["a", "b", "c"] }), Layer.empty))))
  })
})

// ---------------------------------------------------------------------------------------------
// Invariants under random schedules

type Outcome =
  | { readonly _tag: "Ok" }
  | { readonly _tag: "Fail" }
  | { readonly _tag: "Die" }

interface Job {
  readonly startAt: number
  readonly hold: number
  /** How many of its first calls answer 429, and with which retry-after (undefined: the backoff). */
  readonly rateLimits: ReadonlyArray<number | undefined>
  readonly outcome: Outcome
  readonly interruptAt: number | undefined
}

const step = (max: number) => fc.integer({ min: 0, max }).map((n) => n * 100)

const jobArb: fc.Arbitrary<Job> = fc.record({
  startAt: step(20),
  hold: step(10),
  rateLimits: fc.array(fc.option(fc.integer({ min: 1, max: 30 }).map((n) => n * 100), { nil: undefined }), {
    maxLength: 3
  }),
  outcome: fc.constantFrom<Outcome>({ _tag: "Ok" }, { _tag: "Ok" }, { _tag: "Fail" }, { _tag: "Die" }),
  interruptAt: fc.option(step(50), { nil: undefined, freq: 3 })
})

const scenarioArb = fc.record({
  credentials: fc.integer({ min: 1, max: 3 }),
  perCredential: fc.integer({ min: 1, max: 2 }),
  useLease: fc.boolean(),
  jobs: fc.array(jobArb, { minLength: 1, maxLength: 8 })
})

describe("CredentialPool invariants", () => {
  it.effect.prop(
    "never over-leases, never leases before a deadline, never lets a waiter wait beside a free credential, leaks nothing",
    [scenarioArb],
    ([scenario]) =>
      Effect.gen(function*() {
        const BACKOFF = 500
        const labels = Array.from({ length: scenario.credentials }, (_, i) => `key-${i + 1}`)
        const violations: Array<string> = []
        const holders = new Map(labels.map((l) => [l, 0]))
        const deadlines = new Map(labels.map((l) => [l, { until: 0, setAt: 0 }]))

        yield* Effect.scoped(Effect.gen(function*() {
          const pool = yield* CredentialPool.make({
            credentials: labels.map((l) => `secret-${l}`),
            perCredential: scenario.perCredential,
            backoff: Duration.millis(BACKOFF),
            maxJitter: 0,
            maxRateLimitRetries: 3
          })

          const use = (job: Job, calls: { n: number }) => (label: string) =>
            Effect.gen(function*() {
              const t = yield* now
              const count = holders.get(label)! + 1
              holders.set(label, count)
              if (count > scenario.perCredential) violations.push(`${count} holders of ${label} at ${t}`)
              // With shared leases, a co-holder handed the credential in the same instant as another
              // holder's 429, but before it, is legitimate; anything later before the deadline is not.
              const cooling = deadlines.get(label)!
              if (t < cooling.until && (scenario.perCredential === 1 || cooling.setAt < t)) {
                violations.push(`${label} leased at ${t} before ${cooling.until}`)
              }
              const call = calls.n++
              yield* Effect.sleep(Duration.millis(job.hold)).pipe(
                Effect.ensuring(Effect.sync(() => holders.set(label, holders.get(label)! - 1)))
              )
              if (call < job.rateLimits.length) {
                const retryAfter = job.rateLimits[call]
                const end = yield* now
                const until = end + (retryAfter ?? BACKOFF)
                if (until > deadlines.get(label)!.until) deadlines.set(label, { until, setAt: end })
                return yield* Effect.fail(
                  new RateLimited(retryAfter === undefined ? {} : { retryAfter: Duration.millis(retryAfter) })
                )
              }
              if (job.outcome._tag === "Fail") return yield* Effect.fail("failed" as const)
              if (job.outcome._tag === "Die") return yield* Effect.die("died")
              return label
            })

          // Either through withCredential, or by hand with lease + rateLimited.
          const runJob = (job: Job) => {
            const calls = { n: 0 }
            const body = use(job, calls)
            if (!scenario.useLease) return pool.withCredential((c) => body(c.label))
            const once: Effect.Effect<string, unknown> = Effect.scoped(
              Effect.flatMap(pool.lease(), (lease) =>
                body(lease.credential.label).pipe(
                  Effect.catchIf(
                    (e): e is RateLimited => e instanceof RateLimited,
                    (e) => Effect.zipRight(lease.rateLimited(e.retryAfter), Effect.fail(e))
                  )
                ))
            )
            return Effect.retry(once, { while: (e) => e instanceof RateLimited })
          }

          const fibers = yield* Effect.forEach(scenario.jobs, (job) =>
            Effect.fork(Effect.zipRight(Effect.sleep(Duration.millis(job.startAt)), Effect.exit(runJob(job)))))
          yield* Effect.forEach(scenario.jobs, (job, i) =>
            job.interruptAt === undefined
              ? Effect.void
              : Effect.fork(
                Effect.zipRight(Effect.sleep(Duration.millis(job.interruptAt)), Fiber.interrupt(fibers[i]!))
              ), {
            discard: true
          })

          const check = Effect.gen(function*() {
            const t = yield* now
            const stats = yield* pool.stats
            if (stats.waiting > 0 && stats.available > 0) {
              violations.push(`at ${t}: ${stats.waiting} waiting beside ${stats.available} free`)
            }
            const busy = labels.filter((l) =>
              holders.get(l)! > 0
            ).length
            if (stats.inUse !== busy) {
              violations.push(`at ${t}: pool says ${stats.inUse} in use, the workflows ${busy}`)
            }
          })

          // Step from one scheduled wake-up to the next, checking the invariants at each.
          for (let guard = 0; guard < 500; guard++) {
            yield* settle
            yield* check
            const done = yield* Effect.forEach(fibers, (f) => Effect.map(Fiber.poll(f), Option.isSome))
            if (done.every(Boolean)) break
            const sleeps = Chunk.toReadonlyArray(yield* TestClock.sleeps())
            if (sleeps.length === 0) {
              violations.push(`stuck at ${yield* now} with ${done.filter((d) => !d).length} jobs unfinished`)
              break
            }
            yield* TestClock.adjust(Math.max(0, Math.min(...sleeps) - (yield* now)))
          }
          const exits = yield* Effect.forEach(fibers, Fiber.await)
          for (const exit of exits) {
            if (Exit.isSuccess(exit)) {
              const inner = exit.value
              if (Exit.isFailure(inner) && !Exit.isInterrupted(inner) && inner.cause._tag === "Fail") {
                const e = inner.cause.error
                const expected = e === "failed" || e instanceof RateLimited ||
                  (e instanceof CredentialUnavailable && e.reason === "RateLimitRetriesExhausted")
                if (!expected) violations.push(`unexpected failure ${String(e)}`)
              }
            }
          }

          yield* TestClock.adjust("1 minute")
          yield* settle
          const stats = yield* pool.stats
          if (stats.inUse !== 0 || stats.waiting !== 0 || stats.available !== stats.total || stats.rateLimited !== 0) {
            violations.push(
              `at the end: ${JSON.stringify({ ...stats, nextDeadline: Option.getOrNull(stats.nextDeadline) })}`
            )
          }
          for (const [label, count] of holders) if (count !== 0) violations.push(`${label} still has ${count} holders`)
          const leases = (yield* pool.usage).reduce((n, u) => n + u.leases, 0)
          const expectedLeases = scenario.jobs.length
          if (leases > expectedLeases * 4) violations.push(`${leases} leases for ${expectedLeases} jobs`)
        }))

        assert.deepStrictEqual(violations, [], JSON.stringify(scenario))
      }),
    { fastCheck: { numRuns: 40 } }
  )

  it.effect.prop(
    "Either.right for everyone when nothing fails: every job eventually gets a credential",
    [fc.integer({ min: 1, max: 3 }), fc.array(step(5), { minLength: 1, maxLength: 10 })],
    ([size, holds]) =>
      Effect.gen(function*() {
        const pool = yield* CredentialPool.make({ credentials: Array.from({ length: size }, (_, i) => `s${i}`) })
        const fibers = yield* Effect.forEach(holds, (ms) =>
          Effect.fork(Effect.either(pool.withCredential(() => Effect.as(Effect.sleep(Duration.millis(ms)), ms)))))
        yield* settle
        yield* TestClock.adjust(holds.reduce((a, b) =>
          a + b, 0))
        const results = yield* Effect.forEach(fibers, Fiber.join)
        assert.deepStrictEqual(results, holds.map((ms) => Either.right(ms)))
        yield* freeAgain(pool)
      }).pipe(Effect.scoped),
    { fastCheck: { numRuns: 30 } }
  )
})
