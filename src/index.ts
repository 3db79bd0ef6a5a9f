/**
 * agentos-parallel: run long, rate-limited workflows many at a time, from Effect code.
 *
 * The package root is the core (identifiers, the credential pool, the coordinator, rate-limit
 * errors, the prefixer, shutdown): it loads no SQLite, child-process or HTTP code. The rest comes
 * from subpaths: `agentos-parallel/sqlite` (the SQLite journal), `agentos-parallel/process`
 * (command workflows and the spawn server), `agentos-parallel/testing` (the mock provider).
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
export { Output } from "./Output.js"
export type { Channel, OutputShape, RecordedLine } from "./Output.js"
export { OutputPrefixer } from "./OutputPrefixer.js"
export { ParallelCoordinator } from "./ParallelCoordinator.js"
export type { ParallelCoordinatorShape } from "./ParallelCoordinator.js"
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
export { CoordinatorEvent } from "./Workflow.js"
export type { RunOptions, Workflow, WorkflowContext } from "./Workflow.js"
export { ItemStatus, WorkflowResult } from "./WorkflowResult.js"
