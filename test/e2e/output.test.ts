// SPEC "Console": whole prefixed lines on the stream they were written to, never mixed; blank
// lines kept; a last unterminated line printed; big outputs drained; --json.
import { spawnSync } from "node:child_process"
import * as fs from "node:fs"
import * as path from "node:path"
import { describe, expect, it } from "vitest"
import {
  expectExit,
  explain,
  fixture,
  latestRunLogDir,
  lines,
  linesOf,
  nodeFixture,
  parseJson,
  parsePrefixed,
  statusesIn,
  stripAnsi,
  useSandboxes
} from "./harness.js"

const sandbox = useSandboxes()

const expectedPartialLines = (id: string): { stdout: Array<string>; stderr: Array<string> } => {
  const r = spawnSync(process.execPath, [fixture("partial-lines.mjs"), "--expect", id], { encoding: "utf8" })
  return JSON.parse(r.stdout) as { stdout: Array<string>; stderr: Array<string> }
}

describe("run: output", () => {
  it("prints children's partial writes as whole prefixed lines, per stream, never mixed", async () => {
    const sb = sandbox()
    const ids = ["pl-1", "pl-2", "pl-3", "pl-4"]
    const r = await sb.run([...ids.flatMap((id) => ["--item", id]), "-p", "4"], nodeFixture("partial-lines.mjs"))
    expectExit(r, 0)

    // stdout: nothing but prefixed lines of these items
    for (const line of lines(r.stdout)) {
      const parsed = parsePrefixed(line)
      expect(parsed, `stdout line ${JSON.stringify(line)} is prefixed`).toBeDefined()
      expect(ids, `stdout line ${JSON.stringify(line)}`).toContain(parsed!.id)
    }
    const stderr = stripAnsi(r.stderr)
    for (const id of ids) {
      const expected = expectedPartialLines(id)
      // every line whole, in order, blank line kept, the unterminated last line printed
      expect(linesOf(r.stdout, id), `stdout of ${id}`).toEqual(expected.stdout)
      expect(linesOf(stderr, id), `stderr of ${id}`).toEqual(expected.stderr)
    }
    // NO_COLOR is set by the harness: no escape sequences anywhere
    expect(r.stdout.includes("\u001b["), "ANSI escapes on stdout").toBe(false)
    expect(r.stderr.includes("\u001b["), "ANSI escapes on stderr despite NO_COLOR").toBe(false)
    // the blank line is printed as the bare prefix
    expect(lines(r.stdout).filter((l) => /^\[pl-1\] ?$/.test(l))).toHaveLength(1)
  })

  it("writes each item's full output, unprefixed, to logs/parallel/<timestamp>/<id>.log", async () => {
    const sb = sandbox()
    const r = await sb.run(["--item", "log-1"], nodeFixture("partial-lines.mjs"))
    expectExit(r, 0)
    const log = fs.readFileSync(path.join(latestRunLogDir(sb.stateDir), "log-1.log"), "utf8")
    const logLines = lines(log)
    const expected = expectedPartialLines("log-1")
    for (const line of [...expected.stdout, ...expected.stderr].filter((l) => l !== "")) {
      expect(logLines, `log contains ${JSON.stringify(line)}`).toContain(line)
    }
    expect(logLines.filter((l) => l.startsWith("[log-1]")), "log lines are not prefixed").toEqual([])
  })

  it("drains big outputs (2 × 25 MB on stdout plus stderr) without stalling", async () => {
    const sb = sandbox()
    const megabytes = 25
    const linesPerItem = Math.floor((megabytes * 1024 * 1024) / 100)
    const ids = ["big-1", "big-2"]
    // check stdout as it streams, without keeping 50 MB around
    const counts = new Map<string, number>(ids.map((id) => [id, 0]))
    const ends: Array<string> = []
    const bad: Array<string> = []
    let rest = ""
    const onLine = (line: string) => {
      const parsed = parsePrefixed(line)
      if (parsed === undefined || !counts.has(parsed.id)) {
        if (bad.length < 5) bad.push(line.slice(0, 200))
        return
      }
      if (parsed.text.startsWith("END ")) ends.push(parsed.text)
      else if (parsed.text.startsWith(`${parsed.id} `) && parsed.text.length === 99) {
        counts.set(parsed.id, counts.get(parsed.id)! + 1)
      } else if (bad.length < 5) bad.push(line.slice(0, 200))
    }
    const started = performance.now()
    const r = await sb.run(
      [...ids.flatMap((id) => ["--item", id]), "-p", "2"],
      nodeFixture("big-output.mjs", String(megabytes)),
      {
        timeoutMs: 45_000,
        captureStdout: false,
        onStdout: (chunk) => {
          const text = rest + chunk.toString("latin1")
          const parts = text.split("\n")
          rest = parts.pop()!
          parts.forEach(onLine)
        }
      }
    )
    if (rest !== "") onLine(rest)
    expectExit(r, 0)
    expect(bad, "unexpected stdout lines").toEqual([])
    for (const id of ids) expect(counts.get(id), `lines of ${id}`).toBe(linesPerItem)
    expect(ends.sort()).toEqual(ids.map((id) => `END ${id} lines=${linesPerItem}`))
    const stderr = stripAnsi(r.stderr)
    for (const id of ids) expect(linesOf(stderr, id)).toContain(`END-ERR ${id}`)
    // generous: the fixture alone writes 50 MB in well under a second
    expect(performance.now() - started, "wall time (ms)").toBeLessThan(40_000)
  })

  it("--json prints only the JSON summary on stdout; item stdout moves to stderr, still prefixed", async () => {
    const sb = sandbox()
    const r = await sb.run(["--item", "j-ok", "--item", "j-bad", "--json"], [fixture("fail-if.sh"), "j-bad"])
    expectExit(r, 1)
    const summary = parseJson(r.stdout, "stdout with --json")
    const statuses = statusesIn(summary)
    expect(statuses.get("j-ok"), explain(r)).toBe("succeeded")
    expect(statuses.get("j-bad"), explain(r)).toBe("failed")
    const stderr = stripAnsi(r.stderr)
    expect(linesOf(stderr, "j-ok")).toContain("ok j-ok")
    expect(linesOf(stderr, "j-bad")).toContain("failing j-bad")
    expect(r.stdout).not.toContain("[j-ok]")
  })
})
