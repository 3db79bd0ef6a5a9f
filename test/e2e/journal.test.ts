// SPEC "Files" (journal.db), "Shutdown and resume" and "Exit codes", through the built CLI: what
// the journal records, `status` and `status --json`, `--dry-run` after a crash, two runners on one
// run (live, and starting at the same instant), and a damaged journal.
import Database from "better-sqlite3"
import * as fs from "node:fs"
import * as path from "node:path"
import { describe, expect, it } from "vitest"
import {
  type CliResult,
  expectExit,
  explain,
  fixture,
  lines,
  linesOf,
  nodeFixture,
  parseJson,
  runLogDirs,
  type Sandbox,
  startsOf,
  stripAnsi,
  useSandboxes,
  waitUntil
} from "./harness.js"

const sandbox = useSandboxes()

interface StatusJson {
  readonly stateDir: string
  readonly run: {
    readonly runId: string
    readonly active: boolean
    readonly total: number
    readonly counts: Record<string, number>
    readonly items: ReadonlyArray<{ id: string; status: string; attempts: number; error: string | null }>
    readonly rerun: ReadonlyArray<string>
  } | null
}

const statusJson = async (sb: Sandbox, name?: string): Promise<{ result: CliResult; json: StatusJson }> => {
  const result = await sb.cli([
    "status",
    "--state-dir",
    sb.stateDir,
    ...(name === undefined ? [] : ["--name", name]),
    "--json"
  ])
  expectExit(result, 0)
  return { result, json: parseJson(result.stdout, "status --json") as unknown as StatusJson }
}

interface LedgerStart {
  readonly id: string
  readonly round: string
}

const ledgerStarts = (work: string): Array<LedgerStart> => {
  const file = path.join(work, "starts.log")
  if (!fs.existsSync(file)) return []
  return lines(fs.readFileSync(file, "utf8"))
    .map((line) => line.split(" "))
    .filter((parts) => parts[0] === "start")
    .map((parts) => ({ id: parts[1]!, round: parts[2]! }))
}

const ledgerLines = (work: string): Array<string> => {
  const file = path.join(work, "ledger.log")
  return fs.existsSync(file) ? lines(fs.readFileSync(file, "utf8")) : []
}

const clashes = (work: string): string => {
  const file = path.join(work, "clashes.log")
  return fs.existsSync(file) ? fs.readFileSync(file, "utf8") : ""
}

