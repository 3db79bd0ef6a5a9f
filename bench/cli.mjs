// Whole-process benchmarks of the CLI (dist/bin.js) against its peers. Plain Node ESM.
//
//   node bench/cli.mjs [--only help,sleep,thousand,sigint,journal] [--rounds 5] [--items 1000]
//                      [--cli dist/bin.js] [--extra name=bundle.js ...] [--sigint-reps 10] [--keep]
//
// help      `node dist/bin.js --help` with hyperfine (target < 250 ms) and `--help | head -1` exits cleanly
// sleep     6 items × `sleep 1` at -p 3, whole command (ideal 2.0 s, target ≤ 2.3 s)
// thousand  N × `true` at -p 8 vs `xargs -P 8`, GNU parallel `-j 8 --tag --line-buffer` and a plain
//           Node child_process spawner (bench/cli-plain-spawner.mjs; also with `--files`: the same
//           spawner writing SPEC's two files per item, for reference); rounds interleaved in rotated
//           order; our CLI gets a fresh --state-dir per round and every promised file is checked
// sigint    6 cooperative children (trap TERM, exit at once) at -p 3: SIGINT once all 3 run, time to exit 130
// journal   N × `true` at -p 8: the CLI bundle as is vs a bundle whose journalFor returns the memory
//           journal (both built from one copy of src in a temporary directory), interleaved
//
// Results go to bench/results/cli.json; Markdown tables are printed on stdout. Wall times drift with
// the machine's load: compare only within one run (ratios of medians of the same run).
import { execFileSync, spawn } from "node:child_process"
import {
  closeSync,
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync
} from "node:fs"
import { createRequire } from "node:module"
import { cpus, tmpdir } from "node:os"
import { dirname, join, resolve } from "node:path"
import { fileURLToPath } from "node:url"

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..")
const require = createRequire(join(root, "package.json"))

// ---------------------------------------------------------------- options
const argv = process.argv.slice(2)
const flag = (name, fallback) => {
  const i = argv.indexOf(`--${name}`)
  return i === -1 ? fallback : argv[i + 1]
}
const only = new Set((flag("only", "help,sleep,thousand,sigint,journal")).split(","))
const rounds = Number(flag("rounds", "5"))
const itemCount = Number(flag("items", "1000"))
const cli = resolve(root, flag("cli", "dist/bin.js"))
const keep = argv.includes("--keep")
const sigintReps = Number(flag("sigint-reps", "10"))
// --extra name=bundle.js (repeatable): more CLI bundles in the 1000 × true comparison, e.g. a patched build.
const extras = argv.flatMap((a, i) => (argv[i - 1] === "--extra" ? [a] : [])).map((a) => {
  const [name, file] = a.split("=")
  return { name, file: resolve(file) }
})

const work = mkdtempSync(join(tmpdir(), "agentos-bench-cli-"))
const itemsFile = join(work, `items-${itemCount}.txt`)
writeFileSync(itemsFile, Array.from({ length: itemCount }, (_, i) => `i${i + 1}`).join("\n") + "\n")

// ---------------------------------------------------------------- helpers
const loadavg = () => readFileSync("/proc/loadavg", "utf8").split(" ").slice(0, 3).map(Number)
const sorted = (xs) => [...xs].sort((a, b) => a - b)
const median = (xs) => {
  const s = sorted(xs)
  const m = s.length >> 1
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2
}
const stats = (xs) => ({ n: xs.length, median: median(xs), min: Math.min(...xs), max: Math.max(...xs), all: xs })
const f2 = (x) => x.toFixed(2)
const f3 = (x) => x.toFixed(3)
const log = (...a) => console.error("[bench/cli]", ...a)
const have = (bin) => {
  try {
    execFileSync("sh", ["-c", `command -v ${bin}`], { stdio: "ignore" })
    return true
  } catch {
    return false
  }
}
const TIME = "/usr/bin/time"
const hasTime = existsSync(TIME)

