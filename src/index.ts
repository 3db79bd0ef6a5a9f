/**
 * agentos-parallel: run long, rate-limited workflows many at a time, from Effect code.
 *
 * @since 0.1.0
 */
export { Credential, CredentialPool, CredentialUnavailable, PoolEvent } from "./CredentialPool.js"
export type {
  CredentialInput,
  CredentialPoolOptions,
  CredentialPoolShape,
  CredentialUsage,
  Lease,
  LeaseOptions,
  PoolCondition,
  PoolStats,
  WithCredentialOptions
} from "./CredentialPool.js"
export { InvalidIdentifier, sanitizeIdentifier, showSafely, validatePathComponent, WorkflowId } from "./Identifier.js"
export type { InvalidIdentifierReason } from "./Identifier.js"
export * as MockProvider from "./MockProvider.js"
export { Output } from "./Output.js"
export type { Channel, OutputShape, RecordedLine } from "./Output.js"
export { OutputPrefixer } from "./OutputPrefixer.js"
export { ParallelCoordinator } from "./ParallelCoordinator.js"
export type { ParallelCoordinatorShape } from "./ParallelCoordinator.js"
export { EXIT_RATE_LIMITED, parseRateLimitLine, ProcessFailed, processWorkflow } from "./ProcessRunner.js"
export type { ProcessWorkflowOptions } from "./ProcessRunner.js"
export { ProgressStats } from "./ProgressStats.js"
export { isRateLimited, parseRetryAfter, RateLimited } from "./RateLimited.js"
export type { HeadersLike } from "./RateLimited.js"
export { JournalError, RunJournal } from "./RunJournal.js"
export type {
  AttemptEnd,
  AttemptStart,
  JournalItem,
  JournalItemStatus,
  OpenedRun,
  RunJournalShape,
  RunStatus
} from "./RunJournal.js"
export { CredentialUse, RunSummary } from "./RunSummary.js"
export * as Shutdown from "./Shutdown.js"
export * as SpawnServer from "./SpawnServer.js"
export * as SqliteJournal from "./SqliteJournal.js"
export { CoordinatorEvent } from "./Workflow.js"
export type { RunOptions, Workflow, WorkflowContext } from "./Workflow.js"
export { ItemStatus, WorkflowResult } from "./WorkflowResult.js"
