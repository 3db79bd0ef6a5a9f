// SPEC `--timeout`: per-item limit; the item's whole process group is stopped (TERM, then KILL
// after the grace); the other items go on.
import * as fs from "node:fs"
import * as path from "node:path"
import { describe, expect, it } from "vitest"
import {
  expectExit,
  explain,
  fixture,
  linesOf,
  readSpans,
  readSummaryStatuses,
  uniqueToken,
  useSandboxes,
  waitForDeath,
  waitForNoMarker
} from "./harness.js"

const sandbox = useSandboxes()

const readPids = (work: string, id: string): Array<number> =>
  fs.readFileSync(path.join(work, `${id}.pids`), "utf8").trim().split(/\s+/).map(Number)

describe("run: --timeout", () => {
  it("stops a stubborn item and its grandchild (TERM, then KILL after --grace); other items go on", async () => {
    const sb = sandbox()
    const marker = uniqueToken("e2e-timeout-")
    const started = performance.now()
    const r = await sb.run(
      ["--item", "stubborn-1", "--item", "fast-1", "--item", "fast-2", "--item", "fast-3", "-p", "2"].concat(
        ["--timeout", "1s", "--grace", "500ms"]
      ),
      [fixture("dispatch.sh")],
      { env: { FIXTURE_MARKER: marker, FIXTURE_SLEEP: "0.2" }, timeoutMs: 12_000 }
    )
    const wall = performance.now() - started
    expectExit(r, 1)
    const statuses = readSummaryStatuses(sb.stateDir)
    expect(statuses.get("stubborn-1"), explain(r)).toBe("failed")
    for (const id of ["fast-1", "fast-2", "fast-3"]) expect(statuses.get(id), `status of ${id}`).toBe("succeeded")
    // the fast items ran beside the stuck one
    expect(readSpans(sb.work).map((s) => s.id).sort()).toEqual(["fast-1", "fast-2", "fast-3"])
    expect(linesOf(r.stdout, "stubborn-1")).toContain("started")

    const pids = readPids(sb.work, "stubborn-1")
    expect(pids).toHaveLength(2)
    expect(await waitForDeath(pids), "stubborn pids still alive").toEqual([])
    expect(await waitForNoMarker(marker), "processes with the marker still alive").toEqual([])
    // 1 s timeout + 0.5 s grace, not the 300 s the fixture would take
    expect(wall, "wall time (ms)").toBeLessThan(10_000)
  })

  it("sends TERM first: a cooperative item gets to checkpoint when it times out", async () => {
    const sb = sandbox()
    const r = await sb.run(
      ["--item", "coop-t", "--timeout", "700ms", "--grace", "5s"],
      [fixture("dispatch.sh")],
      { timeoutMs: 12_000 }
    )
    expectExit(r, 1)
    expect(linesOf(r.stdout, "coop-t"), explain(r)).toEqual(["started", "checkpointing"])
    expect(readSummaryStatuses(sb.stateDir).get("coop-t")).toBe("failed")
    // exited on TERM at once: no need to wait out the 5 s grace
    expect(r.durationMs, "wall time (ms)").toBeLessThan(4_500)
  })
})
