// Summarises a .cpuprofile: the hottest functions by self time and by inclusive time.
//   node bench/prof-summary.mjs <file.cpuprofile> [top=30] [filter-substring]
import { readFileSync } from "node:fs"

const [file, topArg, filter] = process.argv.slice(2)
const top = Number(topArg ?? 30)
const profile = JSON.parse(readFileSync(file, "utf8"))
const nodes = new Map(profile.nodes.map((n) => [n.id, n]))
const parent = new Map()
for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id)
const dt = new Map()
for (let i = 0; i < profile.samples.length; i++) {
  dt.set(profile.samples[i], (dt.get(profile.samples[i]) ?? 0) + (profile.timeDeltas[i] ?? 0))
}
const key = (n) => {
  const f = n.callFrame
  const url = f.url.replace(/^file:\/\//, "").replace(process.cwd() + "/", "")
  return `${f.functionName || "(anonymous)"} ${url}:${f.lineNumber + 1}:${f.columnNumber + 1}`
}
const self = new Map()
const incl = new Map()
let total = 0
for (const [id, t] of dt) {
  total += t
  const n = nodes.get(id)
  self.set(key(n), (self.get(key(n)) ?? 0) + t)
  const seen = new Set()
  for (let cur = id; cur !== undefined; cur = parent.get(cur)) {
    const k = key(nodes.get(cur))
    if (seen.has(k)) continue
    seen.add(k)
    incl.set(k, (incl.get(k) ?? 0) + t)
  }
}
const show = (title, m) => {
  console.log(`\n## ${title} (total ${(total / 1000).toFixed(0)} ms)`)
  const rows = [...m].filter(([k]) => filter === undefined || k.includes(filter)).sort((a, b) => b[1] - a[1]).slice(
    0,
    top
  )
  for (const [k, t] of rows) {
    console.log(`${(t / 1000).toFixed(1).padStart(9)} ms ${((100 * t) / total).toFixed(1).padStart(5)}%  ${k}`)
  }
}
show("self", self)
show("inclusive", incl)