describe("journal", () => {
  it("journal.db (WAL) records each attempt with its credential label, exit code or signal, error and timings", async () => {
    const sb = sandbox()
    const credentials = sb.file("keys.txt", "sk-journal-one\nsk-journal-two\n")
    const script = [
      "case \"$AGENTOS_ITEM_ID\" in",
      "  jr-code) echo failing >&2; exit 3 ;;",
      "  jr-signal) kill -KILL $$ ;;",
      "esac",
      "echo ok"
    ].join("\n")
    const r = await sb.run(
      [
        "--item",
        "jr-ok",
        "--item",
        "jr-code",
        "--item",
        "jr-signal",
        "--credentials-file",
        credentials,
        "--retries",
        "1"
      ],
      ["sh", "-c", script]
    )
    expectExit(r, 1)

    const db = new Database(path.join(sb.stateDir, "journal.db"), { readonly: true, fileMustExist: true })
    try {
      expect(db.pragma("journal_mode", { simple: true }), "WAL").toBe("wal")
      expect(db.pragma("integrity_check", { simple: true })).toBe("ok")
      const tables = db.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").pluck().all() as Array<string>
      for (const table of ["runs", "items", "attempts"]) expect(tables, "SPEC: runs, items, attempts").toContain(table)
      const columns = db.prepare("SELECT name FROM pragma_table_info('attempts')").pluck().all() as Array<string>
      // the schema is the implementation's: find the columns by what they hold
      const column = (pattern: RegExp) => {
        const found = columns.find((c) => pattern.test(c))
        expect(found, `an attempts column matching ${pattern} in ${columns.join(", ")}`).toBeDefined()
        return found!
      }
      const [idCol, attemptCol, labelCol, exitCol, signalCol, errorCol, startCol, endCol] = [
        column(/^(id|item_?id)$/i),
        column(/^attempt$/i),
        column(/label/i),
        column(/exit/i),
        column(/signal/i),
        column(/^error/i),
        column(/start/i),
        column(/finish|end/i)
      ]
      const rows = db.prepare(`SELECT * FROM attempts ORDER BY "${idCol}", "${attemptCol}"`).all() as Array<
        Record<string, unknown>
      >
      const of = (id: string) => rows.filter((row) => row[idCol] === id)
      const account = JSON.stringify(rows, null, 1)

      expect(of("jr-ok"), account).toHaveLength(1)
      expect(of("jr-code").map((row) => row[attemptCol]), "each attempt its own row").toEqual([1, 2])
      expect(of("jr-signal").map((row) => row[attemptCol])).toEqual([1, 2])
      for (const row of rows) {
        expect(["key-1", "key-2"], `label of ${JSON.stringify(row)}`).toContain(row[labelCol])
        expect(typeof row[startCol], account).toBe("number")
        expect(row[endCol] as number, account).toBeGreaterThanOrEqual(row[startCol] as number)
      }
      for (const row of of("jr-code")) {
        expect(row[exitCol], `exit code of a child that exited 3\n${account}`).toBe(3)
        expect(String(row[errorCol])).toContain("3")
      }
      for (const row of of("jr-signal")) {
        expect(row[signalCol], `signal of a child killed by SIGKILL\n${account}`).toBe("SIGKILL")
        expect(row[exitCol], account).toBeNull()
      }
      expect([0, null], "a success: exit code 0 (or none recorded)").toContain(of("jr-ok")[0]![exitCol])
      expect(of("jr-ok")[0]![signalCol]).toBeNull()
      expect(of("jr-ok")[0]![errorCol]).toBeNull()
    } finally {
      db.close()
    }
  })

  it("status and status --json after a partly failed run: counts, each item's state, what a rerun would run", async () => {
    const sb = sandbox()
    const items = sb.file("items.txt", "st-a\nst-b\nst-c\nst-d\nst-e\n")
    const r = await sb.run(["--items", items, "--name", "partly", "--retries", "1"], [fixture("fail-if.sh"), "st-[bd]"])
    expectExit(r, 1)

    const { json } = await statusJson(sb, "partly")
    const run = json.run!
    expect(run.runId).toBe("partly")
    expect(run.active, "nobody runs it now").toBe(false)
    expect(run.total).toBe(5)
    expect(run.counts).toMatchObject({ succeeded: 3, failed: 2, interrupted: 0, running: 0, pending: 0 })
    expect(run.items.map((i) => [i.id, i.status, i.attempts])).toEqual([
      ["st-a", "succeeded", 1],
      ["st-b", "failed", 2],
      ["st-c", "succeeded", 1],
      ["st-d", "failed", 2],
      ["st-e", "succeeded", 1]
    ])
    expect(run.items.find((i) => i.id === "st-b")?.error).toMatch(/3/)
    expect(run.items.find((i) => i.id === "st-a")?.error).toBeNull()
    expect(run.rerun).toEqual(["st-b", "st-d"])
    expect(path.resolve(json.stateDir)).toBe(path.resolve(sb.stateDir))

    // the latest run when no name is given
    expect((await statusJson(sb)).json.run?.runId).toBe("partly")

    const text = await sb.cli(["status", "--state-dir", sb.stateDir, "--name", "partly"])
    expectExit(text, 0)
    const out = stripAnsi(text.stdout)
    expect(out, explain(text)).toContain("partly")
    expect(out).toMatch(/3 succeeded/)
    expect(out).toMatch(/2 failed/)
    for (const [id, state] of [["st-a", "succeeded"], ["st-b", "failed"], ["st-d", "failed"], ["st-e", "succeeded"]]) {
      const line = lines(out).find((l) => l.trimStart().startsWith(`${id} `))
      expect(line, `a line for ${id}\n${out}`).toBeDefined()
      expect(line).toContain(state)
    }
    const rerunLine = lines(out).find((l) => /rerun/i.test(l))
    expect(rerunLine, out).toBeDefined()
    expect(rerunLine).toContain("st-b")
    expect(rerunLine).toContain("st-d")
    expect(rerunLine).not.toContain("st-a")

    // an unknown name: a usage error
    const unknown = await sb.cli(["status", "--state-dir", sb.stateDir, "--name", "no-such-run"])
    expectExit(unknown, 2)
    expect(stripAnsi(unknown.stderr)).toContain("no-such-run")
    // nothing recorded at all
    const empty = await sb.cli(["status", "--state-dir", path.join(sb.dir, "empty-state"), "--json"])
    expectExit(empty, 0)
    expect((parseJson(empty.stdout, "status --json") as unknown as StatusJson).run).toBeNull()
  })

  it("after kill -9: the lock is free, status shows the items left running, --dry-run prints exactly what the resume runs", async () => {
    const sb = sandbox()
    const ids = ["dr-1", "dr-2", "dr-3", "dr-4", "dr-5", "dr-6", "dr-7", "dr-8"]
    const items = sb.file("items.txt", ids.join("\n") + "\n")
    const args = ["--items", items, "-p", "2", "--name", "dry"]
    const command = nodeFixture("ledger-worker.mjs", "{id}")
    const env = { LEDGER_STEPS: "2-30", LEDGER_STEP_MS: "40" }
    const first = sb.start(args, command, { env: { ...env, CHAOS_ROUND: "first" } })
    await first.waitFor(
      ({ stdout }) => ids.some((id) => linesOf(stdout, id).some((l) => l.startsWith("done "))),
      "an item to finish",
      20_000
    )
    // let the runner record it, then die while others run
    await waitUntil(
      () => ids.filter((id) => linesOf(first.stdout(), id).some((l) => l.startsWith("start "))).length >= 3,
      "a third item to start",
      20_000
    )
    first.signal("SIGKILL")
    await first.result

    const { json } = await statusJson(sb, "dry")
    const run = json.run!
    expect(run.active, "the dead runner's hold is not honoured").toBe(false)
    expect(run.counts.succeeded, JSON.stringify(run)).toBeGreaterThanOrEqual(1)
    expect(run.counts.running, "items the runner left running").toBeGreaterThanOrEqual(1)
    expect(run.counts.pending, "items never started").toBeGreaterThanOrEqual(1)
    const notDone = ids.filter((id) => run.items.find((i) => i.id === id)?.status !== "succeeded")
    expect(run.rerun).toEqual(notDone)

    const dry = await sb.run([...args, "--dry-run"], command, { env: { ...env, CHAOS_ROUND: "dry" } })
    expectExit(dry, 0)
    expect(lines(dry.stdout), explain(dry)).toEqual(notDone)
    expect(ledgerStarts(sb.work).filter((s) => s.round === "dry"), "--dry-run ran nothing").toEqual([])

    const resume = await sb.run(args, command, { env: { ...env, CHAOS_ROUND: "resume" }, timeoutMs: 30_000 })
    expectExit(resume, 0)
    const resumed = [...new Set(ledgerStarts(sb.work).filter((s) => s.round === "resume").map((s) => s.id))]
    expect(resumed.sort(), "the resume ran exactly what --dry-run printed").toEqual([...notDone].sort())
    expect(clashes(sb.work)).toBe("")
    expect([...ledgerLines(sb.work)].sort()).toEqual(ids.map((id) => `succeeded ${id}`))
  })

  it("two live runners on one run: the second exits 2 naming the run and its holder and starts nothing; later runs work", async () => {
    const sb = sandbox()
    const args = ["--item", "lk-1", "--item", "lk-2", "-p", "2", "--name", "contended", "--grace", "1s"]
    const command = [fixture("cooperative.sh")]
    const first = sb.start(args, command)
    await first.waitFor(
      ({ stdout }) => ["lk-1", "lk-2"].every((id) => linesOf(stdout, id).includes("started")),
      "both started"
    )
    const pids = ["lk-1", "lk-2"].map((id) => fs.readFileSync(path.join(sb.work, `${id}.pid`), "utf8"))
    const dirsBefore = new Set(runLogDirs(sb.stateDir))
    expect((await statusJson(sb, "contended")).json.run?.active, "status: being run").toBe(true)

    const second = await sb.run(args, command, { timeoutMs: 15_000 })
    expectExit(second, 2)
    const message = stripAnsi(second.stderr)
    expect(message, "names the run").toContain("contended")
    expect(message, "names the holder").toContain(String(first.pid))
    expect(second.stdout, "started nothing").toBe("")
    expect(["lk-1", "lk-2"].map((id) => fs.readFileSync(path.join(sb.work, `${id}.pid`), "utf8"))).toEqual(pids)
    const newFiles = runLogDirs(sb.stateDir).filter((dir) => !dirsBefore.has(dir)).flatMap((dir) => fs.readdirSync(dir))
    expect(newFiles, "wrote no item log, audit or summary").toEqual([])
    expect(first.hasExited(), "the first goes on").toBe(false)
    expect((await statusJson(sb, "contended")).json.run?.counts.running, "the journal is as the first left it").toBe(2)

    first.signal("SIGINT")
    expectExit(await first.result, 130)
    const third = await sb.run(args, command, { env: { FIXTURE_COOP_SLEEP: "0.1" } })
    expectExit(third, 0)
    for (const id of ["lk-1", "lk-2"]) {
      expect(linesOf(third.stdout, id), explain(third)).toEqual(["resumed from checkpoint"])
    }
  })

  it("runners started at the same instant on a new state dir: one runs each item, exactly once", async () => {
    const sb = sandbox()
    const ids = ["race-1", "race-2", "race-3", "race-4"]
    const items = sb.file("items.txt", ids.join("\n") + "\n")
    const args = ["--items", items, "-p", "4", "--name", "race"]
    const command = nodeFixture("ledger-worker.mjs", "{id}")
    const runners = [1, 2, 3].map((n) =>
      sb.start(args, command, { env: { LEDGER_STEPS: "20", LEDGER_STEP_MS: "100", CHAOS_ROUND: String(n) } })
    )
    const results = await Promise.all(runners.map((r) => r.result))
    const account = results.map((r, i) => `--- runner ${i + 1} ---\n${explain(r)}`).join("\n")
    for (const r of results) {
      expect(r.timedOut, account).toBe(false)
      expect([0, 2], account).toContain(r.code)
      if (r.code === 2) expect(stripAnsi(r.stderr), account).toContain("race")
    }
    expect(results.filter((r) => r.code === 0).length, account).toBeGreaterThanOrEqual(1)
    expect(results.filter((r) => r.code === 2).length, `at least one was refused\n${account}`).toBeGreaterThanOrEqual(1)
    const starts = ledgerStarts(sb.work)
    for (const id of ids) expect(starts.filter((s) => s.id === id), `${id} started once\n${account}`).toHaveLength(1)
    expect(clashes(sb.work)).toBe("")
    expect([...ledgerLines(sb.work)].sort()).toEqual(ids.map((id) => `succeeded ${id}`))
  })

  it("a damaged journal: exit 2 with a clear message, moved aside intact, nothing ran; the next run starts a new one", async () => {
    const sb = sandbox()
    fs.mkdirSync(sb.stateDir, { recursive: true })
    const journal = path.join(sb.stateDir, "journal.db")
    const garbage = Buffer.from(Array.from({ length: 10_000 }, (_, i) => (i * 131 + 7) % 256))
    fs.writeFileSync(journal, garbage)
    const args = ["--item", "cj-1", "--item", "cj-2"]
    const command = [fixture("fail-if.sh"), "never-matches"]

    const r = await sb.run(args, command)
    expectExit(r, 2)
    const aside = fs.readdirSync(sb.stateDir).filter((name) => name.startsWith("journal.db.corrupt-"))
    expect(aside, fs.readdirSync(sb.stateDir).join(", ")).toHaveLength(1)
    const message = stripAnsi(r.stderr)
    expect(message, explain(r)).toMatch(/journal/i)
    expect(message).toMatch(/corrupt|damaged|malformed/i)
    expect(message, "says where the damaged file went").toContain(aside[0])
    expect(r.stdout).toBe("")
    expect(startsOf(sb.work, "cj-1") + startsOf(sb.work, "cj-2"), "nothing ran").toBe(0)
    expect(fs.readFileSync(path.join(sb.stateDir, aside[0]!)).equals(garbage), "moved aside byte for byte").toBe(true)

    const again = await sb.run(args, command)
    expectExit(again, 0)
    expect(startsOf(sb.work, "cj-1")).toBe(1)
    expect(startsOf(sb.work, "cj-2")).toBe(1)
    expect(fs.readFileSync(path.join(sb.stateDir, aside[0]!)).equals(garbage), "and left alone").toBe(true)

    // status reports a damaged journal too, but only reads: it leaves the file where it is (issue 9)
    const other = path.join(sb.dir, "other-state")
    fs.mkdirSync(other)
    fs.writeFileSync(path.join(other, "journal.db"), garbage)
    const status = await sb.cli(["status", "--state-dir", other])
    expectExit(status, 2)
    expect(stripAnsi(status.stderr)).toMatch(/corrupt|damaged|malformed/i)
    expect(fs.readdirSync(other).filter((name) => name.startsWith("journal.db.corrupt-"))).toHaveLength(0)
    expect(fs.readFileSync(path.join(other, "journal.db")).equals(garbage), "left byte for byte").toBe(true)
  })
})
