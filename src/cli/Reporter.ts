import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import type { CredentialPoolShape, PoolEvent, PoolStats } from "../CredentialPool.js"
import { paint } from "../internal/ansi.js"
import { formatInstant, formatShort } from "../internal/durationText.js"
import { Output } from "../Output.js"
import type { CoordinatorEvent } from "../Workflow.js"

/**
 * Decides which pool changes get a `[COORDINATOR]` message. A message is printed once per change
 * of what the waiters wait for: "exhausted" once (not again each time the last waiter is served
 * and the next one queues), "all cooling" each time every key is cooling, and "available again"
 * only after a cooling pause.
 */
export const makePoolNarrator = (total: number) => {
  let lastSaid: "Exhausted" | "AllCooling" | "Available" = "Available"
  return (event: PoolEvent, now: number): Option.Option<string> => {
    if (event._tag === "RateLimited") {
      return Option.some(
        `${event.label} rate limited: cooling for ${formatShort(event.cooldownMillis)} (until ${
          formatInstant(event.until, now)
        } UTC)`
      )
    }
    if (event._tag !== "ConditionChanged") return Option.none()
    switch (event.condition) {
      case "Exhausted":
        if (lastSaid === "Exhausted") return Option.none()
        lastSaid = "Exhausted"
        return Option.some(
          `Credential pool exhausted: all ${total} credentials leased or cooling, ${event.waiting} item${
            event.waiting === 1 ? "" : "s"
          } waiting`
        )
      case "AllCooling":
        lastSaid = "AllCooling"
        return Option.some(
          `All ${total} credentials cooling: pausing until ${
            Option.match(event.nextDeadline, {
              onNone: () => "one is free",
              onSome: (at) => `${formatInstant(at, now)} UTC (in ${formatShort(Math.max(0, at - now))})`
            })
          }`
        )
      case "Available":
        if (lastSaid !== "AllCooling") return Option.none()
        lastSaid = "Available"
        return Option.some("A credential cooled down: resuming")
    }
  }
}

/** The `[COORDINATOR]` message for a run event, if it deserves one. */
export const runMessage = (event: CoordinatorEvent): Option.Option<string> => {
  switch (event._tag) {
    case "RunStarted": {
      const notes: Array<string> = []
      if (event.alreadySucceeded > 0) notes.push(`${event.alreadySucceeded} already succeeded (skipped)`)
      if (event.recovered.length > 0) {
        notes.push(
          `${event.recovered.length} left running by a runner that died (${
            event.recovered.join(", ")
          }): their processes were stopped and they run again`
        )
      }
      return notes.length === 0
        ? Option.none()
        : Option.some(`Resuming run ${event.runId}: ${notes.join("; ")}`)
    }
    case "ItemRetrying":
      return Option.some(`${event.id} failed (${event.error}); retrying as attempt ${event.attempt}`)
    case "ItemFinished":
      return event.result.status === "failed"
        ? Option.some(`${event.result.id} failed: ${event.result.error ?? "unknown error"}`)
        : Option.none()
    case "ShutdownStarted":
      return Option.some(`Shutting down... waiting for workers to checkpoint (${formatShort(event.grace)})`)
    case "ShutdownForced":
      return Option.some("Second interrupt: stopping every worker now")
    case "ShutdownStopping":
      return Option.some(`Stopping ${event.running} item${event.running === 1 ? "" : "s"} still running`)
    default:
      return Option.none()
  }
}

/** Counters the progress line shows, folded from run events. */
export interface Progress {
  started: boolean
  total: number
  completed: number
  running: number
  failed: number
}

export const emptyProgress = (): Progress => ({ started: false, total: 0, completed: 0, running: 0, failed: 0 })

export const foldProgress = (progress: Progress, event: CoordinatorEvent): void => {
  switch (event._tag) {
    case "RunStarted":
      progress.started = true
      progress.total = Option.getOrElse(event.total, () => progress.total)
      return
    case "ItemStarted":
      if (event.attempt === 1) progress.running++
      return
    case "ItemFinished":
      progress.completed++
      if (event.result.attempts > 0) progress.running = Math.max(0, progress.running - 1)
      if (event.result.status === "failed") progress.failed++
      return
    default:
      return
  }
}

/** `[=====>    ] 5/10 complete · 3 running · 1 failed · keys: 1 free, 2 cooling (next in 37s)` */
export const renderProgress = (
  progress: Progress,
  pool: Option.Option<PoolStats>,
  now: number,
  color = false,
  width = 20
): string => {
  const c = paint(color)
  const ratio = progress.total === 0 ? 0 : Math.min(1, progress.completed / progress.total)
  const filled = Math.round(ratio * width)
  const bar = filled === 0
    ? " ".repeat(width)
    : "=".repeat(filled - 1) + (filled === width ? "=" : ">") + " ".repeat(width - filled)
  const failed = `${progress.failed} failed`
  const parts = [
    `[${c.green(bar)}] ${progress.completed}/${progress.total} complete`,
    `${progress.running} running`,
    progress.failed > 0 ? c.red(failed) : failed
  ]
  if (Option.isSome(pool)) {
    const s = pool.value
    const next = Option.match(s.nextDeadline, {
      onNone: () => "",
      onSome: (at) => ` (next in ${formatShort(Math.max(0, at - now))})`
    })
    const cooling = `${s.rateLimited} cooling${next}`
    parts.push(`keys: ${s.available} free, ${s.rateLimited > 0 ? c.yellow(cooling) : cooling}`)
  }
  return parts.join(" · ")
}

/** Redraws the progress line (terminal only) from the current counters and pool. */
export const drawProgress = (progress: Progress, pool: Option.Option<CredentialPoolShape>) =>
  Effect.gen(function*() {
    const output = yield* Output
    if (!output.interactive || !progress.started) return
    const stats = Option.isSome(pool) ? Option.some(yield* pool.value.stats) : Option.none()
    yield* output.status(Option.some(renderProgress(progress, stats, Date.now(), output.color)))
  })

export const clearProgress = Effect.flatMap(Output, (output) => output.status(Option.none()))
