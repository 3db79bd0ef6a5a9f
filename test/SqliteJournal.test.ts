// The SQLite run journal on a real file in a scoped temp dir: schema and WAL, what is recorded,
// fresh, the per-run lock between processes (and its pid-reuse guard), recovery of items left
// `running` by a runner that died, corrupt files moved aside, and several processes writing at once.
// Real processes and real time are involved, so the test services (TestClock) are left out.
import * as NodeContext from "@effect/platform-node/NodeContext"
import * as FileSystem from "@effect/platform/FileSystem"
import { assert, layer } from "@effect/vitest"
import Database from "better-sqlite3"
import * as Cause from "effect/Cause"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Option from "effect/Option"
import * as Scope from "effect/Scope"
import { build } from "esbuild"
import { type ChildProcess, spawn } from "node:child_process"
import * as fs from "node:fs"
import { hostname } from "node:os"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { JournalError, type RunJournalShape } from "../src/RunJournal.js"
import * as SqliteJournal from "../src/SqliteJournal.js"
import { WorkflowResult } from "../src/WorkflowResult.js"

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..")

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------

/** A journal file in a fresh temp dir that lives as long as the test's scope. */
const tempJournal = Effect.gen(function*() {
  const fs = yield* FileSystem.FileSystem
  const dir = yield* fs.makeTempDirectoryScoped({ prefix: "sqlite-journal-" })
  return { dir, file: path.join(dir, "journal.db") }
})

/** Opens the journal in a scope of its own, so a test can close it (as a runner ending would). */
const openJournal = (file: string) =>
  Effect.gen(function*() {
    const scope = yield* Scope.make()
    const journal = yield* Scope.extend(SqliteJournal.make(file), scope)
    return { journal, close: Scope.close(scope, Exit.void) }
  })

/** A second connection to the file, straight through better-sqlite3, closed with the scope. */
const rawDb = (file: string) =>
  Effect.acquireRelease(
    Effect.sync(() => new Database(file, { fileMustExist: true, timeout: 10_000 })),
    (db) => Effect.sync(() => db.close())
  )

const result = (id: string, status: WorkflowResult["status"], attempts: number, error?: string) =>
  new WorkflowResult({
    id,
    status,
    attempts,
    rateLimits: 0,
    duration: Duration.millis(10),
    credentialLabels: ["key-1"],
    ...(error === undefined ? {} : { error })
  })

const statusOf = (journal: RunJournalShape, runId: string) =>
  Effect.map(journal.status(Option.some(runId)), (found) => Option.getOrThrowWith(found, () => `no run ${runId}`))

const itemsById = (journal: RunJournalShape, runId: string) =>
  Effect.map(statusOf(journal, runId), (run) => new Map(run.items.map((item) => [item.id, item])))

/** Field 22 of /proc/<pid>/stat: the kernel's start time of the process. */
const startTimeOf = (pid: number): string => {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8")
  return stat.slice(stat.lastIndexOf(")") + 2).split(" ")[19]!
}

/** Alive and not a zombie waiting to be reaped. */
const isLive = (pid: number): boolean => {
  try {
    process.kill(pid, 0)
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM"
  }
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8")
    return stat.slice(stat.lastIndexOf(")") + 2)[0] !== "Z"
  } catch {
    return false
  }
}

/** Waits (up to `ms`) for the pid to be gone; returns whether it is. */
const gone = (pid: number, ms = 5_000) =>
  Effect.gen(function*() {
    const deadline = Date.now() + ms
    while (isLive(pid) && Date.now() < deadline) yield* Effect.sleep("25 millis")
    return !isLive(pid)
  })

/**
 * Starts a process that lives until the test's scope ends (then its whole group is killed).
 * `detached` puts it in a process group of its own, as the runner does with its children.
 */
