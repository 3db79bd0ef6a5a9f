import { paint } from "../internal/ansi.js"
import { formatShort } from "../internal/durationText.js"
import type { RunSummary } from "../RunSummary.js"

const visibleLength = (text: string) => text.replace(/\x1b\[[0-9;]*m/g, "").length

const pad = (text: string, width: number) => text + " ".repeat(Math.max(0, width - visibleLength(text)))

const table = (header: ReadonlyArray<string>, rows: ReadonlyArray<ReadonlyArray<string>>): Array<string> => {
  const widths = header.map((h, i) => Math.max(visibleLength(h), ...rows.map((r) => visibleLength(r[i]!))))
  const render = (cells: ReadonlyArray<string>) =>
    cells.map((c, i) => (i === cells.length - 1 ? c : pad(c, widths[i]!))).join("  ").trimEnd()
  return [render(header), render(widths.map((w) => "-".repeat(w))), ...rows.map(render)]
}

const note = (r: RunSummary["results"][number]): string => {
  const parts: Array<string> = []
  if (r.error !== undefined) parts.push(r.error)
  if (r.rateLimits > 0) parts.push(`${r.rateLimits} rate limit${r.rateLimits === 1 ? "" : "s"} absorbed`)
  if (r.credentialLabels.length > 0) parts.push(`keys ${[...new Set(r.credentialLabels)].join(",")}`)
  if (r.requests !== undefined) parts.push(`${r.requests} requests, ${r.tokens ?? 0} tokens`)
  return parts.join("; ")
}

/** The human summary printed on stderr at the end of a run. */
export const renderSummary = (
  summary: RunSummary,
  context: { readonly logDir: string; readonly color: boolean }
): Array<string> => {
  const s = summary.stats
  const c = paint(context.color)
  const statusColor = { succeeded: c.green, failed: c.red, interrupted: c.yellow, skipped: c.dim } as const
  const lines: Array<string> = ["", "Summary"]
  if (summary.results.length > 0) {
    lines.push(...table(
      ["ID", "STATUS", "ATTEMPTS", "DURATION", "NOTE"],
      summary.results.map((r) => [
        r.id,
        statusColor[r.status](r.status),
        String(r.attempts),
        formatShort(r.duration),
        note(r)
      ])
    ))
    lines.push("")
  }
  lines.push(
    `${s.total} items: ${s.succeeded} succeeded, ${s.failed} failed, ${s.interrupted} interrupted, ${s.skipped} skipped` +
      ` in ${formatShort(summary.duration)}`
  )
  if (summary.credentials.some((c) => c.requests !== undefined)) {
    lines.push("")
    lines.push(...table(
      ["CREDENTIAL", "REQUESTS", "429s ABSORBED", "TOKENS", "TIME COOLING", "STATE"],
      summary.credentials.map((c) => [
        c.label,
        String(c.requests ?? 0),
        String(c.rateLimits),
        String(c.tokens ?? 0),
        formatShort(c.cooling),
        c.state ?? "ok"
      ])
    ))
  } else if (summary.credentials.length > 0) {
    lines.push("")
    lines.push(...table(
      ["CREDENTIAL", "ITEMS RUN", "429s", "TIME COOLING"],
      summary.credentials.map((c) => [c.label, String(c.leases), String(c.rateLimits), formatShort(c.cooling)])
    ))
  }
  lines.push("")
  lines.push(`Coordination overhead: ${(summary.overhead * 100).toFixed(1)}% of item slot time`)
  lines.push(`Logs: ${context.logDir}`)
  return lines
}
