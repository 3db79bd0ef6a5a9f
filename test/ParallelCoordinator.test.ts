import { afterEach, assert, describe, it, vi } from "@effect/vitest"
import * as Chunk from "effect/Chunk"
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Queue from "effect/Queue"
import * as Random from "effect/Random"
import * as Stream from "effect/Stream"
import * as TestClock from "effect/TestClock"
import { CredentialPool } from "../src/CredentialPool.js"
import { Output, type OutputShape, type RecordedLine } from "../src/Output.js"
import { ParallelCoordinator, type ParallelCoordinatorShape } from "../src/ParallelCoordinator.js"
import { RateLimited } from "../src/RateLimited.js"
import { RunJournal } from "../src/RunJournal.js"
import type { RunSummary } from "../src/RunSummary.js"
import * as Shutdown from "../src/Shutdown.js"
import type { CoordinatorEvent, WorkflowContext } from "../src/Workflow.js"
import type { WorkflowResult } from "../src/WorkflowResult.js"

/** Lets forked fibers run until they block, without moving the clock. */
const settle = Effect.zipRight(TestClock.adjust(0), TestClock.adjust(0))

const now = Clock.currentTimeMillis

const coordinatorLayer = (output: OutputShape) =>
  ParallelCoordinator.layer.pipe(Layer.provide(Layer.succeed(Output, output)))

/** Gives a test the coordinator and what it wrote through a memory Output. */
const withCoordinator = <A, E, R>(
  f: (
    coordinator: ParallelCoordinatorShape,
    recorded: Effect.Effect<ReadonlyArray<RecordedLine>>
  ) => Effect.Effect<A, E, R>
) =>
  Effect.gen(function*() {
    const { output, recorded } = yield* Output.makeMemory
    return yield* Effect.flatMap(ParallelCoordinator, (c) => f(c, recorded)).pipe(
      Effect.provide(coordinatorLayer(output))
    )
  })

const byId = (summary: RunSummary): Record<string, WorkflowResult> =>
  Object.fromEntries(summary.results.map((r) => [r.id, r]))

/** Counts items in flight and the most seen at once. */
const inFlightTracker = () => {
  const state = { current: 0, max: 0, started: [] as Array<string> }
  const track = <A, E, R>(id: string, effect: Effect.Effect<A, E, R>) =>
    Effect.suspend(() => {
      state.current++
      state.max = Math.max(state.max, state.current)
      state.started.push(id)
      return effect
    }).pipe(Effect.ensuring(Effect.sync(() => state.current--)))
  return { state, track }
}

const ids = (n: number, prefix = "item") => Array.from({ length: n }, (_, i) => `${prefix}-${i + 1}`)