/**
 * Runs a command to completion; returns wall seconds (measured here) and, when /usr/bin/time is
 * present, the user+sys CPU seconds of the command and everything it waited for.
 */
const timed = (file, args, { stdout = "ignore", stderr = "ignore", stdin = "ignore", env } = {}) =>
  new Promise((resolvePromise, reject) => {
    const cpuFile = join(work, `cpu-${process.hrtime.bigint()}`)
    const [f, a] = hasTime ? [TIME, ["-f", "%U %S", "-o", cpuFile, file, ...args]] : [file, args]
    const opened = []
    const fds = [[stdin, "r"], [stdout, "w"], [stderr, "w"]].map(([s, mode]) => {
      if (s === "ignore" || typeof s === "number") return s
      const fd = openSync(s, mode)
      opened.push(fd)
      return fd
    })
    const start = process.hrtime.bigint()
    const child = spawn(f, a, { stdio: fds, env: env ?? process.env })
    child.on("error", reject)
    child.on("exit", (code, signal) => {
      const wall = Number(process.hrtime.bigint() - start) / 1e9
      for (const fd of opened) closeSync(fd)
      let cpu
      if (hasTime && existsSync(cpuFile)) {
        const [u, s] = readFileSync(cpuFile, "utf8").trim().split("\n").pop().split(" ").map(Number)
        cpu = u + s
        rmSync(cpuFile, { force: true })
      }
      resolvePromise({ wall, cpu, code, signal })
    })
  })

/** Checks that a run of our CLI wrote every file SPEC promises; returns a list of problems. */
const verifyState = (stateDir, n) => {
  const problems = []
  const logsRoot = join(stateDir, "logs", "parallel")
  const stamps = existsSync(logsRoot) ? readdirSync(logsRoot) : []
  if (stamps.length !== 1) return [`expected one log directory under ${logsRoot}, found ${stamps.length}`]
  const logDir = join(logsRoot, stamps[0])
  const files = readdirSync(logDir)
  const logs = files.filter((f) => f.endsWith(".log")).length
  const audits = files.filter((f) => /^workflow-audit-.*\.jsonl$/.test(f)).length
  if (logs !== n) problems.push(`${logs} item logs, expected ${n}`)
  if (audits !== n) problems.push(`${audits} audit files, expected ${n}`)
  let summary
  try {
    summary = JSON.parse(readFileSync(join(logDir, "summary.json"), "utf8"))
    if (summary.stats?.succeeded !== n) {
      problems.push(`summary.json: ${summary.stats?.succeeded} succeeded, expected ${n}`)
    }
  } catch (e) {
    problems.push(`summary.json: ${e.message}`)
  }
  if (!existsSync(join(stateDir, "checkpoints"))) problems.push("no checkpoints directory")
  const journal = join(stateDir, "journal.db")
  let rows
  if (!existsSync(journal)) problems.push("no journal.db")
  else {
    const Database = require("better-sqlite3")
    const db = new Database(journal, { readonly: true, fileMustExist: true })
    try {
      rows = {
        runs: db.prepare("SELECT count(*) AS n FROM runs").get().n,
        itemsSucceeded: db.prepare("SELECT count(*) AS n FROM items WHERE status = 'succeeded'").get().n,
        attemptsSucceeded: db.prepare("SELECT count(*) AS n FROM attempts WHERE outcome = 'succeeded'").get().n,
        attemptsWithPid: db.prepare("SELECT count(*) AS n FROM attempts WHERE pid IS NOT NULL").get().n
      }
    } finally {
      db.close()
    }
    if (rows.runs !== 1) problems.push(`journal: ${rows.runs} runs`)
    if (rows.itemsSucceeded !== n) problems.push(`journal: ${rows.itemsSucceeded} items succeeded, expected ${n}`)
    if (rows.attemptsSucceeded !== n) {
      problems.push(`journal: ${rows.attemptsSucceeded} attempts succeeded, expected ${n}`)
    }
  }
  return { problems, logs, audits, summary: summary !== undefined, journalRows: rows }
}

