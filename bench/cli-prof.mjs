// Reads a .cpuprofile and shows, for functions whose name matches a pattern, their self time and the
// call stacks (innermost frames first) that lead to them, heaviest first.
//   node bench/cli-prof.mjs <file.cpuprofile> <regex> [stacks=8] [depth=12]
import { readFileSync } from "node:fs"

const [file, pattern, stacksArg, depthArg] = process.argv.slice(2)
const re = new RegExp(pattern)
const maxStacks = Number(stacksArg ?? 8)
const depth = Number(depthArg ?? 12)
const profile = JSON.parse(readFileSync(file, "utf8"))
const nodes = new Map(profile.nodes.map((n) => [n.id, n]))
const parent = new Map()
for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id)
const frame = (n) => {
  const f = n.callFrame
  const url = f.url.replace(/^file:\/\//, "").replace(/^.*\//, "")
  return `${f.functionName || "(anon)"}@${url}:${f.lineNumber + 1}`
}
const dt = new Map()
let total = 0
for (let i = 0; i < profile.samples.length; i++) {
  const d = profile.timeDeltas[i] ?? 0
  total += d
  dt.set(profile.samples[i], (dt.get(profile.samples[i]) ?? 0) + d)
}
const stacks = new Map()
let matched = 0
for (const [id, t] of dt) {
  const n = nodes.get(id)
  if (!re.test(n.callFrame.functionName)) continue
  matched += t
  const chain = []
  for (let cur = id; cur !== undefined && chain.length < depth; cur = parent.get(cur)) chain.push(frame(nodes.get(cur)))
  const key = chain.join(" < ")
  stacks.set(key, (stacks.get(key) ?? 0) + t)
}
console.log(`${pattern}: ${(matched / 1000).toFixed(1)} ms self of ${(total / 1000).toFixed(0)} ms`)
for (const [k, t] of [...stacks].sort((a, b) => b[1] - a[1]).slice(0, maxStacks)) {
  console.log(`\n${(t / 1000).toFixed(1)} ms\n  ${k.split(" < ").join("\n  < ")}`)
}
