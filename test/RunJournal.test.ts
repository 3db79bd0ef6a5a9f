import { afterEach, assert, beforeEach, describe, it, vi } from "@effect/vitest"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Option from "effect/Option"
import * as Scope from "effect/Scope"
import { JournalError, RunJournal, type RunJournalShape } from "../src/RunJournal.js"
import { WorkflowResult } from "../src/WorkflowResult.js"

const result = (id: string, status: WorkflowResult["status"], error?: string) =>
  new WorkflowResult({
    id,
    status,
    attempts: 1,
    rateLimits: 0,
    duration: Duration.seconds(1),
    credentialLabels: ["key-1"],
    ...(error === undefined ? {} : { error })
  })

const itemsOf = (journal: RunJournalShape, runId: string) =>
  Effect.map(journal.status(Option.some(runId)), (status) => {
    const found = Option.getOrThrow(status)
    return Object.fromEntries(found.items.map((i) => [i.id, i]))
  })

describe("RunJournal (memory)", () => {
  beforeEach(() => {
    vi.useFakeTimers({ toFake: ["Date"] })
    vi.setSystemTime(new Date("2026-01-01T00:00:00Z"))
  })
  afterEach(() => {
    vi.useRealTimers()
  })

  it.effect("opens a new run with nothing behind it, and holds it while the scope is open", () =>
    Effect.gen(function*() {
      const journal = yield* RunJournal
      const scope = yield* Scope.make()
      const opened = yield* Scope.extend(journal.open({ runId: "r1", description: "first run", fresh: false }), scope)
      assert.strictEqual(opened.runId, "r1")
      assert.strictEqual(opened.items.size, 0)
      assert.deepStrictEqual(opened.recovered, [])
      const status = Option.getOrThrow(yield* journal.status(Option.some("r1")))
      assert.strictEqual(status.description, "first run")
      assert.isTrue(status.active)

      const second = yield* Effect.flip(
        Effect.scoped(journal.open({ runId: "r1", description: "again", fresh: false }))
      )
      assert.instanceOf(second, JournalError)
      assert.strictEqual(second.reason, "RunLocked")
      assert.include(second.message, "r1")

      yield* Scope.close(scope, Exit.void)
      assert.isFalse(Option.getOrThrow(yield* journal.status(Option.some("r1"))).active)
      // once released it can be opened again
      const again = yield* Effect.scoped(journal.open({ runId: "r1", description: "again", fresh: false }))
      assert.strictEqual(again.runId, "r1")
    }).pipe(Effect.provide(RunJournal.layerMemory)))

  it.effect("records attempts and outcomes, and hands them to the next opening of the run", () =>
    Effect.gen(function*() {
      const journal = yield* RunJournal
      yield* Effect.scoped(Effect.gen(function*() {
        yield* journal.open({ runId: "r", description: "d", fresh: false })
        yield* journal.attemptStarted("r", { id: "a", attempt: 1, label: Option.some("key-1"), at: Date.now() })
        assert.deepInclude((yield* itemsOf(journal, "r")).a, { status: "running", attempts: 1 })
        yield* journal.attemptProcess("r", "a", 1, 4242)
        assert.deepStrictEqual((yield* itemsOf(journal, "r")).a!.pid, Option.some(4242))
        yield* journal.attemptFinished("r", {
          id: "a",
          attempt: 1,
          outcome: "failed",
          error: Option.some("exit 1"),
          exitCode: Option.some(1),
          signal: Option.none(),
          at: Date.now()
        })
        const afterAttempt = (yield* itemsOf(journal, "r")).a!
        assert.deepStrictEqual(afterAttempt.pid, Option.none())
        assert.deepStrictEqual(afterAttempt.error, Option.some("exit 1"))
        yield* journal.attemptStarted("r", { id: "a", attempt: 2, label: Option.none(), at: Date.now() })
        yield* journal.itemFinished("r", result("a", "succeeded"))
        yield* journal.attemptStarted("r", { id: "b", attempt: 1, label: Option.none(), at: Date.now() })
        yield* journal.itemFinished("r", result("b", "failed", "boom"))
        yield* journal.attemptStarted("r", { id: "c", attempt: 1, label: Option.none(), at: Date.now() })
        yield* journal.itemFinished("r", result("c", "interrupted"))
        // left running: its runner "died"
        yield* journal.attemptStarted("r", { id: "d", attempt: 1, label: Option.none(), at: Date.now() })
      }))

      const reopened = yield* Effect.scoped(journal.open({ runId: "r", description: "d", fresh: false }))
      const statuses = Object.fromEntries([...reopened.items].map(([id, item]) => [id, item.status]))
      assert.deepStrictEqual(statuses, { a: "succeeded", b: "failed", c: "interrupted", d: "running" })
      assert.strictEqual(reopened.items.get("a")!.attempts, 2)
      assert.deepStrictEqual(reopened.items.get("a")!.error, Option.none())
      assert.deepStrictEqual(reopened.items.get("b")!.error, Option.some("boom"))
      assert.deepStrictEqual(reopened.recovered.map((i) => i.id), ["d"])
    }).pipe(Effect.provide(RunJournal.layerMemory)))

  it.effect("records the items given at opening as pending, without touching known ones", () =>
    Effect.gen(function*() {
      const journal = yield* RunJournal
      const first = yield* Effect.scoped(Effect.gen(function*() {
        const opened = yield* journal.open({ runId: "r", description: "d", fresh: false, items: ["a", "b"] })
        yield* journal.itemFinished("r", result("a", "succeeded"))
        return opened
      }))
      assert.strictEqual(first.items.size, 0, "pending items are not part of the past")
      const statuses = Object.fromEntries(
        Option.getOrThrow(yield* journal.status(Option.some("r"))).items.map((i) => [i.id, i.status])
      )
      assert.deepStrictEqual(statuses, { a: "succeeded", b: "pending" })

      const second = yield* Effect.scoped(
        journal.open({ runId: "r", description: "d", fresh: false, items: ["a", "c"] })
      )
      assert.deepStrictEqual([...second.items.keys()], ["a"])
      assert.strictEqual(second.items.get("a")!.status, "succeeded")
      const after = Object.fromEntries(
        Option.getOrThrow(yield* journal.status(Option.some("r"))).items.map((i) => [i.id, i.status])
      )
      assert.deepStrictEqual(after, { a: "succeeded", b: "pending", c: "pending" })
    }).pipe(Effect.provide(RunJournal.layerMemory)))

  it.effect("a skipped result does not overwrite what the item ended as", () =>
    Effect.gen(function*() {
      const journal = yield* RunJournal
      yield* Effect.scoped(Effect.gen(function*() {
        yield* journal.open({ runId: "r", description: "d", fresh: false })
        yield* journal.itemFinished("r", result("a", "succeeded"))
        yield* journal.itemFinished("r", result("a", "skipped"))
      }))
      assert.strictEqual((yield* itemsOf(journal, "r")).a!.status, "succeeded")
    }).pipe(Effect.provide(RunJournal.layerMemory)))

  it.effect("fresh forgets the run's past", () =>
    Effect.gen(function*() {
      const journal = yield* RunJournal
      yield* Effect.scoped(Effect.zipRight(
        journal.open({ runId: "r", description: "d", fresh: false }),
        journal.itemFinished("r", result("a", "succeeded"))
      ))
      const fresh = yield* Effect.scoped(journal.open({ runId: "r", description: "new", fresh: true }))
      assert.strictEqual(fresh.items.size, 0)
      const status = Option.getOrThrow(yield* journal.status(Option.some("r")))
      assert.strictEqual(status.description, "new")
      assert.deepStrictEqual(status.items, [])
    }).pipe(Effect.provide(RunJournal.layerMemory)))

  it.effect("status finds a run by id, or the most recently updated one", () =>
    Effect.gen(function*() {
      const journal = yield* RunJournal
      assert.isTrue(Option.isNone(yield* journal.status(Option.none())))
      yield* Effect.scoped(journal.open({ runId: "older", description: "o", fresh: false }))
      vi.advanceTimersByTime(1_000)
      yield* Effect.scoped(journal.open({ runId: "newer", description: "n", fresh: false }))
      assert.strictEqual(Option.getOrThrow(yield* journal.status(Option.none())).runId, "newer")
      vi.advanceTimersByTime(1_000)
      yield* Effect.scoped(Effect.zipRight(
        journal.open({ runId: "older", description: "o", fresh: false }),
        journal.itemFinished("older", result("x", "failed"))
      ))
      const latest = Option.getOrThrow(yield* journal.status(Option.none()))
      assert.strictEqual(latest.runId, "older")
      assert.strictEqual(latest.createdAt, Date.parse("2026-01-01T00:00:00Z"))
      assert.strictEqual(latest.updatedAt, Date.parse("2026-01-01T00:00:02Z"))
      assert.isTrue(Option.isNone(yield* journal.status(Option.some("missing"))))
    }).pipe(Effect.provide(RunJournal.layerMemory)))

  it.effect("writes for a run never opened are ignored", () =>
    Effect.gen(function*() {
      const journal = yield* RunJournal
      yield* journal.attemptStarted("ghost", { id: "a", attempt: 1, label: Option.none(), at: 0 })
      yield* journal.itemFinished("ghost", result("a", "succeeded"))
      assert.isTrue(Option.isNone(yield* journal.status(Option.some("ghost"))))
    }).pipe(Effect.provide(RunJournal.layerMemory)))

  it.effect("each layer is a journal of its own", () =>
    Effect.gen(function*() {
      yield* Effect.scoped(Effect.flatMap(RunJournal, (j) => j.open({ runId: "r", description: "d", fresh: false })))
        .pipe(
          Effect.provide(RunJournal.layerMemory)
        )
      const elsewhere = yield* Effect.flatMap(RunJournal, (j) => j.status(Option.some("r"))).pipe(
        Effect.provide(RunJournal.layerMemory)
      )
      assert.isTrue(Option.isNone(elsewhere))
    }))
})