const machine = () => ({
  nproc: cpus().length,
  cpu: cpus()[0]?.model,
  node: process.version,
  gnuParallel: have("parallel")
    ? execFileSync("parallel", ["--version", "--will-cite"], { encoding: "utf8" }).split("\n")[0]
    : null,
  hyperfine: have("hyperfine") ? execFileSync("hyperfine", ["--version"], { encoding: "utf8" }).trim() : null,
  kernel: execFileSync("uname", ["-r"], { encoding: "utf8" }).trim()
})

const rotated = (list, r) => list.map((_, i) => list[(i + r) % list.length])

/** Runs every contender once per round, in rotated order; per contender: wall and CPU stats. */
const interleave = async (contenders, nRounds, label) => {
  const wall = Object.fromEntries(contenders.map((c) => [c.name, []]))
  const cpu = Object.fromEntries(contenders.map((c) => [c.name, []]))
  const extra = Object.fromEntries(contenders.map((c) => [c.name, []]))
  for (let r = 0; r < nRounds; r++) {
    for (const c of rotated(contenders, r)) {
      const prepared = c.prepare ? c.prepare(r) : {}
      const res = await c.run(prepared)
      if (res.code !== 0) {
        throw new Error(`${label}: ${c.name} exited ${res.code} (signal ${res.signal}) in round ${r + 1}`)
      }
      if (c.verify) {
        const v = c.verify(prepared)
        if (v.problems.length > 0) throw new Error(`${label}: ${c.name} round ${r + 1}: ${v.problems.join("; ")}`)
        extra[c.name].push(v)
      }
      if (c.cleanup) c.cleanup(prepared)
      wall[c.name].push(res.wall)
      if (res.cpu !== undefined) cpu[c.name].push(res.cpu)
      log(
        `${label} round ${r + 1}/${nRounds}: ${c.name} ${f3(res.wall)} s${
          res.cpu !== undefined ? ` (cpu ${f2(res.cpu)} s)` : ""
        }`
      )
    }
  }
  return Object.fromEntries(contenders.map((c) => [
    c.name,
    {
      command: c.command,
      wall: stats(wall[c.name]),
      cpu: cpu[c.name].length ? stats(cpu[c.name]) : undefined,
      checks: extra[c.name].at(-1)
    }
  ]))
}

const ourRun = (bundle, tag, n, parallel, command) => ({
  name: tag,
  command: `node ${bundle.replace(root + "/", "")} run --items items.txt -p ${parallel} --state-dir <fresh> -- ${
    command.join(" ")
  }`,
  prepare: (r) => {
    const stateDir = join(work, `state-${tag.replace(/\W+/g, "_")}-${r}`)
    rmSync(stateDir, { recursive: true, force: true })
    return { stateDir }
  },
  run: ({ stateDir }) =>
    timed(process.execPath, [
      bundle,
      "run",
      "--items",
      n === itemCount ? itemsFile : itemsFileOf(n),
      "-p",
      String(parallel),
      "--state-dir",
      stateDir,
      "--",
      ...command
    ], {
      stdout: "ignore",
      stderr: "ignore"
    }),
  verify: ({ stateDir }) => verifyState(stateDir, n),
  cleanup: ({ stateDir }) => {
    if (!keep) rmSync(stateDir, { recursive: true, force: true })
  }
})
const itemsFileOf = (n) => {
  const p = join(work, `items-${n}.txt`)
  if (!existsSync(p)) writeFileSync(p, Array.from({ length: n }, (_, i) => `i${i + 1}`).join("\n") + "\n")
  return p
}

// ---------------------------------------------------------------- benchmarks
const results = {
  date: new Date().toISOString(),
  machine: machine(),
  cli: cli.replace(root + "/", ""),
  loadBefore: loadavg(),
  benchmarks: {}
}
const md = []

