// SPEC "Shutdown and resume": first SIGINT/SIGTERM → graceful shutdown (no new item, TERM to each
// running child's group, KILL after --grace, unfinished items `interrupted`, exit 130/143);
// a second SIGINT stops at once; no child and no grandchild outlives the runner.
import * as fs from "node:fs"
import * as path from "node:path"
import { describe, expect, it } from "vitest"
import {
  expectExit,
  explain,
  fixture,
  linesOf,
  readSummaryStatuses,
  type RunningCli,
  stripAnsi,
  uniqueToken,
  useSandboxes,
  waitForDeath,
  waitForNoMarker,
  waitUntil
} from "./harness.js"

const sandbox = useSandboxes()

const items = (...ids: Array<string>) => ids.flatMap((id) => ["--item", id])

const waitForStarted = (cli: RunningCli, ids: ReadonlyArray<string>) =>
  cli.waitFor(
    ({ stdout }) => ids.every((id) => linesOf(stdout, id).includes("started")),
    `"started" from ${ids.join(", ")}`
  )

const readPids = (work: string, id: string): Array<number> =>
  fs.readFileSync(path.join(work, `${id}.pids`), "utf8").trim().split(/\s+/).map(Number)

describe("run: shutdown", () => {
  it("SIGINT: cooperative children checkpoint, queued items never start, exit 130 within 2 s", async () => {
    const sb = sandbox()
    const running = ["coop-1", "coop-2", "coop-3"]
    const queued = ["coop-4", "coop-5"]
    const cli = sb.start([...items(...running, ...queued), "-p", "3", "--grace", "1s"], [fixture("cooperative.sh")], {
      timeoutMs: 10_000
    })
    await waitForStarted(cli, running)
    const signalledAt = performance.now()
    cli.signal("SIGINT")
    const r = await cli.result
    expectExit(r, 130)
    expect(r.exitedAt - signalledAt, "from SIGINT to exit (ms)").toBeLessThan(2_000)

    const stderr = stripAnsi(r.stderr)
    expect(stderr, explain(r)).toContain("[COORDINATOR] Shutting down")
    for (const id of running) {
      expect(linesOf(r.stdout, id), `${id} got TERM and checkpointed`).toEqual(["started", "checkpointing"])
    }
    for (const id of queued) {
      expect(linesOf(r.stdout, id), `${id} must not start after the signal`).toEqual([])
      expect(fs.existsSync(path.join(sb.work, `${id}.pid`)), `${id} must not start`).toBe(false)
    }
    const statuses = readSummaryStatuses(sb.stateDir)
    for (const id of running) expect(statuses.get(id), `status of ${id}\n${explain(r)}`).toBe("interrupted")
    for (const id of queued) {
      expect(["succeeded", "failed"], `status of never-started ${id}`).not.toContain(statuses.get(id))
    }
    expect(stderr.toLowerCase(), "the summary reports interrupted items").toContain("interrupted")
    const pids = running.map((id) => Number(fs.readFileSync(path.join(sb.work, `${id}.pid`), "utf8")))
    expect(await waitForDeath(pids)).toEqual([])
  })

  it("SIGTERM: same graceful shutdown, exit 143", async () => {
    const sb = sandbox()
    const cli = sb.start([...items("coop-a", "coop-b"), "-p", "2", "--grace", "1s"], [fixture("cooperative.sh")], {
      timeoutMs: 10_000
    })
    await waitForStarted(cli, ["coop-a", "coop-b"])
    const signalledAt = performance.now()
    cli.signal("SIGTERM")
    const r = await cli.result
    expectExit(r, 143)
    expect(r.exitedAt - signalledAt, "from SIGTERM to exit (ms)").toBeLessThan(2_000)
    expect(stripAnsi(r.stderr)).toContain("[COORDINATOR] Shutting down")
    const statuses = readSummaryStatuses(sb.stateDir)
    expect(statuses.get("coop-a")).toBe("interrupted")
    expect(statuses.get("coop-b")).toBe("interrupted")
  })

  it("kills stubborn children and their grandchildren after --grace: nothing survives", async () => {
    const sb = sandbox()
    const marker = uniqueToken("e2e-shutdown-")
    const ids = ["stubborn-1", "stubborn-2"]
    const cli = sb.start([...items(...ids), "-p", "2", "--grace", "500ms"], [fixture("dispatch.sh")], {
      env: { FIXTURE_MARKER: marker },
      timeoutMs: 10_000
    })
    await waitForStarted(cli, ids)
    await waitUntil(() => ids.every((id) => fs.existsSync(path.join(sb.work, `${id}.pids`))), "pid files")
    const pids = ids.flatMap((id) => readPids(sb.work, id))
    expect(pids).toHaveLength(4)
    const signalledAt = performance.now()
    cli.signal("SIGINT")
    const r = await cli.result
    expectExit(r, 130)
    const took = r.exitedAt - signalledAt
    expect(took, "the grace is given before KILL (ms)").toBeGreaterThanOrEqual(400)
    expect(took, "from SIGINT to exit (ms)").toBeLessThan(3_000)
    expect(await waitForDeath(pids, 500), "pids alive after the runner exited").toEqual([])
    expect(await waitForNoMarker(marker, 500), "processes with the marker alive after the runner exited").toEqual([])
    const statuses = readSummaryStatuses(sb.stateDir)
    for (const id of ids) expect(statuses.get(id), `status of ${id}`).toBe("interrupted")
  })

  it("a second SIGINT stops the children at once, still records and exits 130", async () => {
    const sb = sandbox()
    const marker = uniqueToken("e2e-second-")
    const cli = sb.start([...items("stubborn-x"), "--grace", "20s"], [fixture("dispatch.sh")], {
      env: { FIXTURE_MARKER: marker },
      timeoutMs: 15_000
    })
    await waitForStarted(cli, ["stubborn-x"])
    await waitUntil(() => fs.existsSync(path.join(sb.work, "stubborn-x.pids")), "pid file")
    const pids = readPids(sb.work, "stubborn-x")
    cli.signal("SIGINT")
    await cli.waitFor(({ stderr }) => stripAnsi(stderr).includes("[COORDINATOR] Shutting down"), "Shutting down")
    const secondAt = performance.now()
    cli.signal("SIGINT")
    const r = await cli.result
    expectExit(r, 130)
    expect(r.exitedAt - secondAt, "from the second SIGINT to exit (ms)").toBeLessThan(2_000)
    expect(await waitForDeath(pids, 500)).toEqual([])
    expect(await waitForNoMarker(marker, 500)).toEqual([])
    expect(readSummaryStatuses(sb.stateDir).get("stubborn-x")).toBe("interrupted")
  })
})
