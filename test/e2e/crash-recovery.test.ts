// SPEC "Shutdown and resume": the runner killed with kill -9 at random moments, again and again, on
// the same run. Its children live on as orphans; each next runner must stop them before running
// their items again. With an idempotent, checkpointed worker (test/fixtures/ledger-worker.mjs) that
// holds an exclusive lock per item, the outcome must be: every item succeeded exactly once (one
// ledger line each), nothing that the journal had recorded as succeeded ever started again, and no
// item ever ran in two processes at once (no clash recorded by the workers' locks).
import Database from "better-sqlite3"
import * as fs from "node:fs"
import * as path from "node:path"
import { describe, expect, it } from "vitest"
import {
  eventIs,
  expectExit,
  explain,
  findProcessesWithEnv,
  isAlive,
  lines,
  nodeFixture,
  parseJson,
  runLogDirs,
  sleep,
  statusesIn,
  useSandboxes,
  waitUntil
} from "./harness.js"

const sandbox = useSandboxes()

/** mulberry32: a small PRNG, so the kill moments are the same on every run of the test. */
const seeded = (seed: number) => () => {
  seed = (seed + 0x6d2b79f5) | 0
  let t = seed
  t = Math.imul(t ^ (t >>> 15), t | 1)
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296
}

const SEED = 0x5eed_2026
const ROUNDS = 20
/**
 * Kill moments. In a third of the rounds, 0–900 ms after the runner starts: during its start-up,
 * while it stops the orphans of the round before, or while it spawns. In the others, 0–600 ms after
 * the first item of the round has started: in the middle of items, or as they finish.
 */
const EARLY_SHARE = 1 / 3
const EARLY_WINDOW_MS = 900
const LATE_WINDOW_MS = 600
/**
 * The worker's steps: 24 to 64 of about 150 ms, by id (items of 3.5–10 s), so that items are still
 * running when their runner is killed, and finish over many rounds.
 */
const WORKER_ENV = { LEDGER_STEPS: "24-64", LEDGER_STEP_MS: "150" }

interface Start {
  readonly id: string
  readonly round: string
  readonly pid: number
  readonly attempt: number
  readonly inLedgerAlready: boolean
  readonly at: number
}

const readStarts = (work: string) => {
  const file = path.join(work, "starts.log")
  const starts: Array<Start> = []
  const ended = new Set<number>()
  if (!fs.existsSync(file)) return { starts, ended }
  for (const line of lines(fs.readFileSync(file, "utf8"))) {
    const parts = line.split(" ")
    if (parts[0] === "start") {
      starts.push({
        id: parts[1]!,
        round: parts[2]!,
        pid: Number(parts[3]),
        attempt: Number(parts[4]),
        inLedgerAlready: parts[5] === "1",
        at: Number(parts[6])
      })
    } else if (parts[0] === "end") {
      ended.add(Number(parts[3]))
    }
  }
  return { starts, ended }
}

const readLedger = (work: string): Array<string> => {
  const file = path.join(work, "ledger.log")
  return fs.existsSync(file) ? lines(fs.readFileSync(file, "utf8")) : []
}

/**
 * Item → state of run `name`, read straight from journal.db (a `status --json` per round would cost
 * a Node start-up each time). The schema is the implementation's: columns are found by name.
 */
const journalStates = (stateDir: string, name: string): Map<string, string> => {
  const file = path.join(stateDir, "journal.db")
  if (!fs.existsSync(file)) return new Map()
  const db = new Database(file, { readonly: true, fileMustExist: true, timeout: 10_000 })
  try {
    const columns = db.prepare("SELECT name FROM pragma_table_info('items')").pluck().all() as Array<string>
    const find = (pattern: RegExp) => {
      const found = columns.find((c) => pattern.test(c))
      if (found === undefined) {
        throw new Error(`journal.db items: no column matching ${pattern} in ${columns.join(", ")}`)
      }
      return found
    }
    const [run, id, status] = [find(/^run(_?id)?$/i), find(/^(id|item_?id)$/i), find(/^status$/i)]
    const rows = db.prepare(`SELECT "${id}" AS id, "${status}" AS status FROM items WHERE "${run}" = ?`).all(
      name
    ) as Array<
      { id: string; status: string }
    >
    return new Map(rows.map((row) => [row.id, row.status]))
  } finally {
    db.close()
  }
}

