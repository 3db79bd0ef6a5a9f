// SPEC `--dry-run`: print the ids that would run (pending ones, in input order), one per line on
// stdout, run nothing, exit 0.
import * as fs from "node:fs"
import { describe, expect, it } from "vitest"
import { expectExit, explain, fixture, lines, useSandboxes } from "./harness.js"

const sandbox = useSandboxes()

const noop = [fixture("fail-if.sh"), "never-matches"]

describe("run: --dry-run", () => {
  it("prints the pending ids in input order, one per line, and runs nothing", async () => {
    const sb = sandbox()
    const ids = ["zeta", "alpha", "mid-1", "Beta_2", "0"]
    const items = sb.file("items.txt", ids.join("\n") + "\n")
    const r = await sb.run(["--items", items, "--dry-run"], noop)
    expectExit(r, 0)
    expect(lines(r.stdout), explain(r)).toEqual(ids)
    expect(fs.readdirSync(sb.work), "the fixture would have written files").toEqual([])
  })

  it("reads --items - from stdin, skipping blank lines and # comments", async () => {
    const sb = sandbox()
    const r = await sb.run(["--items", "-", "--dry-run"], noop, {
      stdin: "# header comment\n\nfirst\n#second\nthird\n\n\nfourth"
    })
    expectExit(r, 0)
    expect(lines(r.stdout), explain(r)).toEqual(["first", "third", "fourth"])
    expect(fs.readdirSync(sb.work)).toEqual([])
  })

  it("keeps the order of repeated --item", async () => {
    const sb = sandbox()
    const r = await sb.run(["--item", "z-9", "--item", "a-1", "--item", "m-5", "--dry-run"], noop)
    expectExit(r, 0)
    expect(lines(r.stdout), explain(r)).toEqual(["z-9", "a-1", "m-5"])
    expect(fs.readdirSync(sb.work)).toEqual([])
  })
})