const benchHelp = async () => {
  const la0 = loadavg()
  const out = join(work, "hyperfine-help.json")
  let hf
  if (have("hyperfine")) {
    execFileSync("hyperfine", [
      "--warmup",
      "3",
      "--runs",
      "30",
      "-N",
      "--export-json",
      out,
      `node ${cli} --help`,
      "node -e 0"
    ], {
      stdio: ["ignore", "ignore", "inherit"]
    })
    const [r, floor] = JSON.parse(readFileSync(out, "utf8")).results
    const pick = (x) => ({
      median: x.median,
      mean: x.mean,
      min: x.min,
      max: x.max,
      stddev: x.stddev,
      runs: x.times.length
    })
    hf = { ...pick(r), nodeFloor: pick(floor) }
  }
  // `--help | head -1`: node must exit 0 and print nothing on stderr (EPIPE handled).
  const headCheck = await new Promise((res) => {
    const p = spawn("bash", [
      "-c",
      `node ${JSON.stringify(cli)} --help | head -1; echo "rc=\${PIPESTATUS[0]},\${PIPESTATUS[1]}" >&2`
    ], { stdio: ["ignore", "pipe", "pipe"] })
    let so = ""
    let se = ""
    p.stdout.on("data", (d) => (so += d))
    p.stderr.on("data", (d) => (se += d))
    p.on("close", () => {
      const m = /rc=(\d+),(\d+)/.exec(se)
      const stderr = se.replace(/rc=\d+,\d+\n?/, "")
      res({ firstLine: so.split("\n")[0], nodeExit: Number(m?.[1]), headExit: Number(m?.[2]), stderr })
    })
  })
  const clean = headCheck.nodeExit === 0 && headCheck.stderr.trim() === ""
  results.benchmarks.help = { hyperfine: hf, headCheck, clean, load: [la0, loadavg()] }
  md.push(
    `### \`--help\` start-up (hyperfine, ${hf?.runs ?? 0} runs, 3 warm-up; load ${la0.join(" ")} → ${
      loadavg().join(" ")
    })`,
    "",
    "| command | median | mean ± σ | min | max | target | verdict |",
    "|---|---:|---:|---:|---:|---|---|",
    hf
      ? [
        `| \`node dist/bin.js --help\` | ${f3(hf.median)} s | ${f3(hf.mean)} ± ${f3(hf.stddev)} s | ${f3(hf.min)} s | ${
          f3(hf.max)
        } s | < 0.250 s | ${hf.median < 0.25 ? "met" : "not met"} |`,
        `| \`node -e 0\` (floor: Node start-up alone) | ${f3(hf.nodeFloor.median)} s | ${f3(hf.nodeFloor.mean)} ± ${
          f3(hf.nodeFloor.stddev)
        } s | ${f3(hf.nodeFloor.min)} s | ${f3(hf.nodeFloor.max)} s | | help costs ${
          f3(hf.median - hf.nodeFloor.median)
        } s above the floor (${f2(hf.median / hf.nodeFloor.median)}×) |`
      ].join("\n")
      : "| hyperfine missing | | | | | | |",
    `| \`node dist/bin.js --help \\| head -1\` | node exit ${headCheck.nodeExit}, head exit ${headCheck.headExit}, stderr ${
      headCheck.stderr.trim() === "" ? "empty" : JSON.stringify(headCheck.stderr.slice(0, 200))
    } | | | | exits 0, nothing on stderr | ${clean ? "met" : "not met"} |`,
    ""
  )
}

