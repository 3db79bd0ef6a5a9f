import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import { appendFileSync } from "node:fs"
import type { CoordinatorEvent } from "../ParallelCoordinator.js"
import type { RunLayout } from "./RunLayout.js"

const line = (fields: Record<string, unknown>) => JSON.stringify({ ...fields, time: new Date().toISOString() }) + "\n"

/** The audit line for an event, with the item it belongs to; `None` for run-level events. */
const auditEntry = (event: CoordinatorEvent): Option.Option<readonly [string, string]> => {
  switch (event._tag) {
    case "ItemStarted":
      return Option.some([
        event.id,
        line({
          event: "started",
          id: event.id,
          attempt: event.attempt,
          label: Option.getOrNull(event.label)
        })
      ])
    case "ItemRateLimited":
      return Option.some([
        event.id,
        line({
          event: "rate-limited",
          id: event.id,
          attempt: event.attempt,
          label: Option.getOrNull(event.label),
          retryAfterMs: Option.getOrNull(Option.map(event.retryAfter, Duration.toMillis))
        })
      ])
    case "ItemRetrying":
      return Option.some([
        event.id,
        line({ event: "retried", id: event.id, attempt: event.attempt, error: event.error })
      ])
    case "ItemFinished": {
      const r = event.result
      return Option.some([
        r.id,
        line({
          event: "finished",
          id: r.id,
          status: r.status,
          attempt: r.attempts,
          attempts: r.attempts,
          label: r.credentialLabels.at(-1) ?? null,
          durationMs: Duration.toMillis(r.duration),
          error: r.error ?? null
        })
      ])
    }
    default:
      return Option.none()
  }
}

/**
 * Appends each item event to `workflow-audit-<id>.jsonl` in the run's log directory. The append is
 * synchronous: a line of a few hundred bytes costs less CPU written at once than through
 * FileSystem's three thread-pool round trips (open, write, close).
 */
export const writeAudit = (layout: RunLayout) => (event: CoordinatorEvent): Effect.Effect<void> =>
  Effect.sync(() => {
    const entry = auditEntry(event)
    if (Option.isNone(entry)) return
    try {
      appendFileSync(layout.auditFile(entry.value[0]), entry.value[1])
    } catch {
      // The audit log is a record, not the run: a full disk must not stop the items.
    }
  })
