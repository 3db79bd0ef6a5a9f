// SPEC "Exit codes" 2 (usage errors, invalid ids: nothing ran, every invalid id listed with its
// reason), the --parallel cap, duration syntax.
import { describe, expect, it } from "vitest"
import {
  expectExit,
  explain,
  fixture,
  lines,
  maxOverlap,
  ranIds,
  readSpans,
  stripAnsi,
  useSandboxes
} from "./harness.js"

const sandbox = useSandboxes()

const noop = [fixture("fail-if.sh"), "never-matches"]

describe("run: validation", () => {
  it("rejects invalid ids with exit 2, listing every one with its reason, and runs nothing", async () => {
    const sb = sandbox()
    const long = "L".repeat(200)
    const r = await sb.run(
      ["--item", "fine-1", "--item", "../x", "--item", "CON", "--item", "a b", "--item", "", "--item", long],
      noop
    )
    expectExit(r, 2)
    expect(ranIds(sb.work), "nothing ran").toEqual([])
    expect(r.stdout).not.toContain("[fine-1]")
    const stderr = lines(stripAnsi(r.stderr))
    const cases: Array<{ what: string; line: (l: string) => boolean; reason: RegExp }> = [
      { what: "../x", line: (l) => l.includes("../x"), reason: /travers/i },
      { what: "CON", line: (l) => /\bCON\b/.test(l), reason: /reserved|device/i },
      { what: "a b", line: (l) => l.includes("a b"), reason: /illegal|character|not allowed/i },
      { what: "the empty id", line: (l) => /empty/i.test(l), reason: /empty/i },
      { what: "the 200-char id", line: (l) => l.includes(long.slice(0, 40)), reason: /long|length|128/i }
    ]
    for (const c of cases) {
      const found = stderr.filter(c.line)
      expect(found.length, `${c.what} is listed on stderr\n${explain(r)}`).toBeGreaterThanOrEqual(1)
      expect(found.some((l) => c.reason.test(l)), `${c.what} is listed with its reason (${c.reason})\n${explain(r)}`)
        .toBe(true)
    }
  })

  it("rejects invalid ids read from --items too", async () => {
    const sb = sandbox()
    const items = sb.file("items.txt", "ok-1\nbad id\n../../etc/passwd\nok-2\n")
    const r = await sb.run(["--items", items], noop)
    expectExit(r, 2)
    expect(ranIds(sb.work)).toEqual([])
    const stderr = stripAnsi(r.stderr)
    expect(stderr, explain(r)).toContain("bad id")
    expect(stderr, explain(r)).toContain("../../etc/passwd")
  })

  it("requires -- before the command", async () => {
    const sb = sandbox()
    const r = await sb.cli(["run", "--state-dir", sb.stateDir, "--item", "a", ...noop])
    expectExit(r, 2)
    expect(stripAnsi(r.stderr).trim(), "a message").not.toBe("")
    expect(ranIds(sb.work)).toEqual([])
  })

  for (
    const [flag, value, option] of [
      ["-p", "abc", "parallel"],
      ["--parallel", "abc", "parallel"],
      ["--timeout", "banana", "timeout"],
      ["--grace", "soon", "grace"],
      ["--retries", "many", "retries"]
    ] as const
  ) {
    it(`rejects ${flag} ${value} with exit 2 and a message`, async () => {
      const sb = sandbox()
      const r = await sb.run(["--item", "a", flag, value], noop)
      expectExit(r, 2)
      const stderr = stripAnsi(r.stderr)
      expect(stderr.includes(value) || stderr.includes(option), `message names it\n${explain(r)}`)
        .toBe(true)
      expect(ranIds(sb.work)).toEqual([])
    })
  }

  it("rejects an unknown option with exit 2", async () => {
    const sb = sandbox()
    const r = await sb.run(["--item", "a", "--no-such-option"], noop)
    expectExit(r, 2)
    expect(stripAnsi(r.stderr).trim()).not.toBe("")
    expect(ranIds(sb.work)).toEqual([])
  })

  it("accepts 500ms, 30s, 5m and bare seconds as durations", async () => {
    const sb = sandbox()
    const r = await sb.run(
      ["--item", "a", "--dry-run", "--timeout", "2", "--grace", "500ms", "--backoff", "5m"],
      noop
    )
    expectExit(r, 0)
    const r2 = await sb.run(["--item", "b", "--dry-run", "--timeout", "30s", "--grace", "3"], noop)
    expectExit(r2, 0)
  })

  it("times an item out after a bare number of seconds", async () => {
    const sb = sandbox()
    const r = await sb.run(
      ["--item", "slow-1", "--timeout", "1", "--grace", "200ms"],
      [fixture("sleep-then-echo.sh"), "5"],
      { timeoutMs: 15_000 }
    )
    expectExit(r, 1)
    expect(r.durationMs, explain(r)).toBeLessThan(4_500)
  })

  it("caps --parallel 20 at 10 with a warning on stderr", async () => {
    const sb = sandbox()
    const ids = Array.from({ length: 12 }, (_, i) => `cap-${i + 1}`)
    const r = await sb.run(
      [...ids.flatMap((id) => ["--item", id]), "--parallel", "20"],
      [fixture("sleep-then-echo.sh"), "0.8"]
    )
    expectExit(r, 0)
    const warning = lines(stripAnsi(r.stderr)).filter((l) => /\b10\b/.test(l) && /cap|max|limit/i.test(l))
    expect(warning.length, `a warning about the cap of 10\n${explain(r)}`).toBeGreaterThanOrEqual(1)
    expect(maxOverlap(readSpans(sb.work)), "in flight at once").toBeLessThanOrEqual(10)
  })

  it("--max-parallel raises the cap: no warning, more than 10 in flight", async () => {
    const sb = sandbox()
    const ids = Array.from({ length: 12 }, (_, i) => `raised-${i + 1}`)
    const r = await sb.run(
      [...ids.flatMap((id) => ["--item", id]), "--parallel", "12", "--max-parallel", "20"],
      [fixture("sleep-then-echo.sh"), "1"]
    )
    expectExit(r, 0)
    expect(lines(stripAnsi(r.stderr)).filter((l) => /cap/i.test(l) && /\b10\b/.test(l)), explain(r)).toEqual([])
    expect(maxOverlap(readSpans(sb.work)), "in flight at once").toBeGreaterThan(10)
  })
})
