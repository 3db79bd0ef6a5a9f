/**
 * The consolidated outcome of a run.
 *
 * @since 0.1.0
 */
import * as Schema from "effect/Schema"
import { ProgressStats } from "./ProgressStats.js"
import { WorkflowResult } from "./WorkflowResult.js"

/**
 * How one credential was used in a run.
 *
 * @since 0.1.0
 * @category models
 */
export class CredentialUse extends Schema.Class<CredentialUse>("CredentialUse")({
  label: Schema.String,
  /** Leases (item starts) on this credential. */
  leases: Schema.Int,
  /** 429s reported on it. */
  rateLimits: Schema.Int,
  /** Total time it spent cooling (JSON: milliseconds). */
  cooling: Schema.DurationFromMillis,
  /** Requests sent upstream on it (gateway mode only). */
  requests: Schema.optional(Schema.Int),
  /** Tokens its answers reported (gateway mode only). */
  tokens: Schema.optional(Schema.Int),
  /** At the end of the run (gateway mode only). */
  state: Schema.optional(Schema.Literal("ok", "cooling", "exhausted"))
}) {}

/**
 * A run's summary. `results` is empty when the run was asked not to keep one result per item.
 * `overhead` is the share (0–1) of the time items held a concurrency slot that was spent neither
 * in the workflow nor waiting for a credential: the coordinator's own cost.
 *
 * @since 0.1.0
 * @category models
 */
export class RunSummary extends Schema.Class<RunSummary>("RunSummary")({
  runId: Schema.String,
  stats: ProgressStats,
  results: Schema.Array(WorkflowResult),
  credentials: Schema.Array(CredentialUse),
  startedAt: Schema.DateTimeUtc,
  duration: Schema.DurationFromMillis,
  interrupted: Schema.Boolean,
  overhead: Schema.Number
}) {}
