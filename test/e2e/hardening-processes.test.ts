// Issue 9 item 4: SIGHUP is a shutdown request like SIGTERM (graceful stop, exit 129, no child left).
import * as fs from "node:fs"
import * as path from "node:path"
import { describe, expect, it } from "vitest"
import { expectExit, fixture, linesOf, readSummaryStatuses, stripAnsi, useSandboxes, waitForDeath } from "./harness.js"

const sandbox = useSandboxes()

describe("run: hangup", () => {
  it("SIGHUP: graceful shutdown like SIGTERM, children checkpoint, exit 129", async () => {
    const sb = sandbox()
    const ids = ["hup-a", "hup-b"]
    const cli = sb.start([...ids.flatMap((id) => ["--item", id]), "-p", "2", "--grace", "2s"], [
      fixture("cooperative.sh")
    ], { timeoutMs: 20_000 })
    await cli.waitFor(({ stdout }) => ids.every((id) => linesOf(stdout, id).includes("started")), "both started")
    cli.signal("SIGHUP")
    const r = await cli.result
    expectExit(r, 129)
    expect(stripAnsi(r.stderr)).toContain("[COORDINATOR] Shutting down")
    const statuses = readSummaryStatuses(sb.stateDir)
    for (const id of ids) {
      expect(linesOf(r.stdout, id), `${id} got TERM`).toEqual(["started", "checkpointing"])
      expect(statuses.get(id)).toBe("interrupted")
    }
    const pids = ids.map((id) => Number(fs.readFileSync(path.join(sb.work, `${id}.pid`), "utf8")))
    expect(await waitForDeath(pids)).toEqual([])
  }, 30_000)
})

// Issue 9 items 6(b) and 7: what an item leaves in its process group is stopped when its leader ends.
describe("run: an item's process group ends with its leader", () => {
  it("a background grandchild of a child that exited 0 is stopped (TERM) when the item ends", async () => {
    const sb = sandbox()
    const script = sb.file(
      "bg.sh",
      `#!/bin/sh\nsleep 30 >/dev/null 2>&1 &\necho $! > "$FIXTURE_DIR/$AGENTOS_ITEM_ID.grandchild"\necho done\n`
    )
    fs.chmodSync(script, 0o755)
    const r = await sb.run(["--item", "bg-a"], [script], { timeoutMs: 20_000 })
    expectExit(r, 0)
    expect(linesOf(r.stdout, "bg-a")).toEqual(["done"])
    const grandchild = Number(fs.readFileSync(path.join(sb.work, "bg-a.grandchild"), "utf8"))
    expect(await waitForDeath([grandchild], 2_000)).toEqual([])
  }, 30_000)

  it("a grandchild that ignores TERM and holds the output pipe is killed after the grace", async () => {
    const sb = sandbox()
    const script = sb.file(
      "holder.sh",
      `#!/bin/sh\n(trap '' TERM; echo holding; sleep 30) &\necho $! > "$FIXTURE_DIR/$AGENTOS_ITEM_ID.grandchild"\nexit 0\n`
    )
    fs.chmodSync(script, 0o755)
    const started = Date.now()
    const r = await sb.run(["--item", "hold-a", "--grace", "1s"], [script], { timeoutMs: 25_000 })
    const elapsed = Date.now() - started
    expectExit(r, 0)
    expect(linesOf(r.stdout, "hold-a")).toContain("holding")
    // Well under the grandchild's 30 s: the group is killed once the grace after the leader's exit is up.
    expect(elapsed).toBeLessThan(15_000)
    const grandchild = Number(fs.readFileSync(path.join(sb.work, "hold-a.grandchild"), "utf8"))
    expect(await waitForDeath([grandchild], 2_000)).toEqual([])
  }, 40_000)
})
