/**
 * The run journal: what ran, when, on which credential, and how it ended — the memory that makes
 * "run the same command again" resume. One interface, two implementations: SQLite on disk
 * (`SqliteJournal`) and memory (here).
 *
 * @since 0.1.0
 */
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import type * as Scope from "effect/Scope"
import type { RunSummary } from "./RunSummary.js"
import type { WorkflowResult } from "./WorkflowResult.js"

/**
 * The state of an item in the journal. `running` only lasts while a runner holds the run; an item
 * found `running` when a run is opened was left by a runner that died.
 *
 * @since 0.1.0
 * @category models
 */
export type JournalItemStatus = "pending" | "running" | "succeeded" | "failed" | "interrupted"

/**
 * @since 0.1.0
 * @category models
 */
export interface JournalItem {
  readonly id: string
  readonly status: JournalItemStatus
  readonly attempts: number
  readonly error: Option.Option<string>
  /** Process id of the attempt last started, when one was recorded (for recovery). */
  readonly pid: Option.Option<number>
  readonly updatedAt: number
}

/**
 * A run opened by this runner (held until the scope closes).
 *
 * @since 0.1.0
 * @category models
 */
export interface OpenedRun {
  readonly runId: string
  /** What earlier runs of this name left, by id. */
  readonly items: ReadonlyMap<string, JournalItem>
  /** Items an earlier runner left `running` (it died); they run again. */
  readonly recovered: ReadonlyArray<JournalItem>
}

/**
 * @since 0.1.0
 * @category models
 */
export interface RunStatus {
  readonly runId: string
  readonly description: string
  readonly createdAt: number
  readonly updatedAt: number
  readonly active: boolean
  /** The live runner holding the run, when `active` and known. */
  readonly holder: Option.Option<{ readonly pid: number; readonly host: string }>
  readonly items: ReadonlyArray<JournalItem>
}

/**
 * Why the journal could not do what was asked.
 *
 * - `RunLocked`: another live runner holds this run.
 * - `Corrupt`: the journal file is damaged (it was moved aside; see the detail).
 * - `Unavailable`: the journal could not be read or written.
 *
 * @since 0.1.0
 * @category errors
 */
export class JournalError extends Schema.TaggedError<JournalError>()("JournalError", {
  reason: Schema.Literal("RunLocked", "Corrupt", "Unavailable"),
  detail: Schema.String
}) {
  override get message(): string {
    return this.detail
  }
}

/**
 * @since 0.1.0
 * @category models
 */
export interface AttemptStart {
  readonly id: string
  readonly attempt: number
  readonly label: Option.Option<string>
  readonly at: number
}

/**
 * @since 0.1.0
 * @category models
 */
export interface AttemptEnd {
  readonly id: string
  readonly attempt: number
  readonly outcome: "succeeded" | "failed" | "rate-limited" | "interrupted"
  readonly error: Option.Option<string>
  readonly exitCode: Option.Option<number>
  readonly signal: Option.Option<string>
  readonly at: number
}

/**
 * @since 0.1.0
 * @category models
 */
export interface RunJournalShape {
  /** Opens (creating if new) the run named `runId` and holds it for the scope; `fresh` forgets its past. */
  readonly open: (request: {
    readonly runId: string
    readonly description: string
    readonly fresh: boolean
    /** The run's items when known up front: recorded `pending` unless already known. */
    readonly items?: ReadonlyArray<string> | undefined
  }) => Effect.Effect<OpenedRun, JournalError, Scope.Scope>
  readonly attemptStarted: (runId: string, start: AttemptStart) => Effect.Effect<void, JournalError>
  /** Records the process of a running attempt, so a later runner can stop it after a crash. */
  readonly attemptProcess: (
    runId: string,
    id: string,
    attempt: number,
    pid: number
  ) => Effect.Effect<void, JournalError>
  readonly attemptFinished: (runId: string, end: AttemptEnd) => Effect.Effect<void, JournalError>
  readonly itemFinished: (runId: string, result: WorkflowResult) => Effect.Effect<void, JournalError>
  readonly runFinished: (runId: string, summary: RunSummary) => Effect.Effect<void, JournalError>
  /** The run of this id, or the most recently updated one. */
  readonly status: (runId: Option.Option<string>) => Effect.Effect<Option.Option<RunStatus>, JournalError>
}

