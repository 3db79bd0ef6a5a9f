#!/usr/bin/env node
/**
 * Goodput under rate limits: the built CLI runs the example workflow (examples/llm-workflow.mjs,
 * three chat-completion steps per item) on 50 items at `-p 3` against the mock provider with 3
 * keys of 5 requests per 1 s window each (fixed window). 150 requests at 15 per second: the ideal
 * makespan is 150 / 15 = 10 s (30 s with a single key).
 *
 *   node scripts/build.mjs            # the library (dist/MockProvider.js) and the CLI (dist/bin.js)
 *   node bench/goodput.mjs [--rounds 3] [--items 50] [--latency-ms 0] [--only ours,seed] [--keep]
 *                          [--startup-samples 10] [--workflow examples/llm-workflow.mjs]
 *
 * Strategies (each round runs all of them, in a rotated order, each on a fresh provider):
 *   ours            the example as shipped: paces itself by x-ratelimit-remaining/-reset-requests, and
 *                   on a 429 prints `::rate-limited retry-after=S::` and exits 75 (the key cools S)
 *   ours-no-pacing  the same with AGENTOS_PACE=0: only the retry-after protocol
 *   seed            the seed's strategy: on a 429 exit 75 without a retry-after (AGENTOS_ON_429=exit-blind),
 *                   the key cools for a fixed --backoff: the seed's 60 s for a 60 s (per-minute) window,
 *                   scaled to this 1 s window: --backoff 1s. No pacing.
 *   retry-now       immediate retry: the workflow sends the request again at once on a 429, never exits 75
 *                   (AGENTOS_ON_429=retry-now). No pacing.
 *   single-key      the example as shipped with one key in the credentials file (ideal 30 s)
 *   wait-no-pacing  reference: on a 429 the workflow waits for the retry-after in the same process and
 *                   sends again (AGENTOS_ON_429=wait), no pacing: ours-no-pacing without the restarts,
 *                   so the difference between the two is what restarting as a new process costs
 *
 * Measured per run: makespan (the whole `agentos-parallel run` command, spawn to exit), the run's own
 * duration (summary.json), requests, 429s and `early` requests (sent to a key before the retry-after
 * it was given had passed) from the provider's counters, restarts (the items' `rateLimits` in the
 * `--json` summary), and a timeline of every request (arrival, key, sending process — item and
 * start, from the example's `x-client-request-id` —, status, retry-after-ms) recorded in this
 * process through node's `http.server.request.start` diagnostics channel. From that timeline, per
 * key, the fixed-window limiter is replayed (see `analyse`) to find the time lost on the key: windows
 * opening later than the previous one closed, charged to a restart after a 429, to item turnover
 * (one item's process ended, the next one's started) or to the same process; and unused slots.
 * Each restart's idle time (the key's reset to the replacement's first request) is split with the
 * audit log (`workflow-audit-*.jsonl`): runner side (the key's reset to the replacement's `started`
 * event: child exit, notice, cooldown jitter, dispatch) and process side (`started` to its first
 * request: node start-up, checkpoint resume).
 * Separately, the bare start-up of a resumed workflow process (spawn to first request, no runner) is
 * timed on its own provider.
 *
 * Output: a markdown table on stdout; everything in bench/results/goodput.json.
 */
