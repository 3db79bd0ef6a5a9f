// Builds the library (tsc: ESM + declarations) and the CLI (one esbuild bundle with deep imports,
// so `agentos-parallel --help` starts fast). better-sqlite3 stays external: it is a native addon.
import { build } from "esbuild"
import { execFileSync } from "node:child_process"
import { chmodSync, rmSync } from "node:fs"

const only = process.argv[2]

if (only !== "cli") {
  rmSync("dist", { recursive: true, force: true })
  execFileSync(process.execPath, ["node_modules/typescript/bin/tsc", "-p", "tsconfig.build.json"], {
    stdio: "inherit"
  })
}

await build({
  entryPoints: ["src/cli/bin.ts"],
  outfile: "dist/bin.js",
  bundle: true,
  minify: true,
  platform: "node",
  target: "node20",
  format: "esm",
  external: ["better-sqlite3"],
  banner: {
    js:
      "#!/usr/bin/env node\nimport { createRequire as __createRequire } from \"node:module\";const require = __createRequire(import.meta.url);"
  },
  legalComments: "none",
  logLevel: "warning"
})
chmodSync("dist/bin.js", 0o755)
