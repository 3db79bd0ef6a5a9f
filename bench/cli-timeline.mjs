// Where the fixed cost of a short run goes: runs `6 × sleep 1 at -p 3` (or any items/command) and
// splits the whole command's time into start-up (launch → first child started), the waves, and
// shut-down (last child finished → process exit), from the audit files' timestamps.
//   node bench/cli-timeline.mjs [--cli dist/bin.js] [--runs 5] [--items 6] [--parallel 3] [-- command...]
import { spawnSync } from "node:child_process"
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { dirname, join, resolve } from "node:path"
import { fileURLToPath } from "node:url"

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..")
const argv = process.argv.slice(2)
const sep = argv.indexOf("--")
const opts = sep === -1 ? argv : argv.slice(0, sep)
const command = sep === -1 ? ["sleep", "1"] : argv.slice(sep + 1)
const opt = (name, fallback) => {
  const i = opts.indexOf(`--${name}`)
  return i === -1 ? fallback : opts[i + 1]
}
const cli = resolve(root, opt("cli", "dist/bin.js"))
const runs = Number(opt("runs", "5"))
const n = Number(opt("items", "6"))
const parallel = opt("parallel", "3")
const work = mkdtempSync(join(tmpdir(), "agentos-cli-timeline-"))
const items = join(work, "items.txt")
writeFileSync(items, Array.from({ length: n }, (_, i) => `t${i + 1}`).join("\n") + "\n")
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b)
  const m = s.length >> 1
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2
}
const rows = []
for (let r = 0; r < runs; r++) {
  const stateDir = join(work, `state-${r}`)
  const launched = Date.now()
  const res = spawnSync(process.execPath, [
    cli,
    "run",
    "--items",
    items,
    "-p",
    parallel,
    "--state-dir",
    stateDir,
    "--",
    ...command
  ], { stdio: "ignore" })
  const exited = Date.now()
  if (res.status !== 0) throw new Error(`exit ${res.status}`)
  const logRoot = join(stateDir, "logs", "parallel")
  const logDir = join(logRoot, readdirSync(logRoot)[0])
  const events = readdirSync(logDir)
    .filter((f) => f.endsWith(".jsonl"))
    .flatMap((f) => readFileSync(join(logDir, f), "utf8").trim().split("\n").map((l) => JSON.parse(l)))
  const starts = events.filter((e) => e.event === "started").map((e) => Date.parse(e.time)).sort((a, b) => a - b)
  const ends = events.filter((e) => e.event === "finished").map((e) => Date.parse(e.time)).sort((a, b) => a - b)
  rows.push({
    total: exited - launched,
    startup: starts[0] - launched,
    firstToLastStart: starts.at(-1) - starts[0],
    items: ends.at(-1) - starts[0],
    shutdown: exited - ends.at(-1)
  })
  rmSync(stateDir, { recursive: true, force: true })
}
rmSync(work, { recursive: true, force: true })
const keys = Object.keys(rows[0])
console.log(
  `${n} × ${command.join(" ")} at -p ${parallel}, ${runs} runs, ${cli.replace(root + "/", "")}; load ${
    readFileSync("/proc/loadavg", "utf8").split(" ").slice(0, 3).join(" ")
  }`
)
console.log("| phase | median ms | min ms | max ms |")
console.log("|---|---:|---:|---:|")
const label = {
  total: "whole command (launch → exit)",
  startup: "start-up: launch → first item started",
  firstToLastStart: "first → last item started",
  items: "first item started → last item finished",
  shutdown: "shut-down: last item finished → exit"
}
for (const k of keys) {
  const xs = rows.map((x) => x[k])
  console.log(`| ${label[k]} | ${median(xs)} | ${Math.min(...xs)} | ${Math.max(...xs)} |`)
}
