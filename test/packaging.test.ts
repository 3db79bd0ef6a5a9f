import { assert, describe, it } from "@effect/vitest"
import { readFileSync } from "node:fs"
import { dirname, join, resolve } from "node:path"

const SRC = resolve(import.meta.dirname, "../src")

/** Every module specifier `file` imports or re-exports at run time (type-only imports left out). */
const specifiers = (file: string): ReadonlyArray<string> => {
  const text = readFileSync(file, "utf8")
  const found: Array<string> = []
  for (const match of text.matchAll(/^(?:import|export)\s+(type\s+)?[^;]*?from\s+"([^"]+)"/gms)) {
    if (match[1] === undefined) found.push(match[2]!)
  }
  return found
}

/** The bare and `node:` modules reachable from `entry` through the package's own modules. */
const externalGraph = (entry: string): Set<string> => {
  const seen = new Set<string>()
  const external = new Set<string>()
  const visit = (file: string) => {
    if (seen.has(file)) return
    seen.add(file)
    for (const spec of specifiers(file)) {
      if (spec.startsWith(".")) visit(join(dirname(file), spec.replace(/\.js$/, ".ts")))
      else external.add(spec)
    }
  }
  visit(join(SRC, entry))
  return external
}

const heavy = (spec: string) =>
  spec === "better-sqlite3" || spec === "node:child_process" || spec === "node:http" || spec === "node:https" ||
  spec === "node:net" || spec.startsWith("@effect/")

describe("entry points", () => {
  it("the package root reaches only effect and light node modules (no SQLite, child processes, HTTP)", () => {
    const external = [...externalGraph("index.ts")]
    assert.deepStrictEqual(external.filter(heavy), [])
    assert.isTrue(external.every((spec) => spec.startsWith("effect/") || spec.startsWith("node:")), external.join(" "))
  })

  it("the subpaths carry what the root leaves out", () => {
    assert.include([...externalGraph("sqlite.ts")], "better-sqlite3")
    assert.include([...externalGraph("process.ts")], "node:child_process")
    assert.include([...externalGraph("testing.ts")], "node:http")
  })

  it("package.json exports the root and the subpaths, with effect as a peer", () => {
    const pkg = JSON.parse(readFileSync(resolve(SRC, "../package.json"), "utf8"))
    assert.deepStrictEqual(Object.keys(pkg.exports), [".", "./sqlite", "./process", "./testing", "./package.json"])
    assert.match(pkg.peerDependencies.effect, /^\^3\./)
    assert.strictEqual(pkg.sideEffects, false)
    for (const name of Object.keys(pkg.dependencies)) {
      assert.isFalse(name === "effect" || name.startsWith("@effect/"), name)
    }
  })
})