const benchSleep = async () => {
  const la0 = loadavg()
  const six = itemsFileOf(6)
  const ours = ourRun(cli, "agentos-parallel", 6, 3, ["sleep", "1"])
  const r = await interleave(
    [
      ours,
      {
        name: "xargs -P 3",
        command: "xargs -P 3 -I{} sleep 1 < items6.txt",
        run: () => timed("xargs", ["-P", "3", "-I{}", "sleep", "1"], { stdin: six })
      },
      {
        name: "plain Node spawner",
        command: "node bench/cli-plain-spawner.mjs items6.txt 3 -- sleep 1",
        run: () => timed(process.execPath, [join(root, "bench", "cli-plain-spawner.mjs"), six, "3", "--", "sleep", "1"])
      }
    ],
    rounds,
    "sleep"
  )
  const w = r["agentos-parallel"].wall
  results.benchmarks.sleep = { contenders: r, ideal: 2.0, target: 2.3, load: [la0, loadavg()] }
  md.push(
    `### 6 items × \`sleep 1\` at \`-p 3\`, whole command (${rounds} rounds interleaved; load ${la0.join(" ")} → ${
      loadavg().join(" ")
    })`,
    "",
    "| contender | command | median | min | max | over ideal 2.0 s (median) |",
    "|---|---|---:|---:|---:|---:|",
    ...Object.entries(r).map(([name, c]) =>
      `| ${name} | \`${c.command}\` | ${f3(c.wall.median)} s | ${f3(c.wall.min)} s | ${f3(c.wall.max)} s | +${
        f3(c.wall.median - 2)
      } s |`
    ),
    "",
    "| target | measured | verdict |",
    "|---|---:|---|",
    `| whole command ≤ 2.3 s | median ${f3(w.median)} s (min ${f3(w.min)} s) | ${
      w.median <= 2.3 ? "met" : "not met"
    } |`,
    ""
  )
}

const benchThousand = async () => {
  const la0 = loadavg()
  const contenders = [
    {
      name: "xargs -P 8",
      command: `xargs -P 8 -n 1 true < items.txt`,
      run: () => timed("xargs", ["-P", "8", "-n", "1", "true"], { stdin: itemsFile })
    },
    ...(have("parallel")
      ? [{
        name: "GNU parallel -j 8 --tag --line-buffer",
        command: `parallel --will-cite -j 8 --tag --line-buffer true {} < items.txt`,
        run: () =>
          timed("parallel", ["--will-cite", "-j", "8", "--tag", "--line-buffer", "true", "{}"], { stdin: itemsFile })
      }]
      : []),
    {
      name: "plain Node spawner",
      command: `node bench/cli-plain-spawner.mjs items.txt 8 -- true`,
      run: () => timed(process.execPath, [join(root, "bench", "cli-plain-spawner.mjs"), itemsFile, "8", "--", "true"])
    },
    {
      name: "plain Node spawner + SPEC's item files",
      command: `node bench/cli-plain-spawner.mjs --files <fresh> items.txt 8 -- true`,
      run: () =>
        timed(process.execPath, [
          join(root, "bench", "cli-plain-spawner.mjs"),
          "--files",
          mkdtempSync(join(work, "plain-files-")),
          itemsFile,
          "8",
          "--",
          "true"
        ])
    },
    ourRun(cli, "agentos-parallel", itemCount, 8, ["true"]),
    ...extras.map((e) => ourRun(e.file, e.name, itemCount, 8, ["true"]))
  ]
  const r = await interleave(contenders, rounds, "thousand")
  const ours = r["agentos-parallel"].wall.median
  const plain = r["plain Node spawner"].wall.median
  const gnu = r["GNU parallel -j 8 --tag --line-buffer"]?.wall.median
  const ratios = {
    oursOverPlain: ours / plain,
    filesFloorOverPlain: r["plain Node spawner + SPEC's item files"].wall.median / plain,
    gnuOverOurs: gnu === undefined ? undefined : gnu / ours,
    oursOverXargs: ours / r["xargs -P 8"].wall.median
  }
  results.benchmarks.thousand = { contenders: r, ratios, items: itemCount, rounds, load: [la0, loadavg()] }
  const checks = r["agentos-parallel"].checks
  md.push(
    `### ${itemCount} × \`true\` at 8 in flight (${rounds} rounds, each contender once per round in rotated order; load ${
      la0.join(" ")
    } → ${loadavg().join(" ")})`,
    "",
    "| contender | command | median wall | min wall | median CPU (user+sys, children included) | wall ÷ plain spawner (medians) |",
    "|---|---|---:|---:|---:|---:|",
    ...Object.entries(r).map(([name, c]) =>
      `| ${name} | \`${c.command}\` | ${f3(c.wall.median)} s | ${f3(c.wall.min)} s | ${
        c.cpu ? `${f2(c.cpu.median)} s` : "–"
      } | ${f2(c.wall.median / plain)}× |`
    ),
    "",
    `Files checked after every round of our CLI: ${checks?.logs} item logs, ${checks?.audits} audit files, summary.json, journal rows ${
      JSON.stringify(checks?.journalRows)
    }.`,
    "",
    "| target | measured (ratio of medians, same run) | verdict |",
    "|---|---:|---|",
    `| (reference) the plain spawner writing only SPEC's item files, ÷ the plain spawner | ${
      f2(ratios.filesFloorOverPlain)
    }× | – |`,
    `| within 1.5× of the plain Node spawner | ${f2(ratios.oursOverPlain)}× | ${
      ratios.oursOverPlain <= 1.5 ? "met" : "not met"
    } |`,
    gnu === undefined
      ? "| faster than GNU parallel by ≥ 1.2× | GNU parallel missing | – |"
      : `| faster than GNU parallel by ≥ 1.2× | GNU parallel ÷ ours = ${f2(ratios.gnuOverOurs)}× | ${
        ratios.gnuOverOurs >= 1.2 ? "met" : "not met"
      } |`,
    ...extras.flatMap((e) => {
      const m = r[e.name].wall.median
      return [
        `| ${e.name}: within 1.5× of the plain Node spawner | ${f2(m / plain)}× | ${
          m / plain <= 1.5 ? "met" : "not met"
        } |`,
        gnu === undefined
          ? []
          : [
            `| ${e.name}: faster than GNU parallel by ≥ 1.2× | GNU parallel ÷ it = ${f2(gnu / m)}× | ${
              gnu / m >= 1.2 ? "met" : "not met"
            } |`
          ]
      ].flat()
    }),
    ""
  )
}

