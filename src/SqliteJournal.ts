/**
 * The run journal in SQLite (`<state-dir>/journal.db`): WAL, a busy timeout so several runners can
 * share the file, migrations, an integrity check on open, and a per-run lock that frees itself when
 * its holder dies.
 *
 * @since 0.1.0
 */
import * as Reactivity from "@effect/experimental/Reactivity"
import * as FileSystem from "@effect/platform/FileSystem"
import * as Path from "@effect/platform/Path"
import * as SqliteClient from "@effect/sql-sqlite-node/SqliteClient"
import * as Migrator from "@effect/sql/Migrator"
import * as SqlClient from "@effect/sql/SqlClient"
import type * as SqlError from "@effect/sql/SqlError"
import Database from "better-sqlite3"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Queue from "effect/Queue"
import type * as Scope from "effect/Scope"
import { hostname } from "node:os"
import { groupsWithEnvironment, isSameProcessAlive, processStartTime, stopProcessGroup } from "./internal/processes.js"
import { timestampForPath } from "./internal/timestamp.js"
import {
  JournalError,
  type JournalItem,
  type JournalItemStatus,
  RunJournal,
  type RunJournalShape,
  type RunStatus
} from "./RunJournal.js"

const migrations = Migrator.fromRecord({
  "0001_journal": Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    yield* sql`CREATE TABLE runs (
      run_id TEXT PRIMARY KEY,
      description TEXT NOT NULL,
      created_at INTEGER NOT NULL,
      updated_at INTEGER NOT NULL,
      holder_pid INTEGER,
      holder_start TEXT,
      holder_host TEXT,
      last_summary TEXT
    )`
    yield* sql`CREATE TABLE items (
      run_id TEXT NOT NULL,
      id TEXT NOT NULL,
      status TEXT NOT NULL,
      attempts INTEGER NOT NULL DEFAULT 0,
      error TEXT,
      pid INTEGER,
      pid_start TEXT,
      updated_at INTEGER NOT NULL,
      PRIMARY KEY (run_id, id)
    )`
    yield* sql`CREATE TABLE attempts (
      run_id TEXT NOT NULL,
      id TEXT NOT NULL,
      attempt INTEGER NOT NULL,
      label TEXT,
      started_at INTEGER NOT NULL,
      finished_at INTEGER,
      outcome TEXT,
      exit_code INTEGER,
      signal TEXT,
      error TEXT,
      pid INTEGER,
      PRIMARY KEY (run_id, id, attempt)
    )`
  })
})

interface ItemRow {
  readonly id: string
  readonly status: string
  readonly attempts: number
  readonly error: string | null
  readonly pid: number | null
  readonly pid_start: string | null
  readonly updated_at: number
}

interface RunRow {
  readonly run_id: string
  readonly description: string
  readonly created_at: number
  readonly updated_at: number
  readonly holder_pid: number | null
  readonly holder_start: string | null
  readonly holder_host: string | null
}

/** A write waiting for the group commit. */
interface Write {
  readonly statements: Effect.Effect<unknown, SqlError.SqlError>
  readonly done: Deferred.Deferred<void, SqlError.SqlError>
}

const toItem = (row: ItemRow): JournalItem => ({
  id: row.id,
  status: row.status as JournalItemStatus,
  attempts: row.attempts,
  error: Option.fromNullable(row.error),
  pid: Option.fromNullable(row.pid),
  updatedAt: row.updated_at
})

const unavailable = (what: string) => (error: SqlError.SqlError | Migrator.MigrationError) =>
  new JournalError({ reason: "Unavailable", detail: `journal: could not ${what}: ${error.message}` })

/**
 * Checks the file before use; a damaged file is moved aside (with its WAL) and reported.
 */
