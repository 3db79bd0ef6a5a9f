// `npm run bench`: every benchmark, one after the other, each in its own process so that one's heap
// does not weigh on the next. Figures and method are in BENCHMARKS.md; raw JSON in bench/results/.
//   npm run bench                 all of them
//   npm run bench -- core goodput only those whose name contains one of the words
import { build } from "esbuild"
import { execFileSync } from "node:child_process"

const node = (...args) => execFileSync(process.execPath, args, { stdio: "inherit" })

const steps = [
  ["build (library + CLI)", () => node("scripts/build.mjs")],
  ["core: 100k no-op items", async () => {
    // Bundled and run under plain node: tsx's loader adds memory and slows closures (BENCHMARKS.md).
    await build({
      entryPoints: ["bench/core.ts", "bench/memory.ts"],
      bundle: true,
      platform: "node",
      format: "esm",
      packages: "external",
      outdir: "bench/results",
      outExtension: { ".js": ".mjs" },
      logLevel: "warning"
    })
    node("--expose-gc", "bench/results/core.mjs")
  }],
  ["core: a million streamed items, memory", () => node("bench/results/memory.mjs")],
  ["CLI: processes, Ctrl+C, journal overhead", () => node("bench/cli.mjs")],
  ["goodput under rate limits", () => node("bench/goodput.mjs")]
]

const only = process.argv.slice(2)
for (const [name, run] of steps) {
  if (only.length > 0 && !name.startsWith("build") && !only.some((word) => name.includes(word))) continue
  process.stderr.write(`\n== ${name}\n`)
  await run()
}