const sigintOnce = (child, stateDir) =>
  new Promise((res, rej) => {
    const p = spawn(process.execPath, [
      cli,
      "run",
      "-p",
      "3",
      "--state-dir",
      stateDir,
      ...[1, 2, 3, 4, 5, 6].flatMap((k) => ["--item", `c${k}`]),
      "--",
      ...child
    ], {
      stdio: ["ignore", "pipe", "pipe"]
    })
    let ready = 0
    let sentAt
    let buf = ""
    const timer = setTimeout(() => rej(new Error("sigint: children never all ran")), 30_000)
    p.stdout.on("data", (d) => {
      buf += d
      const lines = buf.split("\n")
      buf = lines.pop()
      for (const l of lines) if (/^\[c\d\] ready$/.test(l)) ready++
      if (ready === 3 && sentAt === undefined) {
        clearTimeout(timer)
        sentAt = process.hrtime.bigint()
        p.kill("SIGINT")
      }
    })
    p.stderr.resume()
    p.on("exit", (code) => {
      if (sentAt === undefined) return rej(new Error(`sigint: exited ${code} before the signal`))
      res({ secs: Number(process.hrtime.bigint() - sentAt) / 1e9, code })
    })
  })

const benchSigint = async () => {
  const la0 = loadavg()
  const marker = 4200 + Math.floor(Math.random() * 700)
  const variants = [
    {
      name: "Node child (no grandchildren)",
      child: [
        process.execPath,
        "-e",
        `process.on("SIGTERM", () => process.exit(0)); console.log("ready"); setTimeout(() => {}, ${marker}000)`
      ]
    },
    {
      name: "shell child with a background grandchild",
      child: ["sh", "-c", `trap 'exit 0' TERM; echo ready; sleep ${marker} & wait`]
    }
  ]
  const out = {}
  for (const v of variants) {
    const times = []
    const codes = []
    const leftovers = []
    for (let i = 0; i < sigintReps; i++) {
      const stateDir = join(work, `state-sigint-${i}`)
      rmSync(stateDir, { recursive: true, force: true })
      const t = await sigintOnce(v.child, stateDir)
      times.push(t.secs)
      codes.push(t.code)
      // No child, and no grandchild, may outlive the runner.
      await new Promise((r) => setTimeout(r, 100))
      const ps = execFileSync("ps", ["-eo", "args"], { encoding: "utf8" })
        .split("\n")
        .filter((l) => l.includes(String(marker)) && !l.startsWith("ps "))
      leftovers.push(ps.length)
      rmSync(stateDir, { recursive: true, force: true })
      log(`sigint ${v.name} ${i + 1}/${sigintReps}: ${f3(t.secs)} s, exit ${t.code}, leftovers ${ps.length}`)
    }
    out[v.name] = { child: v.child, seconds: stats(times), codes, leftovers }
  }
  results.benchmarks.sigint = { variants: out, target: 0.5, load: [la0, loadavg()] }
  md.push(
    `### Ctrl+C with cooperative children (6 items at \`-p 3\`, SIGINT once 3 print "ready"; ${sigintReps} repetitions each; load ${
      la0.join(" ")
    } → ${loadavg().join(" ")})`,
    "",
    "| child | median | min | max | runs over 0.5 s | exit codes | processes left | target | verdict |",
    "|---|---:|---:|---:|---:|---|---|---|---|",
    ...Object.entries(out).map(([name, r]) => {
      const s = r.seconds
      const all130 = r.codes.every((c) => c === 130)
      const over = s.all.filter((x) => x >= 0.5).length
      const verdict = s.median < 0.5 && all130
        ? (over === 0 ? "met" : "met at the median, not in every run")
        : "not met"
      return `| ${name} | ${f3(s.median)} s | ${f3(s.min)} s | ${f3(s.max)} s | ${over} | ${
        all130 ? "all 130" : r.codes.join(",")
      } | ${r.leftovers.reduce((a, b) => a + b, 0)} | < 0.5 s, exit 130 | ${verdict} |`
    }),
    "",
    ...variants.map((v) =>
      `- ${v.name}: \`${
        v.child.map((a) => (a.includes(" ") ? JSON.stringify(a) : a)).join(" ").replace(process.execPath, "node")
      }\``
    ),
    ""
  )
}