const checkIntegrity = (filename: string, readOnly: boolean) =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    if (!(yield* Effect.orElseSucceed(fs.exists(filename), () => false))) return
    const problem = yield* Effect.sync((): { readonly corrupt: boolean; readonly detail: string } | undefined => {
      let db: Database.Database | undefined
      try {
        db = new Database(filename, { fileMustExist: true, timeout: 10_000, readonly: readOnly })
        const result = db.pragma("quick_check", { simple: true })
        return result === "ok" ? undefined : { corrupt: true, detail: String(result) }
      } catch (error) {
        const code = (error as { code?: unknown }).code
        return {
          corrupt: code === "SQLITE_CORRUPT" || code === "SQLITE_NOTADB",
          detail: error instanceof Error ? error.message : String(error)
        }
      } finally {
        db?.close()
      }
    })
    if (problem === undefined) return
    if (!problem.corrupt) {
      // Not damage (a lock held too long, permissions, ...): report it and leave the file alone.
      return yield* new JournalError({ reason: "Unavailable", detail: `journal ${filename}: ${problem.detail}` })
    }
    if (readOnly) {
      return yield* new JournalError({
        reason: "Corrupt",
        detail: `journal ${filename} is damaged (${problem.detail}); it was left as it is. ` +
          `A run moves it aside and starts a new journal (earlier progress is then forgotten).`
      })
    }
    const aside = `${filename}.corrupt-${timestampForPath(new Date())}`
    yield* Effect.ignore(fs.rename(filename, aside))
    for (const suffix of ["-wal", "-shm"]) yield* Effect.ignore(fs.rename(filename + suffix, aside + suffix))
    return yield* new JournalError({
      reason: "Corrupt",
      detail: `journal ${filename} is damaged (${problem.detail}); it was moved to ${aside} and nothing ran. ` +
        `Run again to start a new journal (earlier progress is then forgotten), or restore a backup first.`
    })
  })

/**
 * @since 0.1.0
 * @category models
 */
export interface JournalOptions {
  /**
   * Open an existing journal for reading only (`status`, `--dry-run`): nothing is created,
   * migrated or moved aside, and a read-only file is fine. Only `status` is then of use.
   */
  readonly readOnly?: boolean | undefined
}