describe("run: crash recovery", () => {
  it(
    `survives kill -9 of the runner at ${ROUNDS} random moments: every item succeeds exactly once, never twice at a time`,
    async () => {
      const sb = sandbox()
      const ids = Array.from({ length: 12 }, (_, i) => `chaos-${String(i + 1).padStart(2, "0")}`)
      const items = sb.file("items.txt", ids.join("\n") + "\n")
      const args = ["--items", items, "-p", "4", "--name", "chaos", "--grace", "1s"]
      const command = nodeFixture("ledger-worker.mjs", "{id}")
      const env = WORKER_ENV
      const random = seeded(SEED)

      /** What the journal said had succeeded before each round started. */
      const succeededBefore = new Map<string, Set<string>>()
      const log: Array<string> = []
      let killed = 0
      let withLeftovers = 0

      const snapshot = (round: string) => {
        const states = journalStates(sb.stateDir, "chaos")
        const done = new Set([...states].filter(([, s]) => s === "succeeded").map(([id]) => id))
        // the journal never claims a success the worker did not finish
        const ledger = new Set(readLedger(sb.work))
        for (const id of done) {
          expect(ledger.has(`succeeded ${id}`), `${id} recorded succeeded without its ledger line`).toBe(true)
        }
        succeededBefore.set(round, done)
        return states
      }

      const startedIn = (round: number) => readStarts(sb.work).starts.some((s) => s.round === String(round))
      for (let round = 1; round <= ROUNDS; round++) {
        const states = snapshot(String(round))
        const early = random() < EARLY_SHARE
        const delay = Math.floor(random() * (early ? EARLY_WINDOW_MS : LATE_WINDOW_MS))
        const cli = sb.start(args, command, { env: { ...env, CHAOS_ROUND: String(round) }, timeoutMs: 30_000 })
        if (!early) {
          await waitUntil(() => cli.hasExited() || startedIn(round), `an item to start in round ${round}`, 20_000)
        }
        await sleep(delay)
        const wasRunning = !cli.hasExited()
        if (wasRunning) {
          process.kill(cli.pid, "SIGKILL")
          killed++
        }
        const result = await cli.result
        expect(result.timedOut, explain(result)).toBe(false)
        if (!wasRunning) expect([0, 1], `round ${round} ended by itself\n${explain(result)}`).toContain(result.code)
        const count = (status: string) => [...states.values()].filter((s) => s === status).length
        if (count("running") > 0) withLeftovers++
        log.push(
          `round ${round}: kill ${delay} ms after ${early ? "start-up" : "the first item started"} → ${
            result.signal ?? `exit ${result.code}`
          }; before it: ${count("succeeded")} succeeded, ${count("running")} left running`
        )
      }

      snapshot("final")
      const final = await sb.run(args, command, { env: { ...env, CHAOS_ROUND: "final" }, timeoutMs: 30_000 })
      const context = `${log.join("\n")}\n--- final run ---\n${explain(final)}`
      expectExit(final, 0)

      // no item ever ran in two processes at once
      const clashes = path.join(sb.work, "clashes.log")
      expect(fs.existsSync(clashes) ? fs.readFileSync(clashes, "utf8") : "", context).toBe("")

      // every item succeeded exactly once
      const ledger = readLedger(sb.work)
      expect([...ledger].sort(), context).toEqual(ids.map((id) => `succeeded ${id}`))

      // nothing the journal had recorded as succeeded started again
      const { ended, starts } = readStarts(sb.work)
      for (const start of starts) {
        const before = succeededBefore.get(start.round)
        expect(before, `start in an unknown round: ${JSON.stringify(start)}`).toBeDefined()
        expect(
          before!.has(start.id),
          `${start.id} started in round ${start.round} although it had succeeded\n${context}`
        )
          .toBe(false)
      }
      // every start of an item had an attempt number of its own, counting up across runners
      for (const id of ids) {
        const attempts = starts.filter((s) => s.id === id).map((s) => s.attempt)
        expect(attempts, `AGENTOS_ATTEMPT of ${id}'s starts`).toEqual([...attempts].sort((a, b) => a - b))
        expect(new Set(attempts).size, `AGENTOS_ATTEMPT of ${id}'s starts: ${attempts.join(",")}`).toBe(attempts.length)
      }

      // the audit logs agree: at most one success per item, and no start after it
      const successAt = new Map<string, number>()
      const startedAt = new Map<string, Array<number>>()
      for (const dir of runLogDirs(sb.stateDir)) {
        for (const name of fs.readdirSync(dir).filter((n) => n.startsWith("workflow-audit-"))) {
          for (const line of lines(fs.readFileSync(path.join(dir, name), "utf8"))) {
            const event = parseJson(line, name) as Record<string, unknown>
            const id = String(event.id)
            const at = Date.parse(String(event.time))
            if (eventIs(event, "started")) startedAt.set(id, [...(startedAt.get(id) ?? []), at])
            if (eventIs(event, "finished") && event.status === "succeeded") {
              expect(successAt.has(id), `${id} finished succeeded twice in the audit logs`).toBe(false)
              successAt.set(id, at)
            }
          }
        }
      }
      for (const [id, at] of successAt) {
        expect((startedAt.get(id) ?? []).filter((t) => t > at), `${id} started after its success`).toEqual([])
      }

      // the journal agrees: everything succeeded, nothing to rerun
      const status = await sb.cli(["status", "--state-dir", sb.stateDir, "--name", "chaos", "--json"])
      expectExit(status, 0)
      const run = (parseJson(status.stdout, "status --json") as { run: { rerun: Array<string>; items: unknown } }).run
      expect([...statusesIn(run.items)].sort(), context).toEqual(ids.map((id) => [id, "succeeded"]))
      expect(run.rerun).toEqual([])

      // the chaos really happened: runners were killed with items in flight, and their orphans were dealt with
      const orphans = starts.filter((s) => s.round !== "final" && !ended.has(s.pid))
      expect(killed, context).toBeGreaterThanOrEqual(ROUNDS / 2)
      expect(orphans.length, `starts cut short by a kill\n${context}`).toBeGreaterThanOrEqual(3)
      expect(withLeftovers, `rounds that found items left running\n${context}`).toBeGreaterThanOrEqual(5)
    },
    90_000
  )

  it(
    "kill -9 the moment the runner has spawned its children (before it can record them): the next run still stops them",
    async () => {
      const sb = sandbox()
      const ids = ["spawn-a", "spawn-b", "spawn-c", "spawn-d"]
      const items = sb.file("items.txt", ids.join("\n") + "\n")
      const args = ["--items", items, "-p", "4", "--name", "spawn-window", "--grace", "1s"]
      const command = nodeFixture("ledger-worker.mjs", "{id}")
      // about 1.5 s per item: an orphan not stopped is still going when the next runner starts its item
      const env = { LEDGER_STEPS: "10", LEDGER_STEP_MS: "150" }
      const orphans: Array<number> = []
      const KILLS = 4
      for (let round = 1; round <= KILLS; round++) {
        const cli = sb.start(args, command, { env: { ...env, CHAOS_ROUND: String(round) } })
        // Busy-wait (no timers: they would be too slow) for the first item process, then kill the
        // runner. Items are started by the runner's spawn server, so they are found by environment.
        const deadline = performance.now() + 15_000
        let spawned: Array<number> = []
        while (spawned.length === 0 && !cli.hasExited() && performance.now() < deadline) {
          spawned = findProcessesWithEnv(`E2E_SANDBOX=${sb.dir}`).map((p) => p.pid).filter((pid) => pid !== cli.pid)
        }
        expect(spawned.length, `round ${round}: the runner spawned an item\n${cli.stderr()}`).toBeGreaterThan(0)
        process.kill(cli.pid, "SIGKILL")
        await cli.result
        await sleep(50)
        for (const { pid } of findProcessesWithEnv(`E2E_SANDBOX=${sb.dir}`)) {
          if (!orphans.includes(pid)) orphans.push(pid)
        }
      }
      expect(orphans.length, "the killed runners left item processes behind").toBeGreaterThan(0)
      const final = await sb.run(args, command, { env: { ...env, CHAOS_ROUND: "final" }, timeoutMs: 30_000 })
      expectExit(final, 0)
      const clashes = path.join(sb.work, "clashes.log")
      expect(fs.existsSync(clashes) ? fs.readFileSync(clashes, "utf8") : "", explain(final)).toBe("")
      expect([...readLedger(sb.work)].sort()).toEqual(ids.map((id) => `succeeded ${id}`))
      expect(orphans.filter(isAlive), "the children of the killed runners were stopped").toEqual([])
    },
    60_000
  )
})