describe("ParallelCoordinator", () => {
  describe("concurrency", () => {
    it.scoped("keeps exactly `concurrency` items in flight", () =>
      withCoordinator((coordinator) =>
        Effect.gen(function*() {
          const { state, track } = inFlightTracker()
          const fiber = yield* Effect.fork(
            coordinator.run(ids(10), (ctx) => track(ctx.id, Effect.sleep("1 second")), { concurrency: 4 })
          )
          yield* settle
          assert.strictEqual(state.current, 4)
          yield* TestClock.adjust("2 seconds")
          assert.isTrue(Option.isNone(yield* Fiber.poll(fiber)))
          yield* TestClock.adjust("1 second")
          const summary = yield* Fiber.join(fiber)
          assert.strictEqual(state.max, 4)
          assert.strictEqual(summary.stats.succeeded, 10)
          assert.strictEqual(yield* now, 3_000, "ceil(10 / 4) rounds of 1 s")
        })
      ))

    it.scoped("runs 3 at a time by default, and 1 at a time in input order with concurrency 1", () =>
      withCoordinator((coordinator) =>
        Effect.gen(function*() {
          const three = inFlightTracker()
          const fiber = yield* Effect.fork(
            coordinator.run(ids(7), (ctx) => three.track(ctx.id, Effect.sleep("1 second")))
          )
          yield* TestClock.adjust("3 seconds")
          yield* Fiber.join(fiber)
          assert.strictEqual(three.state.max, 3)

          const one = inFlightTracker()
          const sequential = yield* Effect.fork(
            coordinator.run(ids(4), (ctx) => one.track(ctx.id, Effect.sleep("1 second")), { concurrency: 1 })
          )
          yield* TestClock.adjust("4 seconds")
          yield* Fiber.join(sequential)
          assert.strictEqual(one.state.max, 1)
          assert.deepStrictEqual(one.state.started, ids(4))
        })
      ))

    it.scoped("caps concurrency at 10 with a warning through Output", () =>
      withCoordinator((coordinator, recorded) =>
        Effect.gen(function*() {
          const { state, track } = inFlightTracker()
          const fiber = yield* Effect.fork(
            coordinator.run(ids(30), (ctx) => track(ctx.id, Effect.sleep("1 second")), { concurrency: 25 })
          )
          yield* TestClock.adjust("3 seconds")
          const summary = yield* Fiber.join(fiber)
          assert.strictEqual(state.max, 10)
          assert.strictEqual(summary.stats.succeeded, 30)
          const warnings = (yield* recorded).filter((l) => l.line.startsWith("[COORDINATOR] ") && /25/.test(l.line))
          assert.strictEqual(warnings.length, 1, "one warning")
          assert.strictEqual(warnings[0]!.channel, "stderr")
          assert.include(warnings[0]!.line, "10")
        })
      ))

    it.scoped("maxParallel raises the cap, without a warning", () =>
      withCoordinator((coordinator, recorded) =>
        Effect.gen(function*() {
          const { state, track } = inFlightTracker()
          const fiber = yield* Effect.fork(
            coordinator.run(ids(30), (ctx) => track(ctx.id, Effect.sleep("1 second")), {
              concurrency: 15,
              maxParallel: 20
            })
          )
          yield* TestClock.adjust("2 seconds")
          yield* Fiber.join(fiber)
          assert.strictEqual(state.max, 15)
          assert.deepStrictEqual(yield* recorded, [])
        })
      ))

    it.scoped("refuses a concurrency below 1 as a defect", () =>
      withCoordinator((coordinator) =>
        Effect.gen(function*() {
          for (const concurrency of [0, -1, 1.5]) {
            const exit = yield* Effect.exit(coordinator.run(["a"], () => Effect.void, { concurrency }))
            assert.isTrue(Exit.isFailure(exit) && exit.cause._tag === "Die", String(concurrency))
          }
        })
      ))
  })

  describe("results", () => {
    it.scoped("one item's failure or defect does not stop the others; each gets its own result", () =>
      withCoordinator((coordinator) =>
        Effect.gen(function*() {
          const summary = yield* coordinator.run(["a", "b", "c", "d"], (ctx) =>
            ctx.id === "b"
              ? Effect.fail(new Error("b broke"))
              : ctx.id === "c"
              ? Effect.die(new Error("c exploded"))
              : Effect.void)
          const results = byId(summary)
          assert.deepStrictEqual(Object.keys(results).sort(), ["a", "b", "c", "d"])
          assert.deepInclude(results.a!, { status: "succeeded", attempts: 1, rateLimits: 0 })
          assert.isUndefined(results.a!.error)
          assert.deepInclude(results.b!, { status: "failed", attempts: 1, error: "b broke" })
          assert.strictEqual(results.c!.status, "failed")
          assert.include(results.c!.error, "c exploded")
          assert.strictEqual(results.d!.status, "succeeded")
          assert.deepInclude(summary.stats, {
            total: 4,
            completed: 4,
            succeeded: 2,
            failed: 2,
            interrupted: 0,
            skipped: 0,
            running: 0
          })
          assert.isFalse(summary.interrupted)
        })
      ))

    it.scoped("gives the workflow its id, attempt, run id and credential", () =>
      withCoordinator((coordinator) =>
        Effect.gen(function*() {
          const seen: Array<WorkflowContext> = []
          yield* coordinator.run(["x"], (ctx) => Effect.sync(() => seen.push(ctx)), { runId: "run-ctx" })
          assert.strictEqual(seen.length, 1)
          assert.strictEqual(seen[0]!.id, "x")
          assert.strictEqual(seen[0]!.attempt, 1)
          assert.strictEqual(seen[0]!.runId, "run-ctx")
          assert.isTrue(Option.isNone(seen[0]!.credential))

          const labels: Array<string> = []
          const summary = yield* coordinator.run(["p", "q"], (ctx) =>
            Effect.sync(() => labels.push(Option.getOrThrow(ctx.credential).label)), { concurrency: 2 }).pipe(
              Effect.provide(CredentialPool.layer({ credentials: ["s1", "s2"] }))
            )
          assert.deepStrictEqual(labels.sort(), ["key-1", "key-2"])
          assert.deepStrictEqual(
            summary.results.flatMap((r) =>
              r.credentialLabels
            ).sort(),
            ["key-1", "key-2"]
          )
          assert.deepStrictEqual(summary.credentials.map((c) => [c.label, c.leases]), [["key-1", 1], ["key-2", 1]])
        })
      ))

    it.scoped("reports invalid ids as failed and never runs them", () =>
      withCoordinator((coordinator) =>
        Effect.gen(function*() {
          const ran: Array<string> = []
          const summary = yield* coordinator.run(["ok-1", "../etc", "", "con", "a b"], (ctx) =>
            Effect.sync(() => ran.push(ctx.id)))
          assert.deepStrictEqual(ran, ["ok-1"])
          const results = byId(summary)
          for (const bad of ["../etc", "", "con", "a b"]) {
            assert.deepInclude(results[bad]!, { status: "failed", attempts: 0 })
            assert.include(results[bad]!.error, "invalid id")
          }
          assert.include(results["../etc"]!.error, "path traversal")
          assert.deepInclude(summary.stats, { total: 5, succeeded: 1, failed: 4 })
        })
      ))

    it.scoped("lists the results of an array of items in input order", () =>
      withCoordinator((coordinator) =>
        Effect.gen(function*() {
          const fiber = yield* Effect.fork(coordinator.run(["slow", "medium", "fast"], (ctx) =>
            Effect.sleep(ctx.id === "slow" ? "3 seconds" : ctx.id === "medium" ? "2 seconds" : "1 second"), {
            concurrency: 3
          }))
          yield* TestClock.adjust("3 seconds")
          const summary = yield* Fiber.join(fiber)
          assert.deepStrictEqual(
            summary.results.map((r) =>
              r.id
            ),
            ["slow", "medium", "fast"]
          )
          assert.deepStrictEqual(summary.results.map((r) => Duration.toMillis(r.duration)), [3_000, 2_000, 1_000])
        })
      ))

    it.scoped("takes the items from a Stream", () =>
      withCoordinator((coordinator) =>
        Effect.gen(function*() {
          const { state, track } = inFlightTracker()
          const fiber = yield* Effect.fork(coordinator.run(
            Stream.fromIterable(ids(5)),
            (ctx) => track(ctx.id, Effect.sleep("1 second")),
            { concurrency: 2 }
          ))
          yield* TestClock.adjust("3 seconds")
          const summary = yield* Fiber.join(fiber)
          assert.strictEqual(state.max, 2)
          assert.deepStrictEqual(summary.results.map((r) => r.id).sort(), ids(5))
          assert.deepInclude(summary.stats, { total: 5, completed: 5, succeeded: 5 })
        })
      ))

    it.scoped("fails with the Stream's error when the items cannot be read", () =>
      withCoordinator((coordinator) =>
        Effect.gen(function*() {
          const error = yield* Effect.flip(coordinator.run(
            Stream.concat(Stream.make("a"), Stream.fail("unreadable" as const)),
            () => Effect.void
          ))
          assert.strictEqual(error, "unreadable")
        })
      ))

    it.scoped("keepResults: false keeps the counters only", () =>
      withCoordinator((coordinator) =>
        Effect.gen(function*() {
          const summary = yield* coordinator.run(
            Stream.fromIterable(ids(50)),
            (ctx) => ctx.id.endsWith("7") ? Effect.fail("seven") : Effect.void,
            { keepResults: false, concurrency: 5 }
          )
          assert.deepStrictEqual(summary.results, [])
          assert.deepInclude(summary.stats, { total: 50, completed: 50, succeeded: 45, failed: 5 })
        })
      ))
  })

  describe("retries and time limits", () => {
    it.scoped("retries a failed item with a growing, jittered backoff", () =>
      withCoordinator((coordinator) =>
        Effect.gen(function*() {
          const starts: Array<number> = []
          // The jitter draws 0 (factor 0.8), then 1 (factor 1.2): the delays are 0.8 x 1 s, then 1.2 x 2 s.
          const fiber = yield* Effect.fork(
            coordinator.run(["r"], (ctx) =>
              Effect.flatMap(now, (t) => {
                starts.push(t)
                return ctx.attempt < 3 ? Effect.fail(new Error(`attempt ${ctx.attempt} failed`)) : Effect.void
              }), { retries: 2, retryDelay: "1 second" }).pipe(Effect.withRandom(Random.fixed([0, 1])))
          )
          yield* settle
          assert.deepStrictEqual(starts, [0])
          yield* TestClock.adjust(799)
          assert.deepStrictEqual(starts, [0], "no retry before the backoff")
          yield* TestClock.adjust(1)
          yield* settle
          assert.deepStrictEqual(starts, [0, 800])
          yield* TestClock.adjust(2_399)
          assert.deepStrictEqual(starts, [0, 800], "the second delay is longer")
          yield* TestClock.adjust(1)
          const summary = yield* Fiber.join(fiber)
          assert.deepStrictEqual(starts, [0, 800, 3_200])
          assert.deepInclude(summary.results[0]!, { status: "succeeded", attempts: 3 })
        })
      ))

    it.scoped("reports failed with the last error when every attempt fails; no retry by default", () =>
      withCoordinator((coordinator) =>
        Effect.gen(function*() {
          const fiber = yield* Effect.fork(coordinator.run(
            ["f"],
            (ctx) => Effect.fail(new Error(`failure ${ctx.attempt}`)),
            { retries: 1, retryDelay: "100 millis" }
          ))
          yield* TestClock.adjust("1 second")
          const summary = yield* Fiber.join(fiber)
          assert.deepInclude(summary.results[0]!, { status: "failed", attempts: 2, error: "failure 2" })

          const once = yield* coordinator.run(["g"], () => Effect.fail(new Error("once")))
          assert.deepInclude(once.results[0]!, { status: "failed", attempts: 1 })
        })
      ))

    it.scoped("a start that passes the timeout is interrupted and fails with 'timed out'", () =>
      withCoordinator((coordinator) =>
        Effect.gen(function*() {
          let finalized = 0
          const fiber = yield* Effect.fork(coordinator.run(["slow", "fast"], (ctx) =>
            ctx.id === "slow"
              ? Effect.never.pipe(Effect.ensuring(Effect.sync(() => finalized++)))
              : Effect.sleep("1 second"), { timeout: "2 seconds", concurrency: 2 }))
          yield* TestClock.adjust(1_999)
          assert.isTrue(Option.isNone(yield* Fiber.poll(fiber)))
          yield* TestClock.adjust(1)
          const summary = yield* Fiber.join(fiber)
          const results = byId(summary)
          assert.strictEqual(results.slow!.status, "failed")
          assert.include(results.slow!.error, "timed out")
          assert.strictEqual(finalized, 1, "the workflow was interrupted")
          assert.strictEqual(results.fast!.status, "succeeded")
        })
      ))

    it.scoped("a timed-out start counts as an attempt and is retried", () =>
      withCoordinator((coordinator) =>
        Effect.gen(function*() {
          const fiber = yield* Effect.fork(
            coordinator.run(["t"], (ctx) => ctx.attempt === 1 ? Effect.never : Effect.void, {
              timeout: "1 second",
              retries: 1,
              retryDelay: "1 second"
            })
          )
          yield* TestClock.adjust("5 seconds")
          const summary = yield* Fiber.join(fiber)
          assert.deepInclude(summary.results[0]!, { status: "succeeded", attempts: 2 })
        })
      ))
  })

  describe("rate limits", () => {
    it.scoped("restarts a rate-limited item on another credential without counting a failure", () =>
      withCoordinator((coordinator) =>
        Effect.gen(function*() {
          const labels: Array<string> = []
          const summary = yield* coordinator.run(["rl"], (ctx) => {
            labels.push(Option.getOrThrow(ctx.credential).label)
            return ctx.attempt === 1 ? Effect.fail(new RateLimited({ retryAfter: Duration.seconds(30) })) : Effect.void
          }).pipe(Effect.provide(CredentialPool.layer({ credentials: ["s1", "s2"] })))
          assert.deepStrictEqual(labels, ["key-1", "key-2"])
          assert.strictEqual(yield* now, 0, "no waiting: another credential was free")
          const [result] = summary.results
          assert.deepInclude(result!, { status: "succeeded", attempts: 2, rateLimits: 1 })
          assert.deepStrictEqual(result!.credentialLabels, ["key-1", "key-2"])
          assert.deepInclude(summary.stats, { succeeded: 1, failed: 0 })
          assert.deepStrictEqual(summary.credentials.map((c) => [c.label, c.leases, c.rateLimits]), [
            ["key-1", 1, 1],
            ["key-2", 1, 0]
          ])
        })
      ))

    it.scoped("without a pool, waits the retry-after and restarts, still not a failure", () =>
      withCoordinator((coordinator) =>
        Effect.gen(function*() {
          const starts: Array<number> = []
          const fiber = yield* Effect.fork(coordinator.run(["rl"], (ctx) =>
            Effect.flatMap(now, (t) => {
              starts.push(t)
              return ctx.attempt === 1
                ? Effect.fail(new RateLimited({ retryAfter: Duration.seconds(10) }))
                : Effect.void
            })))
          yield* TestClock.adjust(9_999)
          assert.deepStrictEqual(starts, [0])
          yield* TestClock.adjust(1)
          const summary = yield* Fiber.join(fiber)
          assert.deepStrictEqual(starts, [0, 10_000])
          assert.deepInclude(summary.results[0]!, { status: "succeeded", attempts: 2, rateLimits: 1 })
        })
      ))

    it.scoped("fails an item rate limited past the pool's maxRateLimitRetries, naming the count", () =>
      withCoordinator((coordinator) =>
        Effect.gen(function*() {
          const starts: Array<string> = []
          const summary = yield* coordinator.run(["rl"], (ctx) => {
            starts.push(Option.getOrThrow(ctx.credential).label)
            return Effect.fail(new RateLimited({ retryAfter: Duration.seconds(1) }))
          }).pipe(Effect.provide(CredentialPool.layer({ credentials: ["s1", "s2", "s3"], maxRateLimitRetries: 1 })))
          assert.deepStrictEqual(starts, ["key-1", "key-2"])
          assert.deepInclude(summary.results[0]!, {
            status: "failed",
            rateLimits: 2,
            error: "rate limited too many times: 2 rate limits in a row (limit 1)"
          })
        })
      ))

    it.scoped("with maxRateLimitRetries 0, the first 429 fails the item", () =>
      withCoordinator((coordinator) =>
        Effect.gen(function*() {
          const summary = yield* coordinator.run(["rl"], () => Effect.fail(new RateLimited({}))).pipe(
            Effect.provide(CredentialPool.layer({ credentials: ["s1", "s2"], maxRateLimitRetries: 0 }))
          )
          assert.deepInclude(summary.results[0]!, {
            status: "failed",
            attempts: 1,
            error: "rate limited too many times: 1 rate limits in a row (limit 0)"
          })
        })
      ))

    it.scoped("publishes ItemRateLimited with the credential and retry-after", () =>
      withCoordinator((coordinator) =>
        Effect.gen(function*() {
          const events = yield* coordinator.subscribe
          yield* coordinator.run(["rl"], (ctx) =>
            ctx.attempt === 1 ? Effect.fail(new RateLimited({ retryAfter: Duration.seconds(5) })) : Effect.void).pipe(
              Effect.provide(CredentialPool.layer({ credentials: ["s1", "s2"] }))
            )
          const limited = Chunk.toReadonlyArray(yield* Queue.takeAll(events)).find((e) =>
            e._tag === "ItemRateLimited"
          )
          assert(limited !== undefined && limited._tag === "ItemRateLimited")
          assert.strictEqual(limited.id, "rl")
          assert.deepStrictEqual(limited.label, Option.some("key-1"))
          assert.deepStrictEqual(limited.retryAfter, Option.some(Duration.seconds(5)))
        })
      ))
  })

  describe("shutdown", () => {
    /** "a" checkpoints and stops 2 s after the shutdown begins; every other item ignores it. */
    const cooperative = (started: Array<string>) => (ctx: WorkflowContext) =>
      Effect.suspend(() => {
        started.push(ctx.id)
        return ctx.id === "a"
          ? Effect.race(Effect.sleep("1 hour"), Effect.zipRight(ctx.stopping, Effect.sleep("2 seconds")))
          : Effect.sleep("1 hour")
      })

    it.scoped("stops starting items, gives running ones the grace, then interrupts them", () =>
      withCoordinator((coordinator) =>
        Effect.gen(function*() {
          const shutdown = yield* Shutdown.make
          const events = yield* coordinator.subscribe
          const started: Array<string> = []
          const fiber = yield* Effect.fork(coordinator.run(["a", "b", "c", "d"], cooperative(started), {
            concurrency: 2,
            shutdown,
            grace: "5 seconds"
          }))
          yield* TestClock.adjust("1 second")
          yield* shutdown.request("test")
          yield* settle
          yield* TestClock.adjust("2 seconds") // "a" finishes; its slot must not start "c"
          yield* settle
          assert.deepStrictEqual(started, ["a", "b"])
          yield* TestClock.adjust(2_999)
          assert.isTrue(Option.isNone(yield* Fiber.poll(fiber)), "still in the grace period")
          yield* TestClock.adjust(1)
          const summary = yield* Fiber.join(fiber)
          assert.strictEqual(yield* now, 6_000)
          const results = byId(summary)
          assert.strictEqual(results.a!.status, "succeeded")
          assert.deepInclude(results.b!, { status: "interrupted", attempts: 1 })
          assert.deepInclude(results.c!, { status: "interrupted", attempts: 0 })
          assert.deepInclude(results.d!, { status: "interrupted", attempts: 0 })
          assert.deepStrictEqual(started, ["a", "b"])
          assert.isTrue(summary.interrupted)
          assert.deepInclude(summary.stats, { total: 4, completed: 4, succeeded: 1, interrupted: 3 })
          const tags = Chunk.toReadonlyArray(yield* Queue.takeAll(events)).map((e) => e._tag)
          assert.include(tags, "ShutdownStarted")
          assert.notInclude(tags, "ShutdownForced")
        })
      ))

    it.scoped("items stopped after the grace give their credentials back", () =>
      Effect.gen(function*() {
        const pool = yield* CredentialPool.make({ credentials: ["s1", "s2", "s3"] })
        yield* withCoordinator((coordinator) =>
          Effect.gen(function*() {
            const shutdown = yield* Shutdown.make
            const fiber = yield* Effect.fork(
              coordinator.run(["a", "b", "c", "d"], () => Effect.never, { concurrency: 2, shutdown, grace: "1 second" })
                .pipe(Effect.provideService(CredentialPool, pool))
            )
            yield* settle
            assert.strictEqual((yield* pool.stats).inUse, 2)
            yield* shutdown.request("test")
            yield* TestClock.adjust("1 second")
            const summary = yield* Fiber.join(fiber)
            assert.deepInclude(summary.stats, { interrupted: 4 })
            assert.deepInclude(yield* pool.stats, { inUse: 0, available: 3 })
            // Every credential can be leased again at once.
            const leased = yield* Effect.forEach([1, 2, 3], () => pool.lease(), { concurrency: 3 })
            assert.sameMembers(leased.map((l) => l.credential.label), ["key-1", "key-2", "key-3"])
          })
        )
      }))

    it.scoped("a shutdown during retry backoffs leaves no credential held", () =>
      Effect.gen(function*() {
        const pool = yield* CredentialPool.make({ credentials: ["s1", "s2"] })
        yield* withCoordinator((coordinator) =>
          Effect.gen(function*() {
            const shutdown = yield* Shutdown.make
            const fiber = yield* Effect.fork(
              coordinator.run(["a", "b", "c"], () => Effect.fail("boom"), {
                concurrency: 2,
                retries: 3,
                retryDelay: "10 seconds",
                shutdown
              }).pipe(Effect.provideService(CredentialPool, pool))
            )
            yield* TestClock.adjust("1 second")
            yield* shutdown.request("test")
            const summary = yield* Fiber.join(fiber)
            assert.deepInclude(summary.stats, { interrupted: 3, failed: 0 })
            assert.deepInclude(yield* pool.stats, { inUse: 0, available: 2 })
          })
        )
      }))

    it.scoped("ends at once when every running item stops within the grace", () =>
      withCoordinator((coordinator) =>
        Effect.gen(function*() {
          const shutdown = yield* Shutdown.make
          const started: Array<string> = []
          const fiber = yield* Effect.fork(coordinator.run(["a", "c"], cooperative(started), {
            concurrency: 1,
            shutdown
          }))
          yield* settle
          yield* shutdown.request("SIGINT")
          yield* TestClock.adjust("2 seconds")
          const summary = yield* Fiber.join(fiber)
          assert.strictEqual(yield* now, 2_000)
          assert.deepStrictEqual(summary.results.map((r) => [r.id, r.status]), [["a", "succeeded"], [
            "c",
            "interrupted"
          ]])
          assert.isTrue(summary.interrupted)
        })
      ))

    it.scoped("a second request skips the rest of the grace", () =>
      withCoordinator((coordinator) =>
        Effect.gen(function*() {
          const shutdown = yield* Shutdown.make
          const events = yield* coordinator.subscribe
          const fiber = yield* Effect.fork(coordinator.run(["x", "y"], () => Effect.sleep("1 hour"), {
            concurrency: 2,
            shutdown,
            grace: "30 seconds"
          }))
          yield* settle
          yield* shutdown.request("SIGINT")
          yield* TestClock.adjust("1 second")
          assert.isTrue(Option.isNone(yield* Fiber.poll(fiber)))
          yield* shutdown.request("SIGINT")
          yield* settle
          const summary = yield* Fiber.join(fiber)
          assert.strictEqual(yield* now, 1_000, "no more of the grace was waited")
          assert.deepStrictEqual(summary.results.map((r) => r.status), ["interrupted", "interrupted"])
          assert.deepStrictEqual(Option.getOrUndefined(yield* shutdown.reason), "SIGINT")
          const tags = Chunk.toReadonlyArray(yield* Queue.takeAll(events)).map((e) => e._tag)
          assert.include(tags, "ShutdownForced")
        })
      ))

    it.scoped("a shutdown ends at once an item that only waits for a cooling credential", () =>
      withCoordinator((coordinator) =>
        Effect.gen(function*() {
          const shutdown = yield* Shutdown.make
          const starts: Array<number> = []
          // One key; the first start is rate limited for a minute, so the item then waits for the key.
          const fiber = yield* Effect.fork(
            coordinator.run(
              ["x"],
              (ctx) =>
                Effect.suspend(() => {
                  starts.push(ctx.attempt)
                  return ctx.attempt === 1
                    ? Effect.fail(new RateLimited({ retryAfter: Duration.minutes(1) }))
                    : Effect.void
                }),
              { shutdown, grace: "10 seconds" }
            ).pipe(Effect.provide(CredentialPool.layer({ credentials: ["only-key"] })))
          )
          yield* TestClock.adjust("1 second")
          yield* shutdown.request("SIGINT")
          yield* settle
          const summary = yield* Fiber.join(fiber)
          assert.strictEqual(yield* now, 1_000, "nothing ran, so nothing was waited for")
          assert.deepInclude(byId(summary).x!, { status: "interrupted", attempts: 1, rateLimits: 1 })
          assert.deepStrictEqual(starts, [1])
        })
      ))

    it.scoped("interrupting the run itself is a graceful shutdown, and waits for it", () =>
      withCoordinator((coordinator) =>
        Effect.gen(function*() {
          const events = yield* coordinator.subscribe
          const started: Array<string> = []
          const fiber = yield* Effect.fork(coordinator.run(["a", "b", "c"], cooperative(started), {
            concurrency: 2,
            grace: "5 seconds"
          }))
          yield* settle
          const interrupter = yield* Effect.fork(Fiber.interrupt(fiber))
          yield* settle
          yield* TestClock.adjust(4_999)
          assert.isTrue(Option.isNone(yield* Fiber.poll(interrupter)), "the interruption waits for the grace")
          yield* TestClock.adjust(1)
          yield* Fiber.join(interrupter)
          assert.isTrue(Exit.isInterrupted(yield* Fiber.await(fiber)))
          const finished = Chunk.toReadonlyArray(yield* Queue.takeAll(events)).find((e) => e._tag === "RunFinished")
          assert(finished !== undefined && finished._tag === "RunFinished")
          const results = byId(finished.summary)
          assert.strictEqual(results.a!.status, "succeeded", "a finished within the grace")
          assert.strictEqual(results.b!.status, "interrupted")
          assert.deepInclude(results.c!, { status: "interrupted", attempts: 0 })
          assert.isTrue(finished.summary.interrupted)
          assert.deepStrictEqual(started, ["a", "b"])
        })
      ))

    it.scoped("a shutdown also stops the retries of a failing item", () =>
      withCoordinator((coordinator) =>
        Effect.gen(function*() {
          const shutdown = yield* Shutdown.make
          let starts = 0
          const fiber = yield* Effect.fork(coordinator.run(["f"], () =>
            Effect.suspend(() => {
              starts++
              return Effect.zipRight(Effect.sleep("1 second"), Effect.fail("nope"))
            }), { retries: 5, retryDelay: "100 millis", shutdown }))
          yield* TestClock.adjust(500)
          yield* shutdown.request("test")
          yield* TestClock.adjust("10 seconds")
          const summary = yield* Fiber.join(fiber)
          assert.strictEqual(starts, 1)
          assert.strictEqual(summary.results[0]!.status, "interrupted")
        })
      ))
  })

  describe("events", () => {
    it.scoped("publishes RunStarted, ItemStarted and ItemFinished for each item, then RunFinished", () =>
      withCoordinator((coordinator) =>
        Effect.gen(function*() {
          const events = yield* coordinator.subscribe
          const summary = yield* coordinator.run(["a", "b", "c"], (ctx) =>
            ctx.id === "b" ? Effect.fail("x") : Effect.void, {
            runId: "evented",
            concurrency: 2
          })
          const all: ReadonlyArray<CoordinatorEvent> = Chunk.toReadonlyArray(yield* Queue.takeAll(events))
          const first = all[0]!
          assert(first._tag === "RunStarted")
          assert.deepStrictEqual([first.runId, first.concurrency, first.total], ["evented", 2, Option.some(3)])
          const last = all[all.length - 1]!
          assert(last._tag === "RunFinished")
          assert.strictEqual(last.summary, summary)
          const started = all.flatMap((e) =>
            e._tag === "ItemStarted" ? [e.id] : []
          )
          assert.deepStrictEqual(started.sort(), ["a", "b", "c"])
          const finished = all.flatMap((e) => e._tag === "ItemFinished" ? [[e.result.id, e.result.status]] : [])
          assert.deepStrictEqual(finished.sort(), [["a", "succeeded"], ["b", "failed"], ["c", "succeeded"]])
          for (const id of ["a", "b", "c"]) {
            const startIndex = all.findIndex((e) => e._tag === "ItemStarted" && e.id === id)
            const endIndex = all.findIndex((e) => e._tag === "ItemFinished" && e.result.id === id)
            assert.isBelow(startIndex, endIndex, id)
          }
        })
      ))

    it.scoped("publishes ItemRetrying before each retry", () =>
      withCoordinator((coordinator) =>
        Effect.gen(function*() {
          const events = yield* coordinator.subscribe
          const fiber = yield* Effect.fork(
            coordinator.run(["r"], (ctx) => ctx.attempt < 3 ? Effect.fail(new Error(`e${ctx.attempt}`)) : Effect.void, {
              retries: 3,
              retryDelay: "10 millis"
            })
          )
          yield* TestClock.adjust("1 second")
          yield* Fiber.join(fiber)
          const retrying = Chunk.toReadonlyArray(yield* Queue.takeAll(events)).flatMap((e) =>
            e._tag === "ItemRetrying" ? [[e.attempt, e.error]] : []
          )
          assert.deepStrictEqual(retrying, [[2, "e1"], [3, "e2"]])
        })
      ))
  })

  describe("journal", () => {
    it.scoped("refuses a second run of the same runId while the first holds it", () =>
      withCoordinator((coordinator) =>
        Effect.gen(function*() {
          const first = yield* Effect.fork(coordinator.run(["a"], () => Effect.sleep("10 seconds"), { runId: "held" }))
          yield* settle
          const error = yield* Effect.flip(coordinator.run(["b"], () => Effect.void, { runId: "held" }))
          assert.strictEqual(error._tag, "JournalError")
          if (error._tag === "JournalError") assert.strictEqual(error.reason, "RunLocked")
          yield* TestClock.adjust("10 seconds")
          assert.strictEqual((yield* Fiber.join(first)).stats.succeeded, 1)
          // released with the first run
          const again = yield* coordinator.run(["b"], () => Effect.void, { runId: "held" })
          assert.strictEqual(again.stats.succeeded, 1)
        }).pipe(Effect.provide(RunJournal.layerMemory))
      ))

    it.scoped("records each item's outcome in the journal", () =>
      withCoordinator((coordinator) =>
        Effect.gen(function*() {
          yield* coordinator.run(["ok", "bad"], (ctx) =>
            ctx.id === "bad" ? Effect.fail(new Error("nope")) : Effect.void, {
            runId: "journaled"
          })
          const journal = yield* RunJournal
          const status = Option.getOrThrow(yield* journal.status(Option.some("journaled")))
          const items = Object.fromEntries(
            status.items.map((i) => [i.id, [i.status, i.attempts, Option.getOrNull(i.error)]])
          )
          assert.deepStrictEqual(items, { ok: ["succeeded", 1, null], bad: ["failed", 1, "nope"] })
          assert.isFalse(status.active)
        }).pipe(Effect.provide(RunJournal.layerMemory))
      ))
  })

  describe("resume", () => {
    it.scoped("skips the items an earlier run of the same runId finished", () =>
      withCoordinator((coordinator) =>
        Effect.gen(function*() {
          const calls: Array<string> = []
          let failB = true
          const workflow = (ctx: WorkflowContext) =>
            Effect.suspend(() => {
              calls.push(ctx.id)
              return ctx.id === "b" && failB ? Effect.fail("b failed") : Effect.void
            })
          const first = yield* coordinator.run(["a", "b", "c"], workflow, { runId: "nightly" })
          assert.deepInclude(first.stats, { succeeded: 2, failed: 1, skipped: 0 })
          failB = false
          calls.length = 0
          const second = yield* coordinator.run(["a", "b", "c", "d"], workflow, { runId: "nightly" })
          assert.deepStrictEqual(calls.sort(), ["b", "d"])
          const results = byId(second)
          assert.deepInclude(results.a!, { status: "skipped", attempts: 0 })
          assert.deepInclude(results.c!, { status: "skipped", attempts: 0 })
          // the attempt numbers of an item go on from the earlier run
          assert.deepInclude(results.b!, { status: "succeeded", attempts: 2 })
          assert.deepInclude(results.d!, { status: "succeeded", attempts: 1 })
          assert.deepInclude(second.stats, { total: 4, completed: 4, succeeded: 2, skipped: 2, failed: 0 })

          calls.length = 0
          yield* coordinator.run(["a", "b"], workflow, { runId: "other" })
          assert.deepStrictEqual(calls.sort(), ["a", "b"], "another runId remembers nothing")
          calls.length = 0
          yield* coordinator.run(["a", "b"], workflow, { runId: "nightly", fresh: true })
          assert.deepStrictEqual(calls.sort(), ["a", "b"], "fresh forgets")
        }).pipe(Effect.provide(RunJournal.layerMemory))
      ))

    it.scoped("runs again the items a shutdown interrupted", () =>
      withCoordinator((coordinator) =>
        Effect.gen(function*() {
          const shutdown = yield* Shutdown.make
          const fiber = yield* Effect.fork(
            coordinator.run(["a", "b"], (ctx) => ctx.id === "a" ? Effect.void : Effect.sleep("1 hour"), {
              runId: "resumable",
              shutdown,
              grace: "1 second"
            })
          )
          yield* settle
          yield* shutdown.request("test")
          yield* TestClock.adjust("1 second")
          const first = yield* Fiber.join(fiber)
          assert.deepStrictEqual(first.results.map((r) => [r.id, r.status]), [["a", "succeeded"], ["b", "interrupted"]])
          const calls: Array<string> = []
          const second = yield* coordinator.run(["a", "b"], (ctx) =>
            Effect.sync(() => calls.push(`${ctx.id}#${ctx.attempt}`)), {
            runId: "resumable"
          })
          assert.deepStrictEqual(calls, ["b#2"])
          assert.deepStrictEqual(second.results.map((r) => [r.id, r.status]).sort(), [["a", "skipped"], [
            "b",
            "succeeded"
          ]])
        }).pipe(Effect.provide(RunJournal.layerMemory))
      ))
  })
})

describe("ParallelCoordinator run identity", () => {
  afterEach(() => {
    vi.useRealTimers()
  })

  // Two runs without a runId started in the same millisecond must not share a default id.
  it.scoped("two runs without a runId never share the journal's memory", () =>
    withCoordinator((coordinator) =>
      Effect.gen(function*() {
        vi.useFakeTimers({ toFake: ["Date"] })
        vi.setSystemTime(new Date("2026-01-01T00:00:00Z"))
        const calls: Array<string> = []
        const workflow = (ctx: WorkflowContext) => Effect.sync(() => calls.push(ctx.id))
        const first = yield* coordinator.run(["a"], workflow)
        const second = yield* coordinator.run(["a"], workflow)
        assert.notStrictEqual(first.runId, second.runId)
        assert.deepStrictEqual(calls, ["a", "a"])
      }).pipe(Effect.provide(RunJournal.layerMemory))
    ))
})
