/**
 * What a run is made of, as its callers see it: the workflow and what it is given for each start,
 * the options of a run, and the events a run publishes.
 *
 * @since 0.1.0
 */
import * as Data from "effect/Data"
import type * as Duration from "effect/Duration"
import type * as Effect from "effect/Effect"
import type * as Option from "effect/Option"
import type { Credential } from "./CredentialPool.js"
import type { WorkflowId } from "./Identifier.js"
import type { RunSummary } from "./RunSummary.js"
import type * as Shutdown from "./Shutdown.js"
import type { WorkflowResult } from "./WorkflowResult.js"

/**
 * What a workflow is given for one start of one item.
 *
 * @since 0.1.0
 * @category models
 */
export interface WorkflowContext {
  readonly id: WorkflowId
  /** 1 for the first start of the item; counts every start, rate-limit restarts included. */
  readonly attempt: number
  /** The leased credential, when a `CredentialPool` is provided. */
  readonly credential: Option.Option<Credential>
  readonly runId: string
  /** Completes when a graceful shutdown begins: checkpoint and stop. */
  readonly stopping: Effect.Effect<void>
  /** Completes when the shutdown is forced: stop at once. */
  readonly forced: Effect.Effect<void>
}

/**
 * A workflow: the work for one item. Fail with {@link RateLimited} to have the credential cooled
 * and the item restarted on another; any other failure is a failed attempt.
 *
 * @since 0.1.0
 * @category models
 */
export type Workflow<E, R> = (context: WorkflowContext) => Effect.Effect<unknown, E, R>

/**
 * @since 0.1.0
 * @category models
 */
export interface RunOptions {
  /** Items in flight. @default 3 */
  readonly concurrency?: number | undefined
  /** Cap on `concurrency`; a larger request is capped with a warning. @default 10 */
  readonly maxParallel?: number | undefined
  /** Extra attempts for a failed item (rate limits never count). @default 0 */
  readonly retries?: number | undefined
  /** First delay of the exponential, jittered backoff between failed attempts. @default "1 second" */
  readonly retryDelay?: Duration.DurationInput | undefined
  /** Limit for each start of an item; past it the start is interrupted and counts as failed. @default none */
  readonly timeout?: Duration.DurationInput | undefined
  /** How long running items may go on after a shutdown begins. @default "5 seconds" */
  readonly grace?: Duration.DurationInput | undefined
  /** Shutdown requests (e.g. from signals). Interrupting `run` also starts a graceful shutdown. */
  readonly shutdown?: Shutdown.Shutdown | undefined
  /** Keep one `WorkflowResult` per item in the summary; `false` keeps counters only. @default true */
  readonly keepResults?: boolean | undefined
  /** The run's identity in the `RunJournal` (when one is provided): items it finished are skipped. @default a new id */
  readonly runId?: string | undefined
  /** A human description of the run, for the journal. */
  readonly description?: string | undefined
  /** Forget the journal's memory of this run first. @default false */
  readonly fresh?: boolean | undefined
  /** Cooldown and restart delay for a {@link RateLimited} without retry-after when no pool is provided. @default "60 seconds" */
  readonly backoff?: Duration.DurationInput | undefined
}

/**
 * Something that happened in a run.
 *
 * @since 0.1.0
 * @category models
 */
export type CoordinatorEvent = Data.TaggedEnum<{
  RunStarted: {
    readonly runId: string
    readonly concurrency: number
    readonly total: Option.Option<number>
    /** Items an earlier run of this id already finished (they are skipped). */
    readonly alreadySucceeded: number
    /** Items an earlier runner left running when it died; they run again. */
    readonly recovered: ReadonlyArray<string>
  }
  ItemStarted: { readonly id: string; readonly attempt: number; readonly label: Option.Option<string> }
  ItemRateLimited: {
    readonly id: string
    readonly attempt: number
    readonly label: Option.Option<string>
    readonly retryAfter: Option.Option<Duration.Duration>
  }
  ItemRetrying: { readonly id: string; readonly attempt: number; readonly error: string }
  ItemFinished: { readonly result: WorkflowResult }
  ShutdownStarted: { readonly running: number; readonly grace: Duration.Duration }
  ShutdownForced: {}
  /** The grace is over (or was skipped): the items still running are being stopped. */
  ShutdownStopping: { readonly running: number }
  RunFinished: { readonly summary: RunSummary }
}>

/**
 * @since 0.1.0
 * @category constructors
 */
export const CoordinatorEvent = Data.taggedEnum<CoordinatorEvent>()
