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
