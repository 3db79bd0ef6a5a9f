/**
 * Counters of a run, cheap enough to keep for a million items.
 *
 * @since 0.1.0
 */
import * as Schema from "effect/Schema"
import type { ItemStatus } from "./WorkflowResult.js"

/**
 * How far a run has come. `completed` is every item that reached a final status.
 *
 * @since 0.1.0
 * @category models
 */
export class ProgressStats extends Schema.Class<ProgressStats>("ProgressStats")({
  total: Schema.Int,
  completed: Schema.Int,
  succeeded: Schema.Int,
  failed: Schema.Int,
  interrupted: Schema.Int,
  skipped: Schema.Int,
  running: Schema.Int
}) {
  /**
   * No item seen yet.
   *
   * @since 0.1.0
   */
  static readonly empty = new ProgressStats({
    total: 0,
    completed: 0,
    succeeded: 0,
    failed: 0,
    interrupted: 0,
    skipped: 0,
    running: 0
  })

  /**
   * These stats with one more item finished in `status`.
   *
   * @since 0.1.0
   */
  withFinished(status: ItemStatus): ProgressStats {
    return new ProgressStats({ ...this, completed: this.completed + 1, [status]: this[status] + 1 })
  }
}
