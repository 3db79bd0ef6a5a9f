// SPEC "Shutdown and resume": the same command again resumes (succeeded items skipped; failed,
// interrupted and never-run items run; interrupted ones find their checkpoint); --fresh starts
// over; a killed runner's leftovers are stopped and rerun; a second runner on the same run refuses.
import * as fs from "node:fs"
import * as path from "node:path"
import { describe, expect, it } from "vitest"
import {
  expectExit,
  explain,
  fixture,
  isAlive,
  lines,
  linesOf,
  readSummaryStatuses,
  startsOf,
  stripAnsi,
  useSandboxes,
  waitForDeath,
  waitUntil
} from "./harness.js"

const sandbox = useSandboxes()

describe("run: resume", () => {
  it("runs only what did not succeed when the same command runs again; --dry-run lists just those", async () => {
    const sb = sandbox()
    const items = sb.file("items.txt", "res-a\nres-b\nres-c\nres-d\n")
    const args = ["--items", items, "-p", "2"]
    const command = [fixture("fail-if.sh"), "never-matches"]

    const first = await sb.run(args, command, { env: { FIXTURE_FAIL_PATTERN: "res-[bd]" } })
    expectExit(first, 1)

    const dry = await sb.run([...args, "--dry-run"], command)
    expectExit(dry, 0)
    expect(lines(dry.stdout), explain(dry)).toEqual(["res-b", "res-d"])

    const second = await sb.run(args, command)
    expectExit(second, 0)
    expect(startsOf(sb.work, "res-a"), "res-a succeeded before: skipped").toBe(1)
    expect(startsOf(sb.work, "res-c"), "res-c succeeded before: skipped").toBe(1)
    expect(startsOf(sb.work, "res-b"), "res-b failed before: ran again").toBe(2)
    expect(startsOf(sb.work, "res-d"), "res-d failed before: ran again").toBe(2)
    expect(linesOf(second.stdout, "res-a")).toEqual([])
  })

  it("--fresh forgets earlier progress", async () => {
    const sb = sandbox()
    const args = ["--item", "fr-1", "--item", "fr-2"]
    const command = [fixture("fail-if.sh"), "never-matches"]
    expectExit(await sb.run(args, command), 0)
    expectExit(await sb.run(args, command), 0)
    expect(startsOf(sb.work, "fr-1"), "second run skips succeeded items").toBe(1)
    expectExit(await sb.run([...args, "--fresh"], command), 0)
    expect(startsOf(sb.work, "fr-1"), "--fresh runs them again").toBe(2)
    expect(startsOf(sb.work, "fr-2")).toBe(2)
  })

  it("--name is the run's identity: a different command under the same name resumes it", async () => {
    const sb = sandbox()
    const items = ["--item", "nm-a", "--item", "nm-b"]
    const first = await sb.run([...items, "--name", "my-run"], [fixture("fail-if.sh"), "nm-b"])
    expectExit(first, 1)
    const second = await sb.run([...items, "--name", "my-run"], [fixture("fail-if.sh"), "nothing", "{id}"])
    expectExit(second, 0)
    expect(startsOf(sb.work, "nm-a"), "nm-a succeeded under this name: skipped").toBe(1)
    expect(startsOf(sb.work, "nm-b"), "nm-b failed: ran again").toBe(2)
  })

  it("resumes interrupted items from their checkpoint database", async () => {
    const sb = sandbox()
    const args = ["--item", "coop-r1", "--item", "coop-r2", "-p", "2", "--grace", "1s"]
    const command = [fixture("cooperative.sh")]
    const cli = sb.start(args, command)
    await cli.waitFor(
      ({ stdout }) => ["coop-r1", "coop-r2"].every((id) => linesOf(stdout, id).includes("started")),
      "both started"
    )
    cli.signal("SIGINT")
    expectExit(await cli.result, 130)

    const again = await sb.run(args, command)
    expectExit(again, 0)
    for (const id of ["coop-r1", "coop-r2"]) {
      expect(linesOf(again.stdout, id), `${id} on the second run\n${explain(again)}`).toEqual([
        "resumed from checkpoint"
      ])
    }
    const statuses = readSummaryStatuses(sb.stateDir)
    expect(statuses.get("coop-r1")).toBe("succeeded")
    expect(statuses.get("coop-r2")).toBe("succeeded")
  })

  it("after kill -9 of the runner, the next run stops the leftover children and runs their items again", async () => {
    const sb = sandbox()
    const args = ["--item", "coop-k1", "--item", "coop-k2", "-p", "2", "--grace", "1s"]
    const command = [fixture("cooperative.sh")]
    const cli = sb.start(args, command)
    await cli.waitFor(
      ({ stdout }) => ["coop-k1", "coop-k2"].every((id) => linesOf(stdout, id).includes("started")),
      "both started"
    )
    const orphans = ["coop-k1", "coop-k2"].map((id) => Number(fs.readFileSync(path.join(sb.work, `${id}.pid`), "utf8")))
    cli.signal("SIGKILL")
    await cli.result
    expect(orphans.filter(isAlive), "children outlive a kill -9 of the runner (own process groups)").toEqual(orphans)

    const again = await sb.run(args, command, { env: { FIXTURE_COOP_SLEEP: "0.2" }, timeoutMs: 30_000 })
    expectExit(again, 0)
    expect(await waitForDeath(orphans), "the leftover children were stopped").toEqual([])
    const statuses = readSummaryStatuses(sb.stateDir)
    expect(statuses.get("coop-k1"), explain(again)).toBe("succeeded")
    expect(statuses.get("coop-k2"), explain(again)).toBe("succeeded")
    for (const id of ["coop-k1", "coop-k2"]) {
      const out = linesOf(again.stdout, id)
      expect(
        out.includes("resumed from checkpoint") || out.includes("finished"),
        `${id} ran again\n${explain(again)}`
      ).toBe(true)
    }
  })

  it("a second runner on the same run refuses with exit 2 and runs nothing", async () => {
    const sb = sandbox()
    const args = ["--item", "coop-l1", "--grace", "1s"]
    const command = [fixture("cooperative.sh")]
    const first = sb.start(args, command)
    await first.waitFor(({ stdout }) => linesOf(stdout, "coop-l1").includes("started"), "started")
    const pidFile = path.join(sb.work, "coop-l1.pid")
    const pidBefore = fs.readFileSync(pidFile, "utf8")

    const second = await sb.run(args, command, { timeoutMs: 15_000 })
    expectExit(second, 2)
    expect(stripAnsi(second.stderr).trim(), "a clear message").not.toBe("")
    expect(second.stdout).not.toContain("[coop-l1] started")
    expect(fs.readFileSync(pidFile, "utf8"), "the item was not started a second time").toBe(pidBefore)
    expect(first.hasExited(), "the first runner goes on").toBe(false)

    first.signal("SIGINT")
    expectExit(await first.result, 130)
    await waitUntil(() => !isAlive(Number(pidBefore)), "the first runner's child to end", 2_000)
  })
})
