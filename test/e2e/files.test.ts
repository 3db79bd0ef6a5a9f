// SPEC "Files (under the state dir)": journal.db, checkpoints/<run>/, logs/parallel/<timestamp>/
// (<id>.log unprefixed, workflow-audit-<id>.jsonl, summary.json); the state dir's default and env.
import * as fs from "node:fs"
import * as path from "node:path"
import { describe, expect, it } from "vitest"
import {
  eventAttempt,
  eventIs,
  expectExit,
  explain,
  fixture,
  keyValues,
  latestRunLogDir,
  lines,
  linesOf,
  readAudit,
  readSummaryStatuses,
  runLogDirs,
  useSandboxes
} from "./harness.js"

const sandbox = useSandboxes()

describe("run: files under the state dir", () => {
  it("writes journal.db, per-item logs, audit journals and summary.json", async () => {
    const sb = sandbox()
    const r = await sb.run(["--item", "fl-ok", "--item", "fl-bad"], [fixture("fail-if.sh"), "fl-bad"])
    expectExit(r, 1)

    const journal = path.join(sb.stateDir, "journal.db")
    expect(fs.existsSync(journal), "journal.db").toBe(true)
    expect(fs.readFileSync(journal).subarray(0, 16).toString("latin1"), "journal.db is SQLite").toBe(
      "SQLite format 3\u0000"
    )

    expect(runLogDirs(sb.stateDir), "one logs/parallel/<timestamp>/ per run").toHaveLength(1)
    const logDir = latestRunLogDir(sb.stateDir)
    const okLog = lines(fs.readFileSync(path.join(logDir, "fl-ok.log"), "utf8"))
    expect(okLog, "unprefixed stdout in the log").toContain("ok fl-ok")
    const badLog = lines(fs.readFileSync(path.join(logDir, "fl-bad.log"), "utf8"))
    expect(badLog, "unprefixed stderr in the log").toContain("failing fl-bad")

    for (const id of ["fl-ok", "fl-bad"]) {
      const audit = readAudit(sb.stateDir, id)
      const text = JSON.stringify(audit)
      expect(audit.some((e) => eventIs(e, "started") && eventAttempt(e) === 1), `started, attempt 1: ${text}`).toBe(
        true
      )
      expect(audit.some((e) => eventIs(e, "finished")), `finished: ${text}`).toBe(true)
    }

    const statuses = readSummaryStatuses(sb.stateDir)
    expect(statuses.get("fl-ok"), explain(r)).toBe("succeeded")
    expect(statuses.get("fl-bad"), explain(r)).toBe("failed")
  })

  it("has checkpoints/<run>/ in place while items run", async () => {
    const sb = sandbox()
    const r = await sb.run(["--item", "ck-1"], [fixture("env-dump.sh")])
    expectExit(r, 0)
    const vars = keyValues(linesOf(r.stdout, "ck-1"))
    expect(vars.DB_DIR_EXISTS, explain(r)).toBe("yes")
    expect(path.dirname(path.dirname(vars.AGENTOS_WORKFLOW_DB!))).toBe(path.join(sb.stateDir, "checkpoints"))
  })

  it("defaults the state dir to .agentos in the working directory", async () => {
    const sb = sandbox()
    const r = await sb.cli(["run", "--item", "def-1", "--", fixture("env-dump.sh")])
    expectExit(r, 0)
    const db = keyValues(linesOf(r.stdout, "def-1")).AGENTOS_WORKFLOW_DB!
    expect(path.resolve(sb.dir, db).startsWith(path.join(sb.dir, ".agentos", "checkpoints") + path.sep), db).toBe(
      true
    )
    expect(fs.existsSync(path.join(sb.dir, ".agentos", "journal.db"))).toBe(true)
  })

  it("takes the state dir from AGENTOS_STATE_DIR", async () => {
    const sb = sandbox()
    const stateDir = path.join(sb.dir, "from-env")
    const r = await sb.cli(["run", "--item", "envdir-1", "--", fixture("env-dump.sh")], {
      env: { AGENTOS_STATE_DIR: stateDir }
    })
    expectExit(r, 0)
    const db = keyValues(linesOf(r.stdout, "envdir-1")).AGENTOS_WORKFLOW_DB!
    expect(path.resolve(sb.dir, db).startsWith(path.join(stateDir, "checkpoints") + path.sep), db).toBe(true)
    expect(fs.existsSync(path.join(stateDir, "journal.db"))).toBe(true)
    expect(fs.existsSync(path.join(sb.dir, ".agentos")), "not the default").toBe(false)
  })
})
