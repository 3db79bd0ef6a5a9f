// Compares CLI bundles on N × `true` at -p P, interleaved: every round runs every bundle once, in
// rotated order, each with a fresh --state-dir. Reports median/min wall and median CPU (user+sys of
// the process and the children it waited for, from /usr/bin/time) and ratios to the first bundle.
//   node bench/cli-compare.mjs [--rounds 5] [--items 1000] [--parallel 8] name=bundle.js name2=bundle2.js ...
// CPU is measured twice: user+sys of the runner and the children it waited for (/usr/bin/time), and
// of the runner process alone (bench/cli-cpu-preload.mjs, process.cpuUsage() at exit).
import { spawn } from "node:child_process"
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { dirname, join, resolve } from "node:path"
import { fileURLToPath, pathToFileURL } from "node:url"

const argv = process.argv.slice(2)
const opt = (name, fallback) => {
  const i = argv.indexOf(`--${name}`)
  if (i === -1) return fallback
  const v = argv[i + 1]
  argv.splice(i, 2)
  return v
}
const rounds = Number(opt("rounds", "5"))
const n = Number(opt("items", "1000"))
const parallel = opt("parallel", "8")
const bundles = argv.map((a) => {
  const [name, file] = a.includes("=") ? a.split("=") : [a, a]
  return { name, file: resolve(file) }
})
const preload = pathToFileURL(join(dirname(fileURLToPath(import.meta.url)), "cli-cpu-preload.mjs")).href
const work = mkdtempSync(join(tmpdir(), "agentos-cli-compare-"))
const items = join(work, "items.txt")
writeFileSync(items, Array.from({ length: n }, (_, i) => `i${i + 1}`).join("\n") + "\n")
const loadavg = () => readFileSync("/proc/loadavg", "utf8").split(" ").slice(0, 3).join(" ")
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b)
  const m = s.length >> 1
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2
}
const runOnce = (file, stateDir) =>
  new Promise((res, rej) => {
    const cpuFile = join(work, "cpu")
    const selfFile = join(work, "self-cpu")
    rmSync(selfFile, { force: true })
    const start = process.hrtime.bigint()
    const p = spawn("/usr/bin/time", [
      "-f",
      "%U %S",
      "-o",
      cpuFile,
      process.execPath,
      "--import",
      preload,
      file,
      "run",
      "--items",
      items,
      "-p",
      parallel,
      "--state-dir",
      stateDir,
      "--",
      "true"
    ], {
      stdio: "ignore",
      env: { ...process.env, AGENTOS_BENCH_CPU_FILE: selfFile }
    })
    p.on("error", rej)
    p.on("exit", (code) => {
      const wall = Number(process.hrtime.bigint() - start) / 1e9
      const [u, s] = existsSync(cpuFile)
        ? readFileSync(cpuFile, "utf8").trim().split("\n").pop().split(" ").map(Number)
        : [NaN, NaN]
      const [su, ss] = existsSync(selfFile) ? readFileSync(selfFile, "utf8").trim().split(" ").map(Number) : [NaN, NaN]
      if (code !== 0) return rej(new Error(`${file} exited ${code}`))
      res({ wall, cpu: u + s, self: su + ss, selfSys: ss })
    })
  })
const data = Object.fromEntries(bundles.map((b) => [b.name, { wall: [], cpu: [], self: [], selfSys: [] }]))
const load0 = loadavg()
for (let r = 0; r < rounds; r++) {
  for (let i = 0; i < bundles.length; i++) {
    const b = bundles[(i + r) % bundles.length]
    const stateDir = join(work, `state-${r}-${i}`)
    const res = await runOnce(b.file, stateDir)
    rmSync(stateDir, { recursive: true, force: true })
    data[b.name].wall.push(res.wall)
    data[b.name].cpu.push(res.cpu)
    data[b.name].self.push(res.self)
    data[b.name].selfSys.push(res.selfSys)
    console.error(
      `round ${r + 1}: ${b.name} wall ${res.wall.toFixed(2)} s cpu ${res.cpu.toFixed(2)} s (runner alone ${
        res.self.toFixed(2)
      } s, sys ${res.selfSys.toFixed(2)} s)`
    )
  }
}
rmSync(work, { recursive: true, force: true })
const base = bundles[0].name
const bw = median(data[base].wall)
console.log(`${n} × true at -p ${parallel}, ${rounds} rounds; load ${load0} → ${loadavg()}`)
// Paired ratios: each round's figure over the first bundle's figure in the same round, then the median.
const paired = (name, key) => median(data[name][key].map((x, r) => x / data[base][key][r]))
console.log(
  "| bundle | median wall | min wall | median CPU (with children) | median CPU of the runner alone (sys) | wall vs first (medians) | CPU vs first (median of per-round ratios) | runner CPU vs first (median of per-round ratios) | runner CPU ms/item saved |"
)
console.log("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
for (const b of bundles) {
  const d = data[b.name]
  const w = median(d.wall)
  const c = median(d.cpu)
  const sc = median(d.self)
  const bsc = median(data[base].self)
  console.log(
    `| ${b.name} | ${w.toFixed(2)} s | ${Math.min(...d.wall).toFixed(2)} s | ${c.toFixed(2)} s | ${sc.toFixed(2)} s (${
      median(d.selfSys).toFixed(2)
    } s) | ${(w / bw).toFixed(2)}× | ${paired(b.name, "cpu").toFixed(2)}× | ${paired(b.name, "self").toFixed(2)}× | ${
      (((bsc - sc) * 1000) / n).toFixed(2)
    } |`
  )
}
