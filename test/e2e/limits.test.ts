// Issue 9: limits, sizes and scale attacked — a retry-after beyond Node's timer limit.
import { spawn, spawnSync } from "node:child_process"
import * as fs from "node:fs"
import * as path from "node:path"
import { describe, expect, it } from "vitest"
import { expectExit, explain, sleep, stripAnsi, useSandboxes } from "./harness.js"

const sandbox = useSandboxes()

describe("run: limits", () => {
  it("a retry-after of 2147484 s (over Node's timer limit) keeps the runner waiting; SIGINT ends it with 130 and a summary", async () => {
    const sb = sandbox()
    const keys = sb.file("keys.txt", "only-key\n")
    const child = sb.file("limited.sh", "#!/bin/sh\necho '::rate-limited retry-after=2147484::'\nexit 75\n")
    fs.chmodSync(child, 0o755)
    const cli = sb.start(["--item", "a", "--credentials-file", keys, "--grace", "1s"], [child], { timeoutMs: 30_000 })
    await cli.waitFor(({ stderr }) => stripAnsi(stderr).includes("cooling for"), "the cooldown message", 15_000)
    await sleep(1_500)
    expect(cli.child.exitCode, "the runner must not end on its own with the item unrun").toBeNull()
    cli.signal("SIGINT")
    const r = await cli.result
    expectExit(r, 130)
    const stderr = stripAnsi(r.stderr)
    expect(stderr, explain(r)).toContain("cooling for 1d")
    expect(stderr, explain(r)).not.toMatch(/\d{7,}m/)
    const dirs = fs.readdirSync(path.join(sb.stateDir, "logs", "parallel"))
    const summary = JSON.parse(
      fs.readFileSync(path.join(sb.stateDir, "logs", "parallel", dirs[0]!, "summary.json"), "utf8")
    )
    expect(summary.interrupted).toBe(true)
    expect(summary.stats.interrupted).toBe(1)
  })

  it("--backoff over Node's timer limit is refused as a usage error", async () => {
    const sb = sandbox()
    const r = await sb.run(["--item", "a", "--backoff", "600h"], ["true"])
    expectExit(r, 2)
    expect(stripAnsi(r.stderr)).toContain("at most 596h")
  })

  it(
    "SIGINT with 100k items pending: exit within grace + a few seconds, no audit file for never-started items",
    async () => {
      const sb = sandbox()
      const ids = Array.from({ length: 100_000 }, (_, i) => `item-${i}`)
      const itemsFile = sb.file("items.txt", ids.join("\n") + "\n")
      const child = sb.file("slow.sh", "#!/bin/sh\necho started\nexec sleep 30\n")
      fs.chmodSync(child, 0o755)
      const cli = sb.start(["--items", itemsFile, "-p", "8", "--grace", "1s"], [child], { timeoutMs: 120_000 })
      await cli.waitFor(({ stdout }) => stdout.includes("started"), "a first item started", 60_000)
      const signalledAt = performance.now()
      cli.signal("SIGINT")
      const r = await cli.result
      expectExit(r, 130)
      expect(r.exitedAt - signalledAt, `from SIGINT to exit (ms)\n${explain(r)}`).toBeLessThan(6_000)
      const dirs = fs.readdirSync(path.join(sb.stateDir, "logs", "parallel"))
      const logDir = path.join(sb.stateDir, "logs", "parallel", dirs[0]!)
      const audits = fs.readdirSync(logDir).filter((f) => f.startsWith("workflow-audit-"))
      expect(audits.length, "audit files only for items that started").toBeLessThanOrEqual(8)
      expect(audits.length).toBeGreaterThan(0)
      const summary = JSON.parse(fs.readFileSync(path.join(logDir, "summary.json"), "utf8"))
      expect(summary.stats.total).toBe(100_000)
      expect(summary.stats.interrupted).toBe(100_000)
    },
    150_000
  )

  it("--items reads a FIFO as a stream; /dev/zero is refused at once; invalid ids are listed up to 20", async () => {
    const sb = sandbox()
    const fifo = path.join(sb.dir, "items.fifo")
    spawnSync("mkfifo", [fifo])
    const writer = spawn("sh", ["-c", `printf 'a\\nb\\n' > ${fifo}`])
    const r = await sb.run(["--items", fifo], ["true"])
    writer.kill()
    expectExit(r, 0)
    const zero = await sb.run(["--items", "/dev/zero"], ["true"], { timeoutMs: 20_000 })
    expectExit(zero, 2)
    expect(stripAnsi(zero.stderr)).toContain("longer than 4096 characters")
    const bad = sb.file("bad.txt", Array.from({ length: 1000 }, (_, i) => `bad id ${i}`).join("\n") + "\n")
    const invalid = await sb.run(["--items", bad], ["true"])
    expectExit(invalid, 2)
    const listed = stripAnsi(invalid.stderr).split("\n").filter((l) => l.includes("bad.txt:"))
    expect(listed.length).toBe(20)
    expect(stripAnsi(invalid.stderr)).toContain("... and 980 more invalid ids")
    expect(stripAnsi(invalid.stderr)).toContain("1000 invalid ids")
  })
})
