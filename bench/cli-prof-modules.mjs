// Self time of a .cpuprofile grouped by source module. Frames in an unminified esbuild bundle are
// mapped to the module they came from through esbuild's "// path/to/module.js" section comments;
// other frames are grouped as node internals, native calls (by name), GC, idle.
//   node bench/cli-prof-modules.mjs <file.cpuprofile> <unminified-bundle.js> [top=40] [items]
import { readFileSync } from "node:fs"

const [file, bundle, topArg, itemsArg] = process.argv.slice(2)
const top = Number(topArg ?? 40)
const items = itemsArg === undefined ? undefined : Number(itemsArg)
const sections = []
readFileSync(bundle, "utf8").split("\n").forEach((line, i) => {
  const m = /^\/\/ (\S+\.(?:m?js|ts))$/.exec(line)
  if (m) sections.push([i, m[1].replace(/^(\.\.\/)+work\/main\//, "").replace(/^.*node_modules\//, "")])
})
const moduleAt = (line) => {
  let lo = 0
  let hi = sections.length - 1
  let found = "(bundle prologue)"
  while (lo <= hi) {
    const mid = (lo + hi) >> 1
    if (sections[mid][0] <= line) {
      found = sections[mid][1]
      lo = mid + 1
    } else hi = mid - 1
  }
  return found
}
const profile = JSON.parse(readFileSync(file, "utf8"))
const nodes = new Map(profile.nodes.map((n) => [n.id, n]))
const bundleName = bundle.replace(/^.*\//, "")
const group = (n) => {
  const f = n.callFrame
  if (f.url.endsWith(bundleName)) return moduleAt(f.lineNumber)
  if (f.url === "") {
    if (/^\((garbage collector|idle|program|root)\)$/.test(f.functionName)) return f.functionName
    return `native ${f.functionName}`
  }
  if (f.url.includes("better-sqlite3")) return "better-sqlite3 (js)"
  if (f.url.startsWith("node:")) {
    return `${f.url.replace(/^node:internal\//, "node:").replace(/\/.*$/, "")} ${
      f.functionName === "ChildProcess.spawn" ? "(ChildProcess.spawn)" : ""
    }`.trim()
  }
  return f.url.replace(/^file:\/\//, "")
}
const self = new Map()
let total = 0
for (let i = 0; i < profile.samples.length; i++) {
  const d = profile.timeDeltas[i] ?? 0
  total += d
  const g = group(nodes.get(profile.samples[i]))
  self.set(g, (self.get(g) ?? 0) + d)
}
// Coarse categories, for a per-item budget.
const category = (g) =>
  g.includes("ChildProcess.spawn") ?
    "spawn (fork + exec, synchronous)"
    : /^effect\//.test(g) ?
    "Effect runtime and data types (effect/*)"
    : /^@effect\/(sql|sql-sqlite-node)\/|better-sqlite3|SqliteJournal/.test(g) ?
    "journal (@effect/sql, better-sqlite3, SqliteJournal)"
    : /^@effect\/platform/.test(g) ?
    "@effect/platform (Command, FileSystem)"
    : /^@effect\//.test(g) ?
    "other @effect/*"
    : /^native (open|close|lstat|access|stat|unlink|rm|writeBuffer|writeString|read|fstat|FSReqCallback|readFileUtf8)/
        .test(g) ?
    "file system calls"
    : g === "(garbage collector)" ?
    "garbage collector"
    : g === "(idle)" ?
    "idle (waiting for children)"
    : /^src\//.test(g) ?
    "agentos-parallel src/*"
    : /^node:/.test(g) ?
    "node internals (streams, net, events, ...)"
    : "other"
const cats = new Map()
for (const [g, t] of self) cats.set(category(g), (cats.get(category(g)) ?? 0) + t)
console.log("by category:")
for (const [k, t] of [...cats].sort((a, b) => b[1] - a[1])) {
  console.log(
    `${(t / 1000).toFixed(1).padStart(9)} ms ${((100 * t) / total).toFixed(1).padStart(5)}%${
      items ? ` ${(t / 1000 / items).toFixed(3).padStart(7)} ms/item` : ""
    }  ${k}`
  )
}
console.log("\nby module:")
console.log(`total ${(total / 1000).toFixed(0)} ms${items ? `, ${(total / 1000 / items).toFixed(2)} ms per item` : ""}`)
for (const [k, t] of [...self].sort((a, b) => b[1] - a[1]).slice(0, top)) {
  console.log(
    `${(t / 1000).toFixed(1).padStart(9)} ms ${((100 * t) / total).toFixed(1).padStart(5)}%${
      items ? ` ${(t / 1000 / items).toFixed(3).padStart(7)} ms/item` : ""
    }  ${k}`
  )
}
