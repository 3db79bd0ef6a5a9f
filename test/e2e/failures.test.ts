// SPEC "What a child tells the runner" / "Exit codes": one item's failure never stops the others;
// --retries; a child dying of a signal is a failed attempt.
import * as fs from "node:fs"
import * as path from "node:path"
import { describe, expect, it } from "vitest"
import {
  expectExit,
  explain,
  filesUnder,
  fixture,
  lines,
  linesOf,
  readSummaryStatuses,
  startsOf,
  stripAnsi,
  useSandboxes
} from "./harness.js"

const sandbox = useSandboxes()

/** A line of the stderr summary naming the item and the status (a row; layout is open). */
const summaryRowMentions = (stderr: string, id: string, status: string): boolean =>
  lines(stripAnsi(stderr)).some((line) =>
    !line.startsWith(`[${id}]`) && new RegExp(`(^|[^A-Za-z0-9_-])${id}([^A-Za-z0-9_-]|$)`).test(line) &&
    line.toLowerCase().includes(status)
  )

describe("run: failures", () => {
  it("isolates a failing item: the others succeed, exit 1, the summary shows each status", async () => {
    const sb = sandbox()
    const ids = ["f-a", "f-b", "f-c", "f-d"]
    const r = await sb.run([...ids.flatMap((id) => ["--item", id]), "-p", "2"], [fixture("fail-if.sh"), "f-b"])
    expectExit(r, 1)
    for (const id of ids) expect(startsOf(sb.work, id), `starts of ${id}`).toBe(1)
    const statuses = readSummaryStatuses(sb.stateDir)
    expect(Object.fromEntries(statuses)).toMatchObject({
      "f-a": "succeeded",
      "f-b": "failed",
      "f-c": "succeeded",
      "f-d": "succeeded"
    })
    expect(linesOf(stripAnsi(r.stderr), "f-b")).toContain("failing f-b")
    for (const id of ["f-a", "f-c", "f-d"]) {
      expect(summaryRowMentions(r.stderr, id, "succeeded"), `summary row of ${id}\n${explain(r)}`).toBe(true)
    }
    expect(summaryRowMentions(r.stderr, "f-b", "failed"), `summary row of f-b\n${explain(r)}`).toBe(true)

    // checkpoint database: deleted on success, kept on failure
    const dbs = filesUnder(path.join(sb.stateDir, "checkpoints")).map((f) => path.basename(f))
    expect(dbs).toContain("f-b.db")
    expect(dbs).not.toContain("f-a.db")
    expect(dbs).not.toContain("f-c.db")
  })

  it("--retries 2 gives a failing item two more attempts (AGENTOS_ATTEMPT counts them)", async () => {
    const sb = sandbox()
    const r = await sb.run(["--item", "r-1", "--retries", "2"], [fixture("fail-first.sh"), "2"])
    expectExit(r, 0)
    const attempts = lines(fs.readFileSync(path.join(sb.work, "r-1.starts"), "utf8"))
    expect(attempts, "AGENTOS_ATTEMPT of each start").toEqual(["1", "2", "3"])
    expect(linesOf(r.stdout, "r-1")).toContain("succeeded on start 3")
    expect(readSummaryStatuses(sb.stateDir).get("r-1")).toBe("succeeded")
  })

  it("stops retrying when --retries is used up: item failed, exit 1", async () => {
    const sb = sandbox()
    const r = await sb.run(["--item", "r-2", "--item", "r-2b", "--retries", "1"], [fixture("fail-first.sh"), "2"])
    expectExit(r, 1)
    expect(startsOf(sb.work, "r-2", ".starts"), "starts of r-2").toBe(2)
    expect(startsOf(sb.work, "r-2b", ".starts"), "starts of r-2b").toBe(2)
    const statuses = readSummaryStatuses(sb.stateDir)
    expect(statuses.get("r-2")).toBe("failed")
    expect(statuses.get("r-2b")).toBe("failed")
  })

  it("with the default --retries 0 a failed item runs once", async () => {
    const sb = sandbox()
    const r = await sb.run(["--item", "r-3"], [fixture("fail-first.sh"), "1"])
    expectExit(r, 1)
    expect(startsOf(sb.work, "r-3", ".starts")).toBe(1)
  })

  it("counts a child that dies of a signal as failed", async () => {
    const sb = sandbox()
    const r = await sb.run(["--item", "sig-1", "--item", "sig-2"], ["sh", "-c", "echo before; kill -9 $$", "sh"])
    expectExit(r, 1)
    const statuses = readSummaryStatuses(sb.stateDir)
    expect(statuses.get("sig-1")).toBe("failed")
    expect(statuses.get("sig-2")).toBe("failed")
    expect(linesOf(r.stdout, "sig-1")).toEqual(["before"])
  })
})
