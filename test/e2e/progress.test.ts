// SPEC "Console": on a terminal a progress line stays at the bottom below the scrolling output,
// without tearing it; off a terminal there is no bar; NO_COLOR and FORCE_COLOR are honoured.
// The terminal is a real pseudo-terminal from util-linux `script`.
import { spawn } from "node:child_process"
import { describe, expect, it } from "vitest"
import { cliPath, explain, fixture, stripAnsi, useSandboxes } from "./harness.js"

const sandbox = useSandboxes()

const CLEAR = "\r\x1b[2K"
const PROGRESS =
  /^\[[= >]{20}\] \d+\/4 complete · \d+ running · \d+ failed( · keys: \d+ free, \d+ cooling( \(next in [\dms. ]+\))?)?$/

const HAS_COLOR = /\x1b\[(3\d|2)m/

const shellQuote = (arg: string) => `'${arg.replaceAll("'", "'\\''")}'`

/** Runs the CLI inside a pseudo-terminal; returns everything the terminal received. */
const runInTerminal = (args: ReadonlyArray<string>, env: Record<string, string>, cwd: string) =>
  new Promise<{ code: number | null; screen: string }>((resolve, reject) => {
    const command = [process.execPath, cliPath, ...args].map(shellQuote).join(" ")
    const child = spawn("script", ["-qefc", command, "/dev/null"], { cwd, env: { ...process.env, ...env } })
    let screen = ""
    child.stdout.on("data", (chunk: Buffer) => (screen += chunk.toString("utf8")))
    child.on("error", reject)
    child.on("close", (code) => resolve({ code, screen }))
  })

const itemCommand = [fixture("sleep-then-echo.sh"), "0.4"]

describe("run: progress line", () => {
  it("on a terminal, redraws a progress line below whole, untorn item lines", async () => {
    const sb = sandbox()
    const { code, screen } = await runInTerminal(
      sb.runArgs(["--item", "p-1", "--item", "p-2", "--item", "p-3", "--item", "p-4", "-p", "2"], itemCommand),
      { ...sb.env, NO_COLOR: "1" },
      sb.dir
    )
    expect(code, screen).toBe(0)
    expect(screen).not.toMatch(HAS_COLOR)
    const summaryAt = screen.indexOf("Summary")
    expect(summaryAt, screen).toBeGreaterThan(0)
    // Every redraw starts by clearing the line; what follows a clear is whole item lines (ending
    // in a newline), then at most one progress line, which never has a newline of its own.
    const segments = screen.slice(0, summaryAt).split(CLEAR).slice(1)
    let progressLines = 0
    const itemLines: Array<string> = []
    for (const segment of segments) {
      const parts = segment.split("\n")
      const tail = parts.pop()!
      for (const line of parts) itemLines.push(line.replace(/\r$/, ""))
      if (tail !== "") {
        expect(tail, JSON.stringify(segment)).toMatch(PROGRESS)
        progressLines++
      }
    }
    expect(progressLines).toBeGreaterThan(2)
    expect(screen).toContain("4/4 complete")
    for (const line of itemLines.filter((l) => l !== "")) {
      expect(line, JSON.stringify(screen)).toMatch(/^\[p-[1-4]\] \S/)
    }
    for (const id of ["p-1", "p-2", "p-3", "p-4"]) {
      expect(itemLines.filter((l) => l.startsWith(`[${id}] `)).length, id).toBeGreaterThanOrEqual(2)
    }
  })

  it("colours the terminal output unless NO_COLOR is set", async () => {
    const sb = sandbox()
    const { code, screen } = await runInTerminal(
      sb.runArgs(["--item", "c-1"], itemCommand),
      { ...sb.env, NO_COLOR: "", FORCE_COLOR: "" },
      sb.dir
    )
    expect(code, screen).toBe(0)
    expect(screen).toMatch(HAS_COLOR)
  })

  it("off a terminal there is no progress line, and FORCE_COLOR colours the summary anyway", async () => {
    const sb = sandbox()
    const plain = await sb.run(["--item", "n-1", "--item", "n-2"], itemCommand)
    expect(plain.code, explain(plain)).toBe(0)
    expect(plain.stderr).not.toContain("complete ·")
    expect(plain.stderr).not.toContain("\x1b[2K")
    expect(plain.stderr).not.toMatch(HAS_COLOR)

    const forced = await sb.run(["--item", "f-1"], itemCommand, { env: { FORCE_COLOR: "1" } })
    expect(forced.code, explain(forced)).toBe(0)
    expect(forced.stderr).toMatch(HAS_COLOR)
    expect(forced.stderr).not.toContain("complete ·")
    expect(stripAnsi(forced.stderr)).toMatch(/f-1\s+succeeded/)
  })
})
