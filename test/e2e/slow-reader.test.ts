// SPEC "Console": stdout carries the items' stdout lines so it can be piped. A reader that is slow to
// start must still get every line: the runner may not exit with output still queued for the pipe.
import { spawn } from "node:child_process"
import { describe, expect, it } from "vitest"
import { cliPath, nodeFixture, useSandboxes } from "./harness.js"

const sandbox = useSandboxes()

describe("run: piped stdout", () => {
  it("a reader that starts late still receives every line", async () => {
    const sb = sandbox()
    const args = sb.runArgs(["--item", "big"], nodeFixture("big-output.mjs", "4"))
    const quoted = [process.execPath, cliPath, ...args].map((a) => `'${a.replaceAll("'", "'\\''")}'`).join(" ")
    // The reader sleeps before reading, so the runner's writes queue up behind a full pipe.
    const counted = await new Promise<string>((resolve, reject) => {
      const shell = spawn("sh", ["-c", `${quoted} 2>/dev/null | (sleep 1; grep -c '^\\[big\\] ')`], {
        cwd: sb.dir,
        env: { ...process.env, ...sb.env }
      })
      let out = ""
      shell.stdout.on("data", (chunk: Buffer) => (out += chunk.toString()))
      shell.on("error", reject)
      shell.on("close", () => resolve(out.trim()))
    })
    const expected = Math.floor((4 * 1024 * 1024) / 100) + 1 // the fixture's lines and its END line
    expect(Number(counted)).toBe(expected)
  })
})
