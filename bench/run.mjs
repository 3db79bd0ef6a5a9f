// `npm run bench`: every benchmark, one after the other, each in its own process so that one's heap
// does not weigh on the next. Figures and method are in BENCHMARKS.md; raw JSON in bench/results/.
import { execFileSync } from "node:child_process"

const steps = [
  ["build (library + CLI)", ["node", "scripts/build.mjs"]],
  ["core: 100k no-op items", ["npx", "tsx", "bench/core.ts"]],
  ["core: a million streamed items, memory", ["npx", "tsx", "bench/memory.ts"]],
  ["CLI: processes, Ctrl+C, journal overhead", ["node", "bench/cli.mjs"]],
  ["goodput under rate limits", ["node", "bench/goodput.mjs"]]
]

const only = process.argv.slice(2)
for (const [name, [command, ...args]] of steps) {
  if (only.length > 0 && !only.some((word) => name.includes(word))) continue
  process.stderr.write(`\n== ${name}\n`)
  execFileSync(command, args, { stdio: "inherit" })
}