const spawnProcess = (command: string, args: ReadonlyArray<string>, options: { readonly detached?: boolean } = {}) =>
  Effect.acquireRelease(
    Effect.async<{ child: ChildProcess; pid: number }, Error>((resume) => {
      const child = spawn(command, args, { detached: options.detached ?? false, stdio: ["ignore", "pipe", "ignore"] })
      child.once("error", (error) => resume(Effect.fail(error)))
      child.once("spawn", () => resume(Effect.succeed({ child, pid: child.pid! })))
    }),
    ({ child, pid }) =>
      Effect.sync(() => {
        try {
          if (options.detached === true) process.kill(-pid, "SIGKILL")
          else child.kill("SIGKILL")
        } catch {
          // gone already
        }
      })
  )

/** Kills a child of ours and waits until it has exited (and been reaped: its pid is then free). */
const killAndReap = (child: ChildProcess) =>
  Effect.async<void>((resume) => {
    if (child.exitCode !== null || child.signalCode !== null) return resume(Effect.void)
    child.once("exit", () => resume(Effect.void))
    child.kill("SIGKILL")
  })

/** The first line a child writes on stdout. */
const firstLine = (child: ChildProcess) =>
  Effect.async<string>((resume) => {
    let text = ""
    child.stdout!.on("data", (chunk: Buffer) => {
      text += chunk.toString("utf8")
      const at = text.indexOf("\n")
      if (at >= 0) resume(Effect.succeed(text.slice(0, at)))
    })
  })

/** Makes the run `runId` look held by process `pid` (a row as a runner in that process would write). */
const holdBy = (file: string, runId: string, pid: number, start: string | null, host = hostname()) =>
  Effect.scoped(Effect.flatMap(rawDb(file), (db) =>
    Effect.sync(() => {
      const changed = db.prepare("UPDATE runs SET holder_pid = ?, holder_start = ?, holder_host = ? WHERE run_id = ?")
        .run(pid, start, host, runId)
      assert.strictEqual(changed.changes, 1, `the run ${runId} exists`)
    })))

/** Creates the run and leaves item `id` `running`, with the process `pid` recorded for it, as a runner killed mid-item would. */
const leaveRunning = (file: string, runId: string, id: string, pid: number | undefined) =>
  Effect.gen(function*() {
    const { close, journal } = yield* openJournal(file)
    const scope = yield* Scope.make()
    yield* Scope.extend(journal.open({ runId, description: "crashed run", fresh: false, items: [id] }), scope)
    yield* journal.attemptStarted(runId, { id, attempt: 1, label: Option.some("key-1"), at: Date.now() })
    if (pid !== undefined) yield* journal.attemptProcess(runId, id, 1, pid)
    // The runner "dies": its hold is dropped below, but nothing more is recorded for the item.
    yield* Scope.close(scope, Exit.void)
    yield* close
  })

const expectJournalError = <A, R>(effect: Effect.Effect<A, unknown, R>) =>
  Effect.gen(function*() {
    const exit = yield* Effect.exit(effect)
    if (Exit.isSuccess(exit)) return assert.fail("expected a JournalError, but it succeeded")
    const error = Cause.squash(exit.cause)
    assert.instanceOf(error, JournalError, `expected a JournalError, got ${String(error)}`)
    return error as JournalError
  })

const corruptCopies = (dir: string) => fs.readdirSync(dir).filter((name) => name.startsWith("journal.db.corrupt-"))

// ---------------------------------------------------------------------------------------------

