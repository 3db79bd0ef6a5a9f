import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import type * as Scope from "effect/Scope"
import { closeSync, constants, openSync, writeSync } from "node:fs"
import type { CoordinatorEvent } from "../Workflow.js"
import type { RunLayout } from "./RunLayout.js"

// Append, create 0600, and never through a symlink planted in the log directory.
const AUDIT_FLAGS = constants.O_WRONLY | constants.O_APPEND | constants.O_CREAT | constants.O_NOFOLLOW

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
 * Appends each item event to `workflow-audit-<id>.jsonl` in the run's log directory. An item's file
 * is opened at its first event and closed at its last (finished), or when the scope closes; the
 * writes are synchronous, a line of a few hundred bytes costing less so than through the thread
 * pool. Events come from one subscriber fiber, one at a time.
 */
export const makeAuditLog = (
  layout: RunLayout,
  mask: (text: string) => string = (text) => text
): Effect.Effect<(event: CoordinatorEvent) => Effect.Effect<void>, never, Scope.Scope> =>
  Effect.map(
    Effect.acquireRelease(
      Effect.sync(() => new Map<string, number>()),
      (open) => Effect.sync(() => open.forEach((fd) => closeQuietly(fd)))
    ),
    (open) => (event) =>
      Effect.sync(() => {
        const entry = auditEntry(event)
        if (Option.isNone(entry)) return
        const [id, text] = entry.value
        try {
          let fd = open.get(id)
          if (fd === undefined) {
            fd = openSync(layout.auditFile(id), AUDIT_FLAGS, 0o600)
            open.set(id, fd)
          }
          writeSync(fd, mask(text))
        } catch {
          // The audit log is a record, not the run: a full disk must not stop the items.
        }
        if (event._tag === "ItemFinished") {
          const fd = open.get(id)
          open.delete(id)
          if (fd !== undefined) closeQuietly(fd)
        }
      })
  )

const closeQuietly = (fd: number) => {
  try {
    closeSync(fd)
  } catch {
    // Already closed: nothing to lose.
  }
}
