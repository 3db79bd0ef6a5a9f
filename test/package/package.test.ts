/**
 * The packed tarball as users get it (`npm run test:package`; needs the npm registry or its cache):
 * a consumer on another effect patch type-checks and runs with one copy of effect, and a global
 * install runs the CLI with only the runtime dependencies.
 */
import { execFileSync, spawnSync } from "node:child_process"
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join, resolve } from "node:path"
import { afterAll, assert, beforeAll, describe, it } from "vitest"

const ROOT = resolve(import.meta.dirname, "../..")
const CONSUMER_EFFECT = "3.22.3"
const TSC = join(ROOT, "node_modules/typescript/bin/tsc")
const npmEnv = {
  ...process.env,
  npm_config_fund: "false",
  npm_config_audit: "false",
  npm_config_update_notifier: "false"
}

let scratch = ""
let tarball = ""

const npm = (args: ReadonlyArray<string>, cwd: string): string =>
  execFileSync("npm", args, { cwd, env: npmEnv, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] })

const consumerSource =
  `import { CredentialPool, Output, ParallelCoordinator, sanitizeIdentifier } from "agentos-parallel"
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"

const program = Effect.gen(function*() {
  const id: string = yield* sanitizeIdentifier("item-1")
  const coordinator = yield* ParallelCoordinator
  const summary = yield* coordinator.run(
    [id, "item-2", "item-3"],
    (context) => Effect.succeed(Option.map(context.credential, (c) => c.label)),
    { concurrency: 2 }
  ).pipe(Effect.provide(CredentialPool.layer({ credentials: ["k1", "k2"] })))
  return summary.stats.succeeded + "/" + summary.stats.total
})

const main = program.pipe(
  Effect.scoped,
  Effect.provide(ParallelCoordinator.layer.pipe(Layer.provide(Output.layerSilent)))
)
Effect.runPromise(Effect.flatMap(main, (line) => Console.log("RESULT " + line)))
`

beforeAll(() => {
  scratch = mkdtempSync(join(tmpdir(), "agentos-package-"))
  // `npm pack` runs `prepare`, which builds the library and the CLI from scratch.
  const out = npm(["pack", "--json", "--pack-destination", scratch], ROOT)
  const start = out.indexOf("[")
  tarball = join(scratch, (JSON.parse(out.slice(start)) as ReadonlyArray<{ filename: string }>)[0]!.filename)
})

afterAll(() => {
  if (scratch !== "") rmSync(scratch, { recursive: true, force: true })
})

describe("the packed tarball", () => {
  it("carries the library, its subpaths, the CLI and the LICENSE", () => {
    const listing = execFileSync("tar", ["-tzf", tarball], { encoding: "utf8" })
    for (
      const file of [
        "dist/index.js",
        "dist/index.d.ts",
        "dist/sqlite.js",
        "dist/process.js",
        "dist/testing.js",
        "dist/bin.js",
        "LICENSE",
        "README.md",
        "docs/reference.md"
      ]
    ) {
      assert.include(listing, `package/${file}\n`, file)
    }
  })

  it(`type-checks and runs in a consumer on effect ${CONSUMER_EFFECT} with one copy of effect`, () => {
    const dir = join(scratch, "consumer")
    mkdirSync(dir)
    writeFileSync(join(dir, "package.json"), JSON.stringify({ name: "consumer", private: true, type: "module" }))
    // No scripts: the consumer does not use the SQLite subpath, so better-sqlite3 need not build.
    npm(["install", "--ignore-scripts", "--prefer-offline", tarball, `effect@${CONSUMER_EFFECT}`], dir)
    const copies = npm(["ls", "effect", "--all", "--parseable"], dir).trim().split("\n").filter((l) => l !== "")
    assert.deepStrictEqual(copies, [join(dir, "node_modules/effect")])

    writeFileSync(join(dir, "main.ts"), consumerSource)
    writeFileSync(
      join(dir, "tsconfig.json"),
      JSON.stringify({
        compilerOptions: {
          target: "ES2022",
          module: "NodeNext",
          moduleResolution: "NodeNext",
          strict: true,
          exactOptionalPropertyTypes: true,
          skipLibCheck: true,
          types: [],
          outDir: "out"
        },
        files: ["main.ts"]
      })
    )
    const tsc = spawnSync(process.execPath, [TSC, "-p", "tsconfig.json"], { cwd: dir, encoding: "utf8" })
    assert.strictEqual(tsc.status, 0, tsc.stdout + tsc.stderr)

    const run = spawnSync(process.execPath, ["out/main.js"], { cwd: dir, encoding: "utf8", timeout: 60_000 })
    assert.strictEqual(run.status, 0, run.stderr)
    assert.include(run.stdout, "RESULT 3/3")
    assert.notInclude(run.stderr, "Executing an Effect versioned")

    // The root loads no SQLite, child-process or HTTP code.
    const probe = spawnSync(process.execPath, [
      "--input-type=module",
      "-e",
      `await import("agentos-parallel"); const l = process.moduleLoadList.join("\\n");` +
      `for (const m of ["child_process", "http", "https", "net"]) if (l.includes("NativeModule " + m + "\\n")) throw new Error("loaded " + m);` +
      `process.stdout.write("ok")`
    ], { cwd: dir, encoding: "utf8" })
    assert.strictEqual(probe.stdout, "ok", probe.stderr)
  })

  it("installs globally with only its runtime dependencies and runs the CLI", () => {
    const prefix = join(scratch, "global")
    npm(["install", "-g", "--prefer-offline", "--prefix", prefix, tarball], scratch)
    const installed = join(prefix, "lib/node_modules")
    const names = (sub: string) => existsSync(join(installed, sub)) ? readdirSync(join(installed, sub)) : []
    const all = [...names("agentos-parallel/node_modules"), ...names("agentos-parallel/node_modules/@effect")]
    for (const unwanted of ["@parcel", "msgpackr-extract", "msgpackr", "cli", "platform-node"]) {
      assert.notInclude(all, unwanted)
    }
    const bin = join(prefix, "bin/agentos-parallel")
    const help = spawnSync(bin, ["--help"], { encoding: "utf8", timeout: 30_000 })
    assert.strictEqual(help.status, 0, help.stderr)
    assert.include(help.stdout, "run")

    const state = join(scratch, "state")
    const run = spawnSync(
      bin,
      ["run", "--item", "a", "--item", "b", "--state-dir", state, "--", process.execPath, "-e", "console.log('hi')"],
      { cwd: scratch, encoding: "utf8", timeout: 60_000, env: { ...process.env, NO_COLOR: "1" } }
    )
    assert.strictEqual(run.status, 0, run.stderr)
    assert.include(run.stdout, "[a] hi")
    assert.include(run.stdout, "[b] hi")
    assert.isTrue(existsSync(join(state, "journal.db")))
  })
})
