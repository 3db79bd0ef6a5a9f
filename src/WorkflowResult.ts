/**
 * What became of one item.
 *
 * @since 0.1.0
 */
import * as Schema from "effect/Schema"

/**
 * - `succeeded`: the workflow finished.
 * - `failed`: every attempt allowed by `retries` failed.
 * - `interrupted`: a shutdown stopped it (or it never started before the shutdown).
 * - `skipped`: an earlier run of the same name already finished it.
 *
 * @since 0.1.0
 * @category models
 */
export const ItemStatus = Schema.Literal("succeeded", "failed", "interrupted", "skipped")

/**
 * @since 0.1.0
 * @category models
 */
export type ItemStatus = typeof ItemStatus.Type

/**
 * The result of one item. `attempts` counts every start, including restarts after a rate limit;
 * `rateLimits` counts those restarts. `duration` is from the first start to the end (JSON: milliseconds).
 *
 * @since 0.1.0
 * @category models
 */
export class WorkflowResult extends Schema.Class<WorkflowResult>("WorkflowResult")({
  id: Schema.String,
  status: ItemStatus,
  attempts: Schema.Int,
  rateLimits: Schema.Int,
  duration: Schema.DurationFromMillis,
  error: Schema.optional(Schema.String),
  credentialLabels: Schema.Array(Schema.String),
  /** Requests the item made through the gateway (gateway mode only). */
  requests: Schema.optional(Schema.Int),
  /** Tokens those requests used, as the answers reported (gateway mode only). */
  tokens: Schema.optional(Schema.Int)
}) {}