import Database from "better-sqlite3"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Scope from "effect/Scope"
import { spawn } from "node:child_process"
import dc from "node:diagnostics_channel"
import { closeSync, mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { cpus, loadavg, tmpdir } from "node:os"
import { dirname, join, resolve } from "node:path"
import { fileURLToPath } from "node:url"
import { serve } from "../dist/MockProvider.js"

const root = join(dirname(fileURLToPath(import.meta.url)), "..")
const BIN = join(root, "dist", "bin.js")
const RESULTS = join(root, "bench", "results", "goodput.json")

// ---------------------------------------------------------------------------------------------
// options

const argOf = (name) => {
  const i = process.argv.indexOf(`--${name}`)
  return i === -1 ? undefined : process.argv[i + 1]
}
const wholeNumber = (name, fallback) => {
  const raw = argOf(name)
  if (raw === undefined) return fallback
  const n = Number(raw)
  if (!Number.isInteger(n) || n < 0) throw new Error(`--${name} expects a whole number, received ${raw}`)
  return n
}
const ROUNDS = wholeNumber("rounds", 1)
const ITEMS = wholeNumber("items", 50)
const LATENCY_MS = wholeNumber("latency-ms", 0)
const STARTUP_SAMPLES = wholeNumber("startup-samples", 10)
const KEEP = process.argv.includes("--keep")
const WORKFLOW = resolve(argOf("workflow") ?? join(root, "examples", "llm-workflow.mjs"))
const KEYS = ["sk-goodput-alpha", "sk-goodput-bravo", "sk-goodput-charlie"]
const LIMIT = 5
const WINDOW_MS = 1000
const PARALLEL = 3
const STEPS = 3

const STRATEGIES = [
  { name: "ours", what: "example as shipped: pacing by headers + exit 75 with retry-after", keys: 3, env: {} },
  { name: "ours-no-pacing", what: "exit 75 with retry-after, no pacing", keys: 3, env: { AGENTOS_PACE: "0" } },
  {
    name: "seed",
    what: "(a) exit 75 without retry-after, fixed --backoff 1s (seed's 60 s per 60 s window), no pacing",
    keys: 3,
    env: { AGENTOS_PACE: "0", AGENTOS_ON_429: "exit-blind" },
    args: ["--backoff", "1s"]
  },
  {
    name: "retry-now",
    what: "(b) immediate retry in the workflow on 429, no pacing",
    keys: 3,
    env: { AGENTOS_PACE: "0", AGENTOS_ON_429: "retry-now" }
  },
  { name: "single-key", what: "(c) example as shipped, one key", keys: 1, env: {} },
  {
    name: "wait-no-pacing",
    what: "reference: on 429 wait the retry-after in the same process (no restart), no pacing",
    keys: 3,
    env: { AGENTOS_PACE: "0", AGENTOS_ON_429: "wait" }
  }
]
const only = argOf("only")?.split(",")
const strategies = only === undefined ? STRATEGIES : STRATEGIES.filter((s) => only.includes(s.name))
if (strategies.length === 0) throw new Error(`--only: none of ${only} is one of ${STRATEGIES.map((s) => s.name)}`)

// ---------------------------------------------------------------------------------------------
// the request timeline, from node's http diagnostics channel (this process serves the provider)

let timeline = []
const labelOf = new Map(KEYS.map((k, i) => [k, `key-${i + 1}`]))
dc.subscribe("http.server.request.start", ({ request, response, socket }) => {
  const key = /^Bearer\s+(\S+)/i.exec(request.headers.authorization ?? "")?.[1]
  const entry = {
    t: Date.now(),
    label: labelOf.get(key) ?? "other",
    // The process that sent it: the example sends `x-client-request-id: <item>:<start>:<step>:<try>`.
    client: /^([^:]+:[^:]+):/.exec(request.headers["x-client-request-id"] ?? "")?.[1] ?? `socket ${socket.remotePort}`,
    status: 0,
    retryAfterMs: undefined
  }
  timeline.push(entry)
  response.on("finish", () => {
    entry.status = response.statusCode
    // The provider sets its headers through writeHead: read them from the header block sent.
    const m = /\r\nretry-after-ms: *(\d+)/i.exec(response._header ?? "")
    if (m !== null) entry.retryAfterMs = Number(m[1])
  })
})

const withProvider = async (options, use) => {
  const scope = Effect.runSync(Scope.make())
  try {
    const provider = await Effect.runPromise(Scope.extend(serve(options), scope))
    return await use(provider)
  } finally {
    await Effect.runPromise(Scope.close(scope, Exit.void))
  }
}

const cleanEnv = () => {
  const env = { ...process.env }
  for (const name of Object.keys(env)) if (name.startsWith("AGENTOS_")) delete env[name]
  return env
}

// ---------------------------------------------------------------------------------------------
// one run

const itemIds = Array.from({ length: ITEMS }, (_, i) => `GP-${String(i + 1).padStart(3, "0")}`)

const runOnce = async (strategy, round) => {
  const dir = mkdtempSync(join(tmpdir(), `agentos-goodput-${strategy.name}-`))
  const itemsFile = join(dir, "items.txt")
  const keysFile = join(dir, "keys.txt")
  writeFileSync(itemsFile, itemIds.join("\n") + "\n")
  writeFileSync(keysFile, KEYS.slice(0, strategy.keys).map((k, i) => `key-${i + 1}=${k}`).join("\n") + "\n")
  const keys = KEYS.slice(0, strategy.keys)
  const loadBefore = loadavg()[0]
  timeline = []
  const result = await withProvider(
    { keys, limit: LIMIT, window: `${WINDOW_MS} millis`, algorithm: "fixed-window", latency: `${LATENCY_MS} millis` },
    async (provider) => {
      const stderrPath = join(dir, "cli-stderr.txt")
      const stderrFd = openSync(stderrPath, "w")
      const args = [
        BIN,
        "run",
        "--items",
        itemsFile,
        "-p",
        String(PARALLEL),
        "--credentials-file",
        keysFile,
        "--state-dir",
        join(dir, "state"),
        "--name",
        `goodput-${strategy.name}`,
        "--fresh",
        "--json",
        ...(strategy.args ?? []),
        "--",
        process.execPath,
        strategy.workflow ?? WORKFLOW,
        "{id}"
      ]
      const started = Date.now()
      const t0 = performance.now()
      const child = spawn(process.execPath, args, {
        cwd: dir,
        env: { ...cleanEnv(), AGENTOS_PROVIDER_URL: provider.url, ...strategy.env },
        stdio: ["ignore", "pipe", stderrFd]
      })
      let stdout = ""
      child.stdout.setEncoding("utf8").on("data", (chunk) => (stdout += chunk))
      const code = await new Promise((resolve, reject) => {
        child.on("error", reject)
        child.on("close", (c, signal) => resolve(c ?? signal))
      })
      const makespanMs = performance.now() - t0
      const ended = Date.now()
      closeSync(stderrFd)
      const stats = await Effect.runPromise(provider.stats)
      let summary
      try {
        summary = JSON.parse(stdout)
      } catch {
        throw new Error(`${strategy.name}: no JSON summary (exit ${code}); see ${stderrPath}`)
      }
      return { code, makespanMs, started, ended, stats, summary, stderrPath }
    }
  )
  const { code, makespanMs, started, ended, stats, summary } = result
  const succeeded = summary.results.filter((r) => r.status === "succeeded").length
  if (code !== 0 || succeeded !== ITEMS) {
    throw new Error(`${strategy.name}: exit ${code}, ${succeeded}/${ITEMS} succeeded; see ${result.stderrPath}`)
  }
  const audit = readAudit(summary.logDir)
  const analysis = analyse(timeline.filter((e) => e.label !== "other"), audit, started, ended, keys.length)
  const needed = ITEMS * STEPS
  const idealMs = (needed / (keys.length * LIMIT)) * WINDOW_MS
  const run = {
    strategy: strategy.name,
    round,
    load1: [loadBefore, loadavg()[0]].map((x) => Number(x.toFixed(2))),
    exitCode: code,
    makespanMs,
    runDurationMs: summary.duration,
    idealMs,
    ratio: makespanMs / idealMs,
    requests: stats.totals.requests,
    accepted: stats.totals.accepted,
    rateLimited: stats.totals.rateLimited,
    rateLimitedShare: stats.totals.rateLimited / stats.totals.requests,
    early: stats.totals.early,
    restarts: summary.results.reduce((n, r) => n + (r.rateLimits ?? 0), 0),
    keys: stats.keys,
    credentials: summary.credentials,
    overhead: summary.overhead,
    ...analysis
  }
  if (KEEP) run.dir = dir
  else rmSync(dir, { recursive: true, force: true })
  return run
}

const readAudit = (logDir) => {
  const events = []
  for (const file of readdirSync(logDir)) {
    if (!file.startsWith("workflow-audit-")) continue
    for (const line of readFileSync(join(logDir, file), "utf8").split("\n")) {
      if (line.trim() !== "") events.push({ ...JSON.parse(line), t: Date.parse(JSON.parse(line).time) })
    }
  }
  return events.sort((a, b) => a.t - b.t)
}

const sum = (xs) => xs.reduce((a, b) => a + b, 0)
/** The median of the defined values, or undefined when there is none. */
const median = (values) => {
  const xs = values.filter((x) => x !== undefined && !Number.isNaN(x))
  if (xs.length === 0) return undefined
  const s = [...xs].sort((a, b) => a - b)
  const m = s.length >> 1
  return s.length % 2 === 1 ? s[m] : (s[m - 1] + s[m]) / 2
}

/**
 * Per key, replays the provider's fixed-window limiter over the recorded requests (a window opens
 * with the first request after the previous one closed and takes LIMIT requests). Time is lost on
 * a key in two ways only: a window that opens later than the previous one closed (an opening gap:
 * the key could take requests and none came), charged to what came before the request that opened
 * it — a 429 answered to another process (`restart`: the item exited 75 and was restarted), another
 * process's last request (`turnover`: one item ended, the next one started), or the same process
 * (`inProcess`: pacing overshoot, the client's own work) — and a window that closes with fewer than
 * LIMIT requests (`unusedSlots`, the last window excepted).
 */
const analyse = (requests, audit, started, ended, keyCount) => {
  const perKey = []
  const restarts = []
  for (let k = 1; k <= keyCount; k++) {
    const label = `key-${k}`
    const rs = requests.filter((r) => r.label === label).sort((a, b) => a.t - b.t)
    if (rs.length === 0) continue
    const windows = []
    let mismatches = 0
    for (const [i, r] of rs.entries()) {
      let w = windows[windows.length - 1]
      if (w === undefined || r.t >= w.open + WINDOW_MS) {
        w = { open: r.t, accepted: 0, opener: i }
        windows.push(w)
      }
      const accepted = w.accepted < LIMIT
      if (accepted) w.accepted++
      if (accepted !== (r.status === 200)) mismatches++
    }
    const gaps = { restart: 0, turnover: 0, inProcess: 0 }
    for (let j = 1; j < windows.length; j++) {
      const gap = windows[j].open - (windows[j - 1].open + WINDOW_MS)
      const opener = rs[windows[j].opener]
      const before = rs[windows[j].opener - 1]
      const cause = before.client === opener.client ? "inProcess" : before.status === 429 ? "restart" : "turnover"
      gaps[cause] += gap
    }
    const unusedSlots = sum(windows.slice(0, -1).map((w) => LIMIT - w.accepted))
    // Each restart: from the key's reset (the 429's arrival + its retry-after) to the next request on
    // the key, split at the replacement's `started` audit event.
    for (const [i, r] of rs.entries()) {
      const next = rs[i + 1]
      if (r.status !== 429 || next === undefined || next.client === r.client) continue
      const reset = r.t + (r.retryAfterMs ?? 0)
      const start = audit.find((e) => e.event === "started" && e.label === label && e.t >= r.t)
      restarts.push({
        label,
        at: r.t - started,
        retryAfterMs: r.retryAfterMs,
        idleMs: next.t - reset,
        runnerSideMs: start === undefined ? undefined : start.t - reset,
        processSideMs: start === undefined ? undefined : next.t - start.t
      })
    }
    const accepted = sum(windows.map((w) => w.accepted))
    perKey.push({
      label,
      requests: rs.length,
      accepted,
      windows: windows.length,
      minimalWindows: Math.ceil(accepted / LIMIT),
      leadMs: rs[0].t - started,
      lastRequestMs: rs[rs.length - 1].t - started,
      tailMs: ended - rs[rs.length - 1].t,
      gapsMs: gaps,
      unusedSlots,
      limiterMismatches: mismatches
    })
  }
  const critical = perKey.reduce((a, b) => (b.lastRequestMs > a.lastRequestMs ? b : a))
  const got = (xs, f) => xs.map(f).filter((x) => x !== undefined)
  return {
    perKey,
    critical: critical.label,
    restartsMeasured: restarts.length,
    restartIdleTotalMs: sum(restarts.map((r) => r.idleMs)),
    restartIdleMedianMs: median(restarts.map((r) => r.idleMs)),
    restartRunnerSideMedianMs: median(got(restarts, (r) => r.runnerSideMs)),
    restartProcessSideMedianMs: median(got(restarts, (r) => r.processSideMs)),
    restartList: restarts
  }
}

// ---------------------------------------------------------------------------------------------
// bare start-up of a resumed workflow process: spawn to its first request, no runner

const startupCost = async () => {
  const dir = mkdtempSync(join(tmpdir(), "agentos-goodput-startup-"))
  const key = "sk-goodput-startup"
  const samples = []
  try {
    await withProvider({ keys: [key], limit: 1_000_000, window: "1 second" }, async (provider) => {
      for (let i = 0; i < STARTUP_SAMPLES; i++) {
        const dbPath = join(dir, `S-${i}.db`)
        const db = new Database(dbPath)
        db.exec(`CREATE TABLE steps (step TEXT PRIMARY KEY, position INTEGER NOT NULL, content TEXT NOT NULL,
          label TEXT, attempt INTEGER, finished_at TEXT NOT NULL)`)
        const save = db.prepare("INSERT INTO steps VALUES (?, ?, ?, ?, ?, ?)")
        save.run("outline", 1, "an outline", "key-1", 1, new Date().toISOString())
        save.run("design", 2, "a design", "key-1", 1, new Date().toISOString())
        db.close()
        timeline = []
        const t0 = Date.now()
        const child = spawn(process.execPath, [WORKFLOW, `S-${i}`], {
          env: {
            ...cleanEnv(),
            AGENTOS_ITEM_ID: `S-${i}`,
            AGENTOS_WORKFLOW_DB: dbPath,
            AGENTOS_CREDENTIAL: key,
            AGENTOS_CREDENTIAL_LABEL: "key-1",
            AGENTOS_ATTEMPT: "2",
            AGENTOS_PROVIDER_URL: provider.url
          },
          stdio: "ignore"
        })
        const code = await new Promise((resolve) => child.on("close", (c) => resolve(c)))
        const exitMs = Date.now() - t0
        if (code !== 0 || timeline.length !== 1) throw new Error(`start-up sample ${i}: exit ${code}`)
        samples.push({ firstRequestMs: timeline[0].t - t0, exitMs })
      }
    })
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
  return {
    samples,
    firstRequestMedianMs: median(samples.map((s) => s.firstRequestMs)),
    exitMedianMs: median(samples.map((s) => s.exitMs))
  }
}

// ---------------------------------------------------------------------------------------------
// main

const machine = () => ({
  nproc: cpus().length,
  cpu: cpus()[0]?.model ?? "unknown",
  node: process.version,
  loadavg: loadavg().map((x) => Number(x.toFixed(2)))
})

const before = machine()
console.error(
  `goodput: ${ITEMS} items x ${STEPS} steps, ${KEYS.length} keys of ${LIMIT}/${WINDOW_MS}ms (fixed window), ` +
    `-p ${PARALLEL}, latency ${LATENCY_MS} ms, ${ROUNDS} round(s); ${before.nproc} x ${before.cpu}, node ${before.node}, ` +
    `load ${before.loadavg.join(" ")}`
)
const runs = []
for (let round = 0; round < ROUNDS; round++) {
  const order = strategies.map((_, i) => strategies[(i + round) % strategies.length])
  for (const strategy of order) {
    const run = await runOnce(strategy, round + 1)
    runs.push(run)
    console.error(
      `  round ${round + 1} ${strategy.name}: ${(run.makespanMs / 1000).toFixed(2)} s, ${run.requests} requests, ` +
        `${run.rateLimited} 429s, ${run.early} early, ${run.restarts} restarts (load ${run.load1.join(" → ")})`
    )
  }
}
const startup = await startupCost()
const after = machine()

const rows = strategies.map((s) => {
  const rs = runs.filter((r) => r.strategy === s.name)
  const m = (f) => median(rs.map(f))
  const critical = (f) => median(rs.map((r) => f(r.perKey.find((k) => k.label === r.critical))))
  return {
    strategy: s.name,
    what: s.what,
    runs: rs.length,
    makespanMs: m((r) => r.makespanMs),
    makespanMinMs: Math.min(...rs.map((r) => r.makespanMs)),
    makespanMaxMs: Math.max(...rs.map((r) => r.makespanMs)),
    runDurationMs: m((r) => r.runDurationMs),
    idealMs: rs[0].idealMs,
    ratio: m((r) => r.ratio),
    requests: m((r) => r.requests),
    rateLimited: m((r) => r.rateLimited),
    rateLimitedShare: m((r) => r.rateLimitedShare),
    early: m((r) => r.early),
    restarts: m((r) => r.restarts),
    restartIdleMedianMs: m((r) => r.restartIdleMedianMs),
    restartRunnerSideMedianMs: m((r) => r.restartRunnerSideMedianMs),
    restartProcessSideMedianMs: m((r) => r.restartProcessSideMedianMs),
    criticalKey: {
      leadMs: critical((k) => k.leadMs),
      tailMs: critical((k) => k.tailMs),
      restartGapsMs: critical((k) => k.gapsMs.restart),
      turnoverGapsMs: critical((k) => k.gapsMs.turnover),
      inProcessGapsMs: critical((k) => k.gapsMs.inProcess),
      unusedSlots: critical((k) => k.unusedSlots)
    },
    restartIdleTotalMs: m((r) => r.restartIdleTotalMs),
    // The restarts' idle key-time, spread over the keys, against the gap to the ideal.
    restartShareOfGap: m((r) => {
      const gap = r.makespanMs - r.idealMs
      return gap > 0 ? r.restartIdleTotalMs / r.perKey.length / gap : undefined
    }),
    targets: {
      makespan: m((r) => r.ratio) <= 1.15,
      rateLimited: m((r) => r.rateLimitedShare) <= 0.1,
      early: Math.max(...rs.map((r) => r.early)) === 0
    }
  }
})

/** ours-no-pacing against wait-no-pacing: the same 429s, with and without a restart as a new process. */
const restartAB = () => {
  const exit = rows.find((r) => r.strategy === "ours-no-pacing")
  const wait = rows.find((r) => r.strategy === "wait-no-pacing")
  if (exit === undefined || wait === undefined) return []
  const cost = exit.makespanMs - wait.makespanMs
  return [
    "",
    `Restart as a new process, A/B (medians): ours-no-pacing ${s(exit.makespanMs)} s − wait-no-pacing ${
      s(wait.makespanMs)
    } s = ${s(cost)} s, ${pct(cost / (exit.makespanMs - exit.idealMs))} of ours-no-pacing's gap to the ideal.`
  ]
}
const s = (ms) => (ms === undefined ? "–" : `${(ms / 1000).toFixed(2)}`)
const pct = (x) => (x === undefined ? "–" : `${(100 * x).toFixed(1)}%`)
const ms = (x) => (x === undefined ? "–" : `${Math.round(x)}`)
const yes = (b) => (b ? "met" : "not met")
const table = [
  "| strategy | makespan s (min–max) | ideal s | ratio | requests | 429s (% of requests) | early | restarts | ≤ 1.15 × ideal | 429s ≤ 10% | zero early |",
  "|---|---|---|---|---|---|---|---|---|---|---|",
  ...rows.map((r) =>
    `| ${r.strategy} | ${s(r.makespanMs)} (${s(r.makespanMinMs)}–${s(r.makespanMaxMs)}) | ${s(r.idealMs)} | ${
      r.ratio.toFixed(2)
    } | ${r.requests} | ${r.rateLimited} (${pct(r.rateLimitedShare)}) | ${r.early} | ${r.restarts} | ${
      yes(r.targets.makespan)
    } | ${yes(r.targets.rateLimited)} | ${yes(r.targets.early)} |`
  ),
  "",
  "Where the time goes, on the key that finished last (seconds; medians over rounds):",
  "",
  "| strategy | lead | window-opening gaps: restart / turnover / in-process | unused slots | tail | restart idle, median ms (runner side + process side) | restart idle ÷ keys ÷ (makespan − ideal) |",
  "|---|---|---|---|---|---|---|",
  ...rows.map((r) =>
    `| ${r.strategy} | ${s(r.criticalKey.leadMs)} | ${s(r.criticalKey.restartGapsMs)} / ${
      s(r.criticalKey.turnoverGapsMs)
    } / ${s(r.criticalKey.inProcessGapsMs)} | ${r.criticalKey.unusedSlots} | ${s(r.criticalKey.tailMs)} | ${
      ms(r.restartIdleMedianMs)
    } (${ms(r.restartRunnerSideMedianMs)} + ${ms(r.restartProcessSideMedianMs)}) | ${pct(r.restartShareOfGap)} |`
  ),
  ...restartAB(),
  "",
  `Bare start-up of a resumed workflow process (spawn to first request, median of ${startup.samples.length}): ` +
  `${ms(startup.firstRequestMedianMs)} ms; spawn to exit ${ms(startup.exitMedianMs)} ms.`
].join("\n")
console.log(table)

mkdirSync(dirname(RESULTS), { recursive: true })
writeFileSync(
  RESULTS,
  JSON.stringify(
    {
      date: new Date().toISOString(),
      setup: {
        items: ITEMS,
        steps: STEPS,
        keys: KEYS.length,
        limit: LIMIT,
        windowMs: WINDOW_MS,
        algorithm: "fixed-window",
        latencyMs: LATENCY_MS,
        parallel: PARALLEL,
        rounds: ROUNDS
      },
      machine: { ...before, loadavgAfter: after.loadavg },
      rows,
      startup,
      runs
    },
    null,
    2
  ) + "\n"
)
console.error(`results: ${RESULTS}`)