layer(NodeContext.layer, { excludeTestServices: true })("SqliteJournal", (it) => {
  it.scoped("open creates the schema in WAL mode and records the given items as pending", () =>
    Effect.gen(function*() {
      const { file } = yield* tempJournal
      const { journal } = yield* openJournal(file)
      const opened = yield* journal.open({ runId: "r1", description: "first", fresh: false, items: ["a", "b", "c"] })
      assert.strictEqual(opened.runId, "r1")
      assert.deepStrictEqual(opened.recovered, [])
      for (const item of opened.items.values()) assert.strictEqual(item.status, "pending")

      const db = yield* rawDb(file)
      assert.strictEqual(db.pragma("journal_mode", { simple: true }), "wal")
      const tables = db.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").pluck().all() as Array<string>
      for (const table of ["runs", "items", "attempts"]) assert.include(tables, table)

      const run = yield* statusOf(journal, "r1")
      assert.strictEqual(run.description, "first")
      assert.isTrue(run.active, "held while the scope is open")
      assert.deepStrictEqual(run.items.map((i) => [i.id, i.status, i.attempts]), [
        ["a", "pending", 0],
        ["b", "pending", 0],
        ["c", "pending", 0]
      ])
    }))

  it.scoped("records attempts (label, timings, exit code or signal, error, outcome) and item results", () =>
    Effect.gen(function*() {
      const { file } = yield* tempJournal
      const { close, journal } = yield* openJournal(file)
      const scope = yield* Scope.make()
      yield* Scope.extend(journal.open({ runId: "r1", description: "d", fresh: false, items: ["a", "b"] }), scope)

      yield* journal.attemptStarted("r1", { id: "a", attempt: 1, label: Option.some("key-2"), at: 1_000 })
      yield* journal.attemptProcess("r1", "a", 1, process.pid)
      assert.strictEqual((yield* itemsById(journal, "r1")).get("a")?.status, "running")
      assert.deepStrictEqual((yield* itemsById(journal, "r1")).get("a")?.pid, Option.some(process.pid))
      yield* journal.attemptFinished("r1", {
        id: "a",
        attempt: 1,
        outcome: "failed",
        error: Option.some("exited with code 3"),
        exitCode: Option.some(3),
        signal: Option.none(),
        at: 1_500
      })
      yield* journal.attemptStarted("r1", { id: "a", attempt: 2, label: Option.some("key-1"), at: 2_000 })
      yield* journal.attemptFinished("r1", {
        id: "a",
        attempt: 2,
        outcome: "failed",
        error: Option.some("killed by signal SIGKILL"),
        exitCode: Option.none(),
        signal: Option.some("SIGKILL"),
        at: 2_700
      })
      yield* journal.itemFinished("r1", result("a", "failed", 2, "killed by signal SIGKILL"))

      yield* journal.attemptStarted("r1", { id: "b", attempt: 1, label: Option.none(), at: 3_000 })
      yield* journal.attemptFinished("r1", {
        id: "b",
        attempt: 1,
        outcome: "succeeded",
        error: Option.none(),
        exitCode: Option.some(0),
        signal: Option.none(),
        at: 3_100
      })
      yield* journal.itemFinished("r1", result("b", "succeeded", 1))

      const items = yield* itemsById(journal, "r1")
      assert.strictEqual(items.get("a")?.status, "failed")
      assert.strictEqual(items.get("a")?.attempts, 2)
      assert.deepStrictEqual(items.get("a")?.error, Option.some("killed by signal SIGKILL"))
      assert.deepStrictEqual(items.get("a")?.pid, Option.none(), "no process once the item is finished")
      assert.strictEqual(items.get("b")?.status, "succeeded")
      assert.deepStrictEqual(items.get("b")?.error, Option.none())

      const db = yield* rawDb(file)
      const attempts = db.prepare(
        "SELECT id, attempt, label, started_at, finished_at, outcome, exit_code, signal, error, pid FROM attempts WHERE run_id = 'r1' ORDER BY id, attempt"
      ).all()
      assert.deepStrictEqual(attempts, [
        {
          id: "a",
          attempt: 1,
          label: "key-2",
          started_at: 1_000,
          finished_at: 1_500,
          outcome: "failed",
          exit_code: 3,
          signal: null,
          error: "exited with code 3",
          pid: process.pid
        },
        {
          id: "a",
          attempt: 2,
          label: "key-1",
          started_at: 2_000,
          finished_at: 2_700,
          outcome: "failed",
          exit_code: null,
          signal: "SIGKILL",
          error: "killed by signal SIGKILL",
          pid: null
        },
        {
          id: "b",
          attempt: 1,
          label: null,
          started_at: 3_000,
          finished_at: 3_100,
          outcome: "succeeded",
          exit_code: 0,
          signal: null,
          error: null,
          pid: null
        }
      ])

      // status without a name: the most recently updated run
      yield* Effect.sleep("5 millis")
      const other = yield* Scope.make()
      yield* Scope.extend(journal.open({ runId: "r2", description: "later", fresh: false, items: ["z"] }), other)
      assert.strictEqual(Option.getOrThrow(yield* journal.status(Option.none())).runId, "r2")
      assert.isTrue(Option.isNone(yield* journal.status(Option.some("no-such-run"))))
      yield* Scope.close(other, Exit.void)
      yield* Scope.close(scope, Exit.void)

      // everything is still there for the next runner
      yield* close
      const reopened = yield* openJournal(file)
      const again = yield* reopened.journal.open({
        runId: "r1",
        description: "d",
        fresh: false,
        items: ["a", "b", "c"]
      })
      assert.strictEqual(again.items.get("a")?.status, "failed")
      assert.strictEqual(again.items.get("a")?.attempts, 2)
      assert.strictEqual(again.items.get("b")?.status, "succeeded", "known items keep their state")
      assert.strictEqual(again.items.get("c")?.status, "pending", "new items are recorded pending")
      assert.deepStrictEqual(again.recovered, [])
      const run = yield* statusOf(reopened.journal, "r1")
      assert.deepStrictEqual(run.items.map((i) => [i.id, i.status]), [["a", "failed"], ["b", "succeeded"], [
        "c",
        "pending"
      ]])
    }))

  it.scoped("fresh forgets the run's items and attempts (and only that run's)", () =>
    Effect.gen(function*() {
      const { file } = yield* tempJournal
      const { journal } = yield* openJournal(file)
      for (const runId of ["keep", "forget"]) {
        yield* Effect.scoped(Effect.gen(function*() {
          yield* journal.open({ runId, description: runId, fresh: false, items: ["a", "b"] })
          yield* journal.attemptStarted(runId, { id: "a", attempt: 1, label: Option.none(), at: Date.now() })
          yield* journal.itemFinished(runId, result("a", "succeeded", 1))
        }))
      }
      const opened = yield* journal.open({ runId: "forget", description: "again", fresh: true, items: ["b", "c"] })
      assert.deepStrictEqual([...opened.items.values()].map((i) => [i.id, i.status]).sort(), [
        ["b", "pending"],
        ["c", "pending"]
      ])
      assert.deepStrictEqual(opened.recovered, [])
      assert.deepStrictEqual(
        (yield* statusOf(journal, "forget")).items.map((i) => [i.id, i.status, i.attempts]),
        [["b", "pending", 0], ["c", "pending", 0]]
      )
      const db = yield* rawDb(file)
      assert.strictEqual(db.prepare("SELECT count(*) FROM attempts WHERE run_id = 'forget'").pluck().get(), 0)
      assert.strictEqual(db.prepare("SELECT count(*) FROM attempts WHERE run_id = 'keep'").pluck().get(), 1)
      assert.strictEqual((yield* itemsById(journal, "keep")).get("a")?.status, "succeeded")
    }))

  it.scoped("attempts a dead runner left open are closed as lost when the run is opened again", () =>
    Effect.gen(function*() {
      const { file } = yield* tempJournal
      const { journal } = yield* openJournal(file)
      yield* Effect.scoped(Effect.gen(function*() {
        yield* journal.open({ runId: "r", description: "r", fresh: false, items: ["a", "b"] })
        yield* journal.attemptStarted("r", { id: "a", attempt: 1, label: Option.none(), at: 1_000 })
        yield* journal.attemptStarted("r", { id: "b", attempt: 1, label: Option.none(), at: 1_000 })
        yield* journal.attemptFinished("r", {
          id: "b",
          attempt: 1,
          at: 2_000,
          outcome: "succeeded",
          exitCode: Option.some(0),
          signal: Option.none(),
          error: Option.none()
        })
      }))
      yield* journal.open({ runId: "r", description: "r", fresh: false, items: ["a", "b"] })
      const db = yield* rawDb(file)
      const rows = db.prepare("SELECT id, outcome, finished_at IS NOT NULL AS closed FROM attempts ORDER BY id").all()
      assert.deepStrictEqual(rows, [{ id: "a", outcome: "lost", closed: 1 }, {
        id: "b",
        outcome: "succeeded",
        closed: 1
      }])
    }))

  it.scoped("readOnly opens an existing read-only file and leaves a damaged one where it is", () =>
    Effect.gen(function*() {
      const { dir, file } = yield* tempJournal
      yield* Effect.scoped(Effect.gen(function*() {
        const journal = yield* SqliteJournal.make(file)
        yield* Effect.scoped(journal.open({ runId: "r", description: "r", fresh: false, items: ["a"] }))
      }))
      fs.chmodSync(file, 0o400)
      const found = yield* Effect.scoped(
        Effect.flatMap(SqliteJournal.make(file, { readOnly: true }), (j) => j.status(Option.some("r")))
      )
      assert.deepStrictEqual(Option.map(found, (r) => r.items.map((i) => i.id)), Option.some(["a"]))
      fs.chmodSync(file, 0o600)
      fs.writeFileSync(file, Buffer.alloc(4096, 1))
      const failed = yield* Effect.flip(Effect.scoped(SqliteJournal.make(file, { readOnly: true })))
      assert.strictEqual(failed.reason, "Corrupt")
      assert.deepStrictEqual(fs.readdirSync(dir).filter((f) => f.includes("corrupt")), [])
      assert.deepStrictEqual(fs.readFileSync(file), Buffer.alloc(4096, 1))
    }))

  it.scoped("a run held by another live process is refused (RunLocked, naming the run and the holder)", () =>
    Effect.gen(function*() {
      const { file } = yield* tempJournal
      const { journal } = yield* openJournal(file)
      yield* Effect.scoped(journal.open({ runId: "held", description: "d", fresh: false, items: ["a"] }))
      const other = yield* spawnProcess("sleep", ["30"])
      yield* holdBy(file, "held", other.pid, startTimeOf(other.pid))

      const error = yield* expectJournalError(
        Effect.scoped(journal.open({ runId: "held", description: "d", fresh: false, items: ["a"] }))
      )
      assert.strictEqual(error.reason, "RunLocked")
      assert.include(error.message, "held")
      assert.include(error.message, String(other.pid))
      assert.isTrue((yield* statusOf(journal, "held")).active, "status shows the run as being run")
      // the refused open changed nothing
      const db = yield* rawDb(file)
      assert.strictEqual(db.prepare("SELECT holder_pid FROM runs WHERE run_id = 'held'").pluck().get(), other.pid)

      // a holder on another host cannot be checked from here: it is respected
      yield* holdBy(file, "held", 1, null, `not-${hostname()}`)
      const remote = yield* expectJournalError(
        Effect.scoped(journal.open({ runId: "held", description: "d", fresh: false }))
      )
      assert.strictEqual(remote.reason, "RunLocked")
    }))

  it.scoped("the lock frees itself when its holder dies: the next open takes it over", () =>
    Effect.gen(function*() {
      const { file } = yield* tempJournal
      const { journal } = yield* openJournal(file)
      yield* Effect.scoped(journal.open({ runId: "r", description: "d", fresh: false, items: ["a"] }))
      const other = yield* spawnProcess("sleep", ["30"])
      const start = startTimeOf(other.pid)
      yield* holdBy(file, "r", other.pid, start)
      assert.strictEqual(
        (yield* expectJournalError(Effect.scoped(journal.open({ runId: "r", description: "d", fresh: false })))).reason,
        "RunLocked"
      )

      yield* killAndReap(other.child)
      assert.isFalse((yield* statusOf(journal, "r")).active, "a dead holder does not make the run active")
      const scope = yield* Scope.make()
      const opened = yield* Scope.extend(journal.open({ runId: "r", description: "d", fresh: false }), scope)
      assert.strictEqual(opened.runId, "r")
      const db = yield* rawDb(file)
      const holder = () => db.prepare("SELECT holder_pid FROM runs WHERE run_id = 'r'").pluck().get()
      assert.strictEqual(holder(), process.pid, "the new holder is this process")
      assert.isTrue((yield* statusOf(journal, "r")).active)
      yield* Scope.close(scope, Exit.void)
      assert.strictEqual(holder(), null, "released when the scope closes")
      assert.isFalse((yield* statusOf(journal, "r")).active)
    }))

  it.scoped("pid-reuse guard: a live pid whose start time differs from the recorded one is not the holder", () =>
    Effect.gen(function*() {
      const { file } = yield* tempJournal
      const { journal } = yield* openJournal(file)
      yield* Effect.scoped(journal.open({ runId: "r", description: "d", fresh: false }))
      const other = yield* spawnProcess("sleep", ["30"])
      const start = startTimeOf(other.pid)
      yield* holdBy(file, "r", other.pid, String(Number(start) - 100))
      assert.isFalse((yield* statusOf(journal, "r")).active, "the recorded holder is gone (its pid was reused)")
      const opened = yield* Effect.scoped(journal.open({ runId: "r", description: "d", fresh: false }))
      assert.strictEqual(opened.runId, "r")
      assert.isTrue(isLive(other.pid), "the unrelated process that reused the pid is left alone")
    }))

  it.scoped("a second open of a held run in the same process is refused too", () =>
    Effect.gen(function*() {
      const { file } = yield* tempJournal
      const { journal } = yield* openJournal(file)
      yield* journal.open({ runId: "r", description: "d", fresh: false, items: ["a"] })
      const same = yield* expectJournalError(
        Effect.scoped(journal.open({ runId: "r", description: "d", fresh: false, items: ["a"] }))
      )
      assert.strictEqual(same.reason, "RunLocked")
      // nor through a second journal on the same file
      const second = yield* openJournal(file)
      const other = yield* expectJournalError(
        Effect.scoped(second.journal.open({ runId: "r", description: "d", fresh: false, items: ["a"] }))
      )
      assert.strictEqual(other.reason, "RunLocked")
    }))

  it.scoped("recovery: an item left running is reported and its live process group is stopped", () =>
    Effect.gen(function*() {
      const { file } = yield* tempJournal
      // the child of a dead runner: a process group of its own, a shell with a grandchild
      const leftover = yield* spawnProcess("sh", ["-c", "sleep 30 & echo $!; wait"], { detached: true })
      const grandchild = Number(yield* firstLine(leftover.child))
      yield* leaveRunning(file, "r", "a", leftover.pid)

      const { journal } = yield* openJournal(file)
      const opened = yield* journal.open({ runId: "r", description: "d", fresh: false, items: ["a", "b"] })
      assert.deepStrictEqual(opened.recovered.map((i) => [i.id, i.status]), [["a", "running"]])
      assert.deepStrictEqual(opened.recovered[0]?.pid, Option.some(leftover.pid))
      assert.isTrue(yield* gone(leftover.pid), "the leftover process was stopped")
      assert.isTrue(yield* gone(grandchild), "its whole group was stopped")
    }))

  it.scoped("recovery: the group is stopped even when its leader already died", () =>
    Effect.gen(function*() {
      const { file } = yield* tempJournal
      // e.g. a wrapper shell killed by SIGPIPE once the runner's pipes closed, its worker still going
      const leftover = yield* spawnProcess("sh", ["-c", "sleep 30 & echo $!; wait"], { detached: true })
      const grandchild = Number(yield* firstLine(leftover.child))
      yield* leaveRunning(file, "r", "a", leftover.pid)
      yield* killAndReap(leftover.child)
      assert.isTrue(isLive(grandchild))

      const { journal } = yield* openJournal(file)
      const opened = yield* journal.open({ runId: "r", description: "d", fresh: false })
      assert.deepStrictEqual(opened.recovered.map((i) => i.id), ["a"])
      assert.isTrue(yield* gone(grandchild), "the rest of the group was stopped")
    }))

  it.scoped("recovery: a recorded pid now used by an unrelated process (other start time) is not touched", () =>
    Effect.gen(function*() {
      const { file } = yield* tempJournal
      const unrelated = yield* spawnProcess("sleep", ["30"], { detached: true })
      yield* leaveRunning(file, "r", "a", unrelated.pid)
      yield* Effect.scoped(Effect.flatMap(rawDb(file), (db) =>
        Effect.sync(() => {
          db.prepare("UPDATE items SET pid_start = ? WHERE run_id = 'r' AND id = 'a'").run(
            String(Number(startTimeOf(unrelated.pid)) - 100)
          )
        })))
      const { journal } = yield* openJournal(file)
      const opened = yield* journal.open({ runId: "r", description: "d", fresh: false })
      assert.deepStrictEqual(opened.recovered.map((i) => i.id), ["a"], "the item is still recovered (it runs again)")
      yield* Effect.sleep("100 millis")
      assert.isTrue(isLive(unrelated.pid), "the process that reused the pid is left alone")
    }))

  it.scoped("recovery: an item whose process was never recorded (runner died right after spawning) is still stopped", () =>
    Effect.gen(function*() {
      const { dir, file } = yield* tempJournal
      yield* leaveRunning(file, "r", "a", undefined)
      // what the runner's child for item `a` of run `r` carries (SPEC "What each child gets")
      const db = path.join(dir, "checkpoints", "r", "a.db")
      const leftover = yield* spawnProcess(
        "env",
        [`AGENTOS_ITEM_ID=a`, `AGENTOS_RUN_ID=r`, `AGENTOS_WORKFLOW_DB=${db}`, "AGENTOS_ATTEMPT=1", "sleep", "30"],
        { detached: true }
      )
      const { journal } = yield* openJournal(file)
      const opened = yield* journal.open({ runId: "r", description: "d", fresh: false })
      assert.deepStrictEqual(opened.recovered.map((i) => i.id), ["a"])
      assert.isTrue(yield* gone(leftover.pid, 3_000), "the unrecorded leftover of item a was stopped")
    }))

  it.scoped("a journal of garbage bytes: Corrupt, moved aside intact, and the next open starts a new journal", () =>
    Effect.gen(function*() {
      const { dir, file } = yield* tempJournal
      const garbage = Buffer.from(Array.from({ length: 8192 }, (_, i) => (i * 7919 + 13) % 251))
      fs.writeFileSync(file, garbage)

      const error = yield* expectJournalError(openJournal(file))
      assert.strictEqual(error.reason, "Corrupt")
      const aside = corruptCopies(dir)
      assert.strictEqual(aside.length, 1, `moved aside: ${fs.readdirSync(dir).join(", ")}`)
      assert.include(error.message, file)
      assert.include(error.message, aside[0]!)
      assert.isTrue(fs.readFileSync(path.join(dir, aside[0]!)).equals(garbage), "its bytes are intact")
      assert.isFalse(fs.existsSync(file), "nothing was written in its place")

      const { journal } = yield* openJournal(file)
      assert.isTrue(Option.isNone(yield* journal.status(Option.none())), "a new, empty journal")
      yield* Effect.scoped(journal.open({ runId: "r", description: "d", fresh: false, items: ["a"] }))
      assert.strictEqual((yield* statusOf(journal, "r")).items.length, 1)
      assert.isTrue(fs.readFileSync(path.join(dir, aside[0]!)).equals(garbage), "the damaged copy is left as it was")
    }))

  it.scoped("a truncated journal: Corrupt, moved aside intact, never overwritten", () =>
    Effect.gen(function*() {
      const { dir, file } = yield* tempJournal
      const first = yield* openJournal(file)
      const ids = Array.from({ length: 300 }, (_, i) => `item-${i}-${"x".repeat(40)}`)
      for (const runId of ["r1", "r2", "r3"]) {
        yield* Effect.scoped(first.journal.open({ runId, description: runId, fresh: false, items: ids }))
      }
      yield* first.close // the last connection checkpoints the WAL into the file
      assert.isFalse(fs.existsSync(`${file}-wal`) && fs.statSync(`${file}-wal`).size > 0, "WAL checkpointed")
      const whole = fs.readFileSync(file)
      assert.isAbove(whole.length, 64 * 1024)
      const truncated = whole.subarray(0, Math.floor(whole.length / 2))
      fs.writeFileSync(file, truncated)

      const error = yield* expectJournalError(openJournal(file))
      assert.strictEqual(error.reason, "Corrupt")
      const aside = corruptCopies(dir)
      assert.strictEqual(aside.length, 1)
      assert.isTrue(fs.readFileSync(path.join(dir, aside[0]!)).equals(truncated), "its bytes are intact")

      const { journal } = yield* openJournal(file)
      assert.isTrue(Option.isNone(yield* journal.status(Option.some("r1"))))
    }))

  it.scoped("many processes writing to one journal at once: no busy failure, every row present", () =>
    Effect.gen(function*() {
      const { dir, file } = yield* tempJournal
      // The writer, bundled (starting it through a TypeScript loader takes seconds per process).
      fs.symlinkSync(path.join(repoRoot, "node_modules"), path.join(dir, "node_modules"))
      const writer = path.join(dir, "journal-writer.mjs")
      yield* Effect.promise(() =>
        build({
          entryPoints: [path.join(repoRoot, "test", "fixtures", "journal-writer.ts")],
          outfile: writer,
          bundle: true,
          platform: "node",
          format: "esm",
          target: "node20",
          external: ["better-sqlite3"],
          banner: {
            js: "import { createRequire as __cr } from \"node:module\";const require = __cr(import.meta.url);"
          },
          logLevel: "error"
        })
      )
      const processes = 6
      const count = 40
      // every process starts on a journal that does not exist yet: they race to create and migrate it
      const outcomes = yield* Effect.forEach(
        Array.from({ length: processes }, (_, i) => `w${i}`),
        (runId) =>
          Effect.async<{ runId: string; code: number | null; stdout: string; stderr: string }>((resume) => {
            const child = spawn(process.execPath, [writer, file, runId, String(count)], { cwd: dir })
            let stdout = ""
            let stderr = ""
            child.stdout.on("data", (c: Buffer) => (stdout += c.toString()))
            child.stderr.on("data", (c: Buffer) => (stderr += c.toString()))
            child.on("close", (code) => resume(Effect.succeed({ runId, code, stdout, stderr })))
          }),
        { concurrency: "unbounded" }
      )
      for (const outcome of outcomes) {
        assert.strictEqual(outcome.code, 0, `${outcome.runId}: ${outcome.stderr}`)
        assert.include(outcome.stdout, `done ${outcome.runId}`)
        assert.notMatch(outcome.stderr, /SQLITE_BUSY|database is locked/i)
      }

      const db = yield* rawDb(file)
      assert.strictEqual(db.pragma("integrity_check", { simple: true }), "ok")
      const runs = db.prepare("SELECT run_id, holder_pid FROM runs ORDER BY run_id").all()
      assert.deepStrictEqual(runs, Array.from({ length: processes }, (_, i) => ({ run_id: `w${i}`, holder_pid: null })))
      const items = db.prepare(
        "SELECT run_id, count(*) AS n, sum(status = 'succeeded') AS ok, sum(attempts) AS attempts FROM items GROUP BY run_id ORDER BY run_id"
      ).all()
      assert.deepStrictEqual(
        items,
        Array.from({ length: processes }, (_, i) => ({ run_id: `w${i}`, n: count, ok: count, attempts: count }))
      )
      const attempts = db.prepare(
        "SELECT run_id, count(*) AS n, sum(outcome = 'succeeded' AND exit_code = 0 AND finished_at IS NOT NULL) AS ok FROM attempts GROUP BY run_id ORDER BY run_id"
      ).all()
      assert.deepStrictEqual(
        attempts,
        Array.from({ length: processes }, (_, i) => ({ run_id: `w${i}`, n: count, ok: count }))
      )
    }))
})