/** Builds two bundles from one copy of src: as is, and with the memory journal in place of SQLite. */
const buildJournalVariants = () => {
  const copy = join(work, "src-copy")
  cpSync(join(root, "src"), join(copy, "src"), { recursive: true })
  symlinkSync(join(root, "node_modules"), join(copy, "node_modules"))
  const binTs = join(copy, "src", "cli", "bin.ts")
  const source = readFileSync(binTs, "utf8")
  const pattern = /journalFor:\s*\(stateDir\)\s*=>[^\n]*SqliteJournal\.make\([^\n]*\)/
  if (!pattern.test(source)) {
    throw new Error("journal: cannot find `journalFor: (stateDir) => … SqliteJournal.make(…)` in src/cli/bin.ts")
  }
  const script = `
    import { build } from "esbuild"
    const common = { bundle: true, minify: true, platform: "node", target: "node20", format: "esm",
      external: ["better-sqlite3"], legalComments: "none", logLevel: "warning",
      banner: { js: "#!/usr/bin/env node\\nimport { createRequire as __createRequire } from \\"node:module\\";const require = __createRequire(import.meta.url);" } }
    await build({ ...common, entryPoints: [process.argv[2]], outfile: process.argv[3] })
  `
  writeFileSync(join(copy, "build.mjs"), script)
  const sqliteBundle = join(copy, "bin-sqlite.js")
  execFileSync(process.execPath, [join(copy, "build.mjs"), binTs, sqliteBundle], { cwd: copy, stdio: "inherit" })
  writeFileSync(
    join(copy, "src", "cli", "bin-memory.ts"),
    source.replace(pattern, "journalFor: () => RunJournalMemory.makeMemory").replace(
      /^/,
      "import * as RunJournalMemory from \"../RunJournal.js\"\n"
    )
  )
  const memoryBundle = join(copy, "bin-memory.js")
  execFileSync(process.execPath, [join(copy, "build.mjs"), join(copy, "src", "cli", "bin-memory.ts"), memoryBundle], {
    cwd: copy,
    stdio: "inherit"
  })
  return { sqliteBundle, memoryBundle }
}