interface MemoryRun {
  description: string
  createdAt: number
  updatedAt: number
  held: boolean
  items: Map<string, JournalItem>
}

const emptyItem = (id: string, now: number): JournalItem => ({
  id,
  status: "pending",
  attempts: 0,
  error: Option.none(),
  pid: Option.none(),
  updatedAt: now
})

/**
 * A journal kept in memory for the life of the process.
 *
 * @since 0.1.0
 * @category constructors
 */
export const makeMemory: Effect.Effect<RunJournalShape> = Effect.sync(() => {
  const runs = new Map<string, MemoryRun>()
  const update = (runId: string, id: string, f: (item: JournalItem, now: number) => JournalItem) =>
    Effect.sync(() => {
      const run = runs.get(runId)
      if (run === undefined) return
      const now = Date.now()
      run.items.set(id, f(run.items.get(id) ?? emptyItem(id, now), now))
      run.updatedAt = now
    })
  return {
    open: (request) =>
      Effect.acquireRelease(
        Effect.suspend(() => {
          const now = Date.now()
          const existing = runs.get(request.runId)
          if (existing?.held === true) {
            return Effect.fail(
              new JournalError({
                reason: "RunLocked",
                detail: `run ${request.runId} is already being run by another runner in this process`
              })
            )
          }
          const run: MemoryRun = existing !== undefined && !request.fresh
            ? existing
            : { description: request.description, createdAt: now, updatedAt: now, held: false, items: new Map() }
          run.held = true
          runs.set(request.runId, run)
          for (const id of request.items ?? []) if (!run.items.has(id)) run.items.set(id, emptyItem(id, now))
          const recovered = [...run.items.values()].filter((item) => item.status === "running")
          return Effect.succeed<OpenedRun>({
            runId: request.runId,
            items: new Map([...run.items].filter(([, item]) => item.status !== "pending")),
            recovered
          })
        }),
        () =>
          Effect.sync(() => {
            const run = runs.get(request.runId)
            if (run !== undefined) run.held = false
          })
      ),
    attemptStarted: (runId, start) =>
      update(runId, start.id, (item, now) => ({
        ...item,
        status: "running",
        attempts: Math.max(item.attempts, start.attempt),
        pid: Option.none(),
        updatedAt: now
      })),
    attemptProcess: (runId, id, _attempt, pid) =>
      update(runId, id, (item, now) => ({ ...item, pid: Option.some(pid), updatedAt: now })),
    attemptFinished: (runId, end) =>
      update(runId, end.id, (item, now) => ({ ...item, error: end.error, pid: Option.none(), updatedAt: now })),
    itemFinished: (runId, result) =>
      update(runId, result.id, (item, now) =>
        result.status === "skipped" ? item : {
          ...item,
          status: result.status,
          error: Option.fromNullable(result.error),
          updatedAt: now
        }),
    runFinished: () => Effect.void,
    status: (runId) =>
      Effect.sync(() => {
        const entries = [...runs.entries()]
        const found = Option.match(runId, {
          onNone: () => entries.sort((a, b) => b[1].updatedAt - a[1].updatedAt)[0],
          onSome: (id) => entries.find(([name]) => name === id)
        })
        return Option.map(Option.fromNullable(found), ([name, run]): RunStatus => ({
          runId: name,
          description: run.description,
          createdAt: run.createdAt,
          updatedAt: run.updatedAt,
          active: run.held,
          holder: run.held ? Option.some({ pid: process.pid, host: "this process" }) : Option.none(),
          items: [...run.items.values()]
        }))
      })
  }
})

/**
 * The run journal service: `RunJournal.layerMemory` here, `SqliteJournal.layer` on disk.
 *
 * @since 0.1.0
 * @category tags
 */
export class RunJournal extends Context.Tag("agentos-parallel/RunJournal")<RunJournal, RunJournalShape>() {
  /**
   * A memory journal for the life of the layer.
   *
   * @since 0.1.0
   */
  static readonly layerMemory: Layer.Layer<RunJournal> = Layer.effect(RunJournal, makeMemory)
}