/**
 * Opens (creating if needed) the journal at `filename` for the life of the scope.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (
  filename: string,
  options: JournalOptions = {}
): Effect.Effect<RunJournalShape, JournalError, Scope.Scope | FileSystem.FileSystem | Path.Path> =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const path = yield* Path.Path
    const readOnly = options.readOnly === true
    if (!readOnly) {
      yield* fs.makeDirectory(path.dirname(filename), { recursive: true }).pipe(
        Effect.mapError((e) => new JournalError({ reason: "Unavailable", detail: `journal: ${e.message}` }))
      )
    }
    yield* checkIntegrity(filename, readOnly)
    const client = yield* SqliteClient.make({ filename, readonly: readOnly }).pipe(
      Effect.provide(Reactivity.layer),
      Effect.mapError(unavailable("open the journal"))
    )
    const sql: SqlClient.SqlClient = client
    yield* sql`PRAGMA busy_timeout = 10000`.pipe(Effect.mapError(unavailable("set a busy timeout")))
    if (!readOnly) {
      yield* sql`PRAGMA synchronous = NORMAL`.pipe(Effect.mapError(unavailable("configure the journal")))
      yield* Migrator.make({})({ loader: migrations }).pipe(
        Effect.provideService(SqlClient.SqlClient, sql),
        Effect.retry({ times: 3 }),
        Effect.mapError(unavailable("migrate the journal"))
      )
    }

    const me = { pid: process.pid, start: processStartTime(process.pid) ?? null, host: hostname() }
    const fail = (what: string) => Effect.mapError(unavailable(what))

    const open: RunJournalShape["open"] = (request) =>
      Effect.acquireRelease(
        Effect.gen(function*() {
          const now = Date.now()
          const claimed = yield* Effect.acquireUseRelease(
            sql`BEGIN IMMEDIATE`,
            () =>
              Effect.gen(function*() {
                const rows = yield* sql<RunRow>`SELECT * FROM runs WHERE run_id = ${request.runId}`
                const held = rows[0]
                if (
                  held !== undefined && held.holder_pid !== null &&
                  (held.holder_host !== me.host || isSameProcessAlive(held.holder_pid, held.holder_start))
                ) {
                  return Option.some(held)
                }
                if (held === undefined) {
                  yield* sql`INSERT INTO runs (run_id, description, created_at, updated_at, holder_pid, holder_start, holder_host)
                    VALUES (${request.runId}, ${request.description}, ${now}, ${now}, ${me.pid}, ${me.start}, ${me.host})`
                } else {
                  yield* sql`UPDATE runs SET holder_pid = ${me.pid}, holder_start = ${me.start}, holder_host = ${me.host},
                    description = ${request.description}, updated_at = ${now} WHERE run_id = ${request.runId}`
                }
                // The run is ours now: attempts still open were left by a runner that died.
                yield* sql`UPDATE attempts SET finished_at = ${now}, outcome = 'lost'
                  WHERE run_id = ${request.runId} AND finished_at IS NULL`
                if (request.fresh) {
                  yield* sql`DELETE FROM items WHERE run_id = ${request.runId}`
                  yield* sql`DELETE FROM attempts WHERE run_id = ${request.runId}`
                }
                for (const id of request.items ?? []) {
                  yield* sql`INSERT OR IGNORE INTO items (run_id, id, status, attempts, updated_at)
                    VALUES (${request.runId}, ${id}, 'pending', 0, ${now})`
                }
                return Option.none<RunRow>()
              }),
            (_, exit) => (exit._tag === "Success" ? sql`COMMIT` : sql`ROLLBACK`).pipe(Effect.ignore)
          ).pipe(fail("open the run"))
          if (Option.isSome(claimed)) {
            return yield* new JournalError({
              reason: "RunLocked",
              detail: `run ${request.runId} is being run by another runner (pid ${claimed.value.holder_pid} on ${
                claimed.value.holder_host ?? "this host"
              }); nothing ran. Wait for it to finish or stop it, then run again.`
            })
          }
          const rows = yield* sql<ItemRow>`SELECT * FROM items WHERE run_id = ${request.runId}`.pipe(
            fail("read the run")
          )
          const recovered = rows.filter((row) => row.status === "running")
          // The recorded process, and any process of the item the runner died before recording
          // (found by the environment every child gets), all at once.
          yield* Effect.forEach(recovered, (row) => {
            const unrecorded = groupsWithEnvironment(
              [`AGENTOS_RUN_ID=${request.runId}`, `AGENTOS_ITEM_ID=${row.id}`],
              ["AGENTOS_WORKFLOW_DB", path.dirname(filename) + path.sep]
            ).filter((group) => group !== row.pid)
            return Effect.all([
              row.pid === null ? Effect.void : stopProcessGroup(row.pid, row.pid_start, "2 seconds"),
              ...unrecorded.map((group) => stopProcessGroup(group, null, "2 seconds"))
            ], { concurrency: "unbounded", discard: true })
          }, { concurrency: "unbounded", discard: true })
          return {
            runId: request.runId,
            items: new Map(rows.map((row) => [row.id, toItem(row)])),
            recovered: recovered.map(toItem)
          }
        }),
        () =>
          sql`UPDATE runs SET holder_pid = NULL, holder_start = NULL, holder_host = NULL, updated_at = ${Date.now()}
            WHERE run_id = ${request.runId} AND holder_pid = ${me.pid}`.pipe(Effect.ignore)
      )

    const touchItem = (runId: string, id: string, status: JournalItemStatus, attempts: number, now: number) =>
      sql`INSERT INTO items (run_id, id, status, attempts, updated_at) VALUES (${runId}, ${id}, ${status}, ${attempts}, ${now})
        ON CONFLICT (run_id, id) DO UPDATE SET status = excluded.status, attempts = max(items.attempts, excluded.attempts),
        pid = NULL, pid_start = NULL, updated_at = excluded.updated_at`

    // Group commit: the writes of items running at the same time share one transaction, committed by
    // one writer fiber. Each caller still waits for the commit of its own write, so the journal never
    // lags behind what it was told (a start is recorded before its child is spawned). A write that
    // fails rolls back, and fails, the writes of its batch.
    const writes = yield* Queue.unbounded<Write>()
    yield* Effect.forkScoped(Effect.forever(
      Effect.flatMap(Queue.takeBetween(writes, 1, Number.MAX_SAFE_INTEGER), (batch) =>
        Effect.flatMap(
          Effect.exit(sql.withTransaction(Effect.forEach(batch, (write) => write.statements, { discard: true }))),
          (exit) => Effect.forEach(batch, (write) => Deferred.done(write.done, exit), { discard: true })
        ))
    ))
    const committed = (statements: Effect.Effect<unknown, SqlError.SqlError>) =>
      Effect.flatMap(
        Deferred.make<void, SqlError.SqlError>(),
        (done) => Effect.zipRight(Queue.offer(writes, { statements, done }), Deferred.await(done))
      )

    const shape: RunJournalShape = {
      open,
      attemptStarted: (runId, start) =>
        committed(Effect.zipRight(
          sql`INSERT OR REPLACE INTO attempts (run_id, id, attempt, label, started_at)
            VALUES (${runId}, ${start.id}, ${start.attempt}, ${Option.getOrNull(start.label)}, ${start.at})`,
          touchItem(runId, start.id, "running", start.attempt, start.at)
        )).pipe(fail("record a start")),
      attemptProcess: (runId, id, attempt, pid) => {
        const pidStart = processStartTime(pid) ?? null
        return committed(Effect.zipRight(
          sql`UPDATE attempts SET pid = ${pid} WHERE run_id = ${runId} AND id = ${id} AND attempt = ${attempt}`,
          sql`UPDATE items SET pid = ${pid}, pid_start = ${pidStart} WHERE run_id = ${runId} AND id = ${id}`
        )).pipe(fail("record a process"))
      },
      attemptFinished: (runId, end) =>
        committed(
          sql`UPDATE attempts SET finished_at = ${end.at}, outcome = ${end.outcome},
          exit_code = ${Option.getOrNull(end.exitCode)}, signal = ${Option.getOrNull(end.signal)},
          error = ${Option.getOrNull(end.error)}
          WHERE run_id = ${runId} AND id = ${end.id} AND attempt = ${end.attempt}`
        ).pipe(fail("record an attempt")),
      itemFinished: (runId, result) =>
        result.status === "skipped" ?
          Effect.void :
          committed(
            sql`INSERT INTO items (run_id, id, status, attempts, error, updated_at)
          VALUES (${runId}, ${result.id}, ${result.status}, ${result.attempts}, ${result.error ?? null}, ${Date.now()})
          ON CONFLICT (run_id, id) DO UPDATE SET status = excluded.status,
          attempts = max(items.attempts, excluded.attempts), error = excluded.error, pid = NULL, pid_start = NULL,
          updated_at = excluded.updated_at`
          ).pipe(fail("record a result")),
      runFinished: (runId, summary) =>
        sql`UPDATE runs SET last_summary = ${
          JSON.stringify({ stats: summary.stats, interrupted: summary.interrupted })
        },
          updated_at = ${Date.now()} WHERE run_id = ${runId}`.pipe(Effect.asVoid, fail("record the summary")),
      status: (runId) =>
        Effect.gen(function*() {
          const runs = Option.isSome(runId)
            ? yield* sql<RunRow>`SELECT * FROM runs WHERE run_id = ${runId.value}`
            : yield* sql<RunRow>`SELECT * FROM runs ORDER BY updated_at DESC LIMIT 1`
          const run = runs[0]
          if (run === undefined) return Option.none<RunStatus>()
          const items = yield* sql<ItemRow>`SELECT * FROM items WHERE run_id = ${run.run_id} ORDER BY rowid`
          const active = run.holder_pid !== null &&
            (run.holder_host !== me.host || isSameProcessAlive(run.holder_pid, run.holder_start))
          return Option.some<RunStatus>({
            runId: run.run_id,
            description: run.description,
            createdAt: run.created_at,
            updatedAt: run.updated_at,
            active,
            holder: active ? Option.some({ pid: run.holder_pid!, host: run.holder_host ?? me.host }) : Option.none(),
            items: items.map(toItem)
          })
        }).pipe(fail("read the journal"))
    }
    return shape
  })

/**
 * The SQLite journal as a layer.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (filename: string): Layer.Layer<RunJournal, JournalError, FileSystem.FileSystem | Path.Path> =>
  Layer.scoped(RunJournal, make(filename))