const benchJournal = async () => {
  const la0 = loadavg()
  const { sqliteBundle, memoryBundle } = buildJournalVariants()
  const sqlite = ourRun(sqliteBundle, "SQLite journal (as shipped)", itemCount, 8, ["true"])
  const memory = ourRun(memoryBundle, "memory journal", itemCount, 8, ["true"])
  memory.verify = ({ stateDir }) => {
    const v = verifyState(stateDir, itemCount)
    // The memory variant writes no journal.db: that is the point.
    return { ...v, problems: v.problems.filter((p) => !p.startsWith("no journal.db")) }
  }
  const r = await interleave([sqlite, memory], rounds, "journal")
  const a = r[sqlite.name]
  const b = r[memory.name]
  const added = a.wall.median / b.wall.median - 1
  const addedCpu = a.cpu && b.cpu ? a.cpu.median / b.cpu.median - 1 : undefined
  results.benchmarks.journal = { contenders: r, addedWall: added, addedCpu, target: 0.15, load: [la0, loadavg()] }
  md.push(
    `### Journal overhead: ${itemCount} × \`true\` at \`-p 8\` (${rounds} rounds interleaved; both bundles built from the same copy of src; load ${
      la0.join(" ")
    } → ${loadavg().join(" ")})`,
    "",
    "| variant | median wall | min wall | median CPU |",
    "|---|---:|---:|---:|",
    ...[a, b].map((c, i) =>
      `| ${[sqlite.name, memory.name][i]} | ${f3(c.wall.median)} s | ${f3(c.wall.min)} s | ${
        c.cpu ? `${f2(c.cpu.median)} s` : "–"
      } |`
    ),
    "",
    "| target | measured (medians, same run) | verdict |",
    "|---|---:|---|",
    `| journal adds < 15% | wall +${(100 * added).toFixed(1)}%${
      addedCpu === undefined ? "" : `, CPU +${(100 * addedCpu).toFixed(1)}%`
    } | ${added < 0.15 ? "met" : "not met"} |`,
    ""
  )
}

const plan = [
  ["help", benchHelp],
  ["sleep", benchSleep],
  ["thousand", benchThousand],
  ["sigint", benchSigint],
  ["journal", benchJournal]
]
try {
  for (const [name, fn] of plan) {
    if (!only.has(name)) continue
    log(`${name}: starting (load ${loadavg().join(" ")})`)
    await fn()
  }
} finally {
  results.loadAfter = loadavg()
  mkdirSync(join(root, "bench", "results"), { recursive: true })
  const out = join(root, "bench", "results", "cli.json")
  writeFileSync(out, JSON.stringify(results, null, 2) + "\n")
  if (!keep) rmSync(work, { recursive: true, force: true })
  else log(`kept ${work}`)
  const m = results.machine
  console.log(
    [
      `Machine: ${m.nproc} × ${m.cpu}, Node ${m.node}, kernel ${m.kernel}, ${m.gnuParallel ?? "no GNU parallel"}, ${
        m.hyperfine ?? "no hyperfine"
      }.`,
      `Load average (1/5/15 min) before ${results.loadBefore.join(" ")}, after ${results.loadAfter.join(" ")}.`,
      "",
      ...md
    ].join("\n")
  )
  log(`results in ${out}`)
}
