// SPEC "CLI": items run several at a time, `{id}` substitution, what each child gets.
import * as fs from "node:fs"
import * as path from "node:path"
import { describe, expect, it } from "vitest"
import {
  expectExit,
  explain,
  fixture,
  keyValues,
  lines,
  linesOf,
  maxOverlap,
  parsePrefixed,
  readSpans,
  useSandboxes
} from "./harness.js"

const sandbox = useSandboxes()

describe("run: basics", () => {
  it("runs 6 items of 0.5 s at -p 3 well under the sequential time, at most 3 in flight", async () => {
    const sb = sandbox()
    const ids = ["a1", "a2", "a3", "a4", "a5", "a6"]
    const items = sb.file("items.txt", ids.join("\n") + "\n")
    const r = await sb.run(["--items", items, "-p", "3"], [fixture("sleep-then-echo.sh"), "0.5"])
    expectExit(r, 0)

    const spans = readSpans(sb.work)
    expect(spans.map((s) => s.id).sort()).toEqual(ids)
    const overlap = maxOverlap(spans)
    expect(overlap, "items in flight at once").toBeLessThanOrEqual(3)
    expect(overlap, "items in flight at once").toBeGreaterThanOrEqual(2)
    const first = Math.min(...spans.map((s) => s.start))
    const last = Math.max(...spans.map((s) => s.end))
    // sequential: 3 s; ideal at -p 3: 1 s
    expect(last - first, "from the first start to the last end (ms)").toBeLessThan(2_200)

    for (const id of ids) {
      expect(linesOf(r.stdout, id), explain(r)).toEqual([`start ${id}`, `done ${id}`])
    }
  })

  it("--parallel 1 is sequential", async () => {
    const sb = sandbox()
    const r = await sb.run(
      ["--item", "s1", "--item", "s2", "--item", "s3", "--parallel", "1"],
      [fixture("sleep-then-echo.sh"), "0.2"]
    )
    expectExit(r, 0)
    const spans = readSpans(sb.work)
    expect(spans).toHaveLength(3)
    expect(maxOverlap(spans)).toBe(1)
  })

  it("replaces {id} in every argument and passes arguments untouched (no shell)", async () => {
    const sb = sandbox()
    const r = await sb.run(
      ["--item", "x-1", "--item", "Y_2"],
      [fixture("echo-args.sh"), "pre-{id}-post", "{id}", "--flag={id}", "{id}/{id}", "hello world", "$HOME", "*"]
    )
    expectExit(r, 0)
    for (const id of ["x-1", "Y_2"]) {
      expect(linesOf(r.stdout, id)).toEqual([
        `arg: pre-${id}-post`,
        `arg: ${id}`,
        `arg: --flag=${id}`,
        `arg: ${id}/${id}`,
        "arg: hello world",
        "arg: $HOME",
        "arg: *",
        "argc: 7"
      ])
    }
  })

  it("gives each child AGENTOS_ITEM_ID, AGENTOS_WORKFLOW_DB, AGENTOS_ATTEMPT and AGENTOS_RUN_ID", async () => {
    const sb = sandbox()
    const ids = ["env-1", "env-2"]
    const r = await sb.run(["--item", ids[0]!, "--item", ids[1]!], [fixture("env-dump.sh")])
    expectExit(r, 0)

    const seen = ids.map((id) => ({ id, vars: keyValues(linesOf(r.stdout, id)) }))
    const runIds = new Set<string>()
    const runDirs = new Set<string>()
    for (const { id, vars } of seen) {
      expect(vars.AGENTOS_ITEM_ID, explain(r)).toBe(id)
      expect(vars.AGENTOS_ATTEMPT).toBe("1")
      expect(vars.AGENTOS_RUN_ID).toBeDefined()
      expect(vars.AGENTOS_RUN_ID).not.toBe("<unset>")
      expect(vars.AGENTOS_RUN_ID).not.toBe("")
      runIds.add(vars.AGENTOS_RUN_ID!)

      // <state-dir>/checkpoints/<run>/<id>.db, the directory existing
      const db = vars.AGENTOS_WORKFLOW_DB!
      const checkpoints = path.join(sb.stateDir, "checkpoints") + path.sep
      expect(path.resolve(sb.dir, db).startsWith(checkpoints), `${db} is under ${checkpoints}`).toBe(true)
      const rest = path.relative(checkpoints, path.resolve(sb.dir, db)).split(path.sep)
      expect(rest, `${db} is checkpoints/<run>/<id>.db`).toHaveLength(2)
      expect(rest[1]).toBe(`${id}.db`)
      runDirs.add(rest[0]!)
      expect(vars.DB_DIR_EXISTS, "the checkpoint directory exists while the item runs").toBe("yes")
      // no credentials configured: no secret handed over
      expect(vars.CREDENTIAL_SHA256).toBe("<unset>")
    }
    expect(runIds.size, "one run id for the whole run").toBe(1)
    expect(runDirs.size, "one checkpoint dir for the whole run").toBe(1)
  })

  it("reads --items - from stdin, skipping blank lines and # comments; --item adds to --items", async () => {
    const sb = sandbox()
    const r = await sb.run(
      ["--items", "-", "--item", "extra"],
      [fixture("fail-if.sh"), "never-matches"],
      { stdin: "# a comment\nin-1\n\nin-2\n#in-3\n\n" }
    )
    expectExit(r, 0)
    const ran = fs.readdirSync(sb.work).filter((f) => f.endsWith(".ran")).map((f) => f.slice(0, -4)).sort()
    expect(ran).toEqual(["extra", "in-1", "in-2"])
    for (const id of ran) expect(linesOf(r.stdout, id)).toEqual([`ok ${id}`])
  })

  it("prints only prefixed item lines on stdout", async () => {
    const sb = sandbox()
    const r = await sb.run(["--item", "p-1", "--item", "p-2", "-p", "2"], [fixture("env-dump.sh")])
    expectExit(r, 0)
    for (const line of lines(r.stdout)) {
      const parsed = parsePrefixed(line)
      expect(parsed, `stdout line ${JSON.stringify(line)}`).toBeDefined()
      expect(["p-1", "p-2"]).toContain(parsed!.id)
    }
  })
})
