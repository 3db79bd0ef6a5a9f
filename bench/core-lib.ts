/**
 * The library under benchmark. By default the built package, `dist/index.js` (the tsc output users
 * get; `npm run build` first). `BENCH_LIB=<path to an index.js or index.ts>` loads another build,
 * e.g. `BENCH_LIB=src/index.ts` for the sources through tsx — slower: tsx wraps every closure in a
 * `__name` call, which costs the per-item closures of the coordinator 20-30% here.
 */
import { existsSync } from "node:fs"
import { resolve } from "node:path"
import { pathToFileURL } from "node:url"

// Paths are relative to the working directory (the repository root, as `npm run bench` runs), so
// this works the same from bench/*.ts through tsx and from an esbuild bundle of them elsewhere.
const file = resolve(
  process.env.BENCH_LIB === undefined || process.env.BENCH_LIB === "" ? "dist/index.js" : process.env.BENCH_LIB
)
if (!existsSync(file)) {
  throw new Error(`bench: ${file} not found; run \`npm run build\` first (or set BENCH_LIB)`)
}

/** Where the library was loaded from. */
export const libraryPath: string = file

/** The library's public API (typed from the sources; loaded from `libraryPath`). */
export const lib = (await import(pathToFileURL(file).href)) as typeof import("../src/index.js")
