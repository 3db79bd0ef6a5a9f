// SPEC: a credential that got HTTP 429 with a retry-after is never leased again before its
// deadline; items go on with other keys and resume from their checkpoint. Driven against a real
// rate-limited HTTP server that records, per key, when it was called.
import { type ChildProcessWithoutNullStreams, spawn } from "node:child_process"
import { afterEach, describe, expect, it } from "vitest"
import {
  expectExit,
  explain,
  fixture,
  linesOf,
  nodeFixture,
  readSummaryStatuses,
  scanFilesFor,
  uniqueToken,
  useSandboxes
} from "./harness.js"

const sandbox = useSandboxes()

interface Call {
  readonly t: number
  readonly status: number
  readonly retryAfterMs?: number
}

let server: ChildProcessWithoutNullStreams | undefined

afterEach(() => {
  server?.kill("SIGTERM")
  server = undefined
})

const startServer = (limit: number, windowMs: number): Promise<string> =>
  new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      [fixture("rate-limited-server.mjs"), "--limit", String(limit), "--window-ms", String(windowMs)],
      { stdio: ["pipe", "pipe", "pipe"] }
    )
    server = child
    let out = ""
    child.stdout.on("data", (chunk: Buffer) => {
      out += chunk.toString()
      const m = /^(\d+)\n/.exec(out)
      if (m !== null) resolve(`http://127.0.0.1:${m[1]}`)
    })
    child.on("error", reject)
    child.on("exit", (code) => reject(new Error(`rate-limited-server exited with ${code}`)))
  })

describe("run: HTTP 429 with retry-after", () => {
  it("rotates keys on 429 and never calls with a key before its retry-after has passed", async () => {
    const sb = sandbox()
    // one call per key per 600 ms: every item's second step is answered 429 at least once
    const url = await startServer(1, 600)
    const secrets = Array.from({ length: 3 }, () => uniqueToken("sk-e2e-"))
    const ids = ["api-1", "api-2", "api-3", "api-4", "api-5", "api-6"]
    const steps = 2
    const r = await sb.run(
      [...ids.flatMap((id) => ["--item", id]), "-p", "3", "--credentials-env", "E2E_KEYS", "--backoff", "30s"],
      nodeFixture("call-api.mjs", url, String(steps)),
      { env: { E2E_KEYS: secrets.join(",") }, timeoutMs: 30_000 }
    )
    const stats = (await (await fetch(`${url}/stats`)).json()) as { keys: Record<string, Array<Call>> }
    expectExit(r, 0)

    const statuses = readSummaryStatuses(sb.stateDir)
    for (const id of ids) {
      expect(statuses.get(id), `status of ${id}\n${explain(r)}`).toBe("succeeded")
      expect(linesOf(r.stdout, id).some((l) => l.startsWith(`done ${id} label=`))).toBe(true)
    }

    const calls = Object.entries(stats.keys)
    expect(calls.map(([key]) => key).every((key) => secrets.includes(key)), "only the configured keys called").toBe(
      true
    )
    const all = calls.flatMap(([, c]) => c)
    expect(all.filter((c) => c.status === 429).length, "429s answered").toBeGreaterThanOrEqual(1)
    // checkpoints kept across the reruns: each step succeeded exactly once
    expect(all.filter((c) => c.status === 200).length, "successful calls").toBe(ids.length * steps)

    for (const [key, list] of calls) {
      const label = `key-${secrets.indexOf(key) + 1}`
      for (const limited of list.filter((c) => c.status === 429)) {
        const deadline = limited.t + limited.retryAfterMs!
        const early = list.filter((c) => c.t > limited.t && c.t < deadline - 15)
        expect(
          early,
          `calls with ${label} before its retry-after (429 at ${limited.t} + ${limited.retryAfterMs} ms)`
        ).toEqual([])
      }
    }
    for (const needle of secrets) {
      expect(r.stdout.includes(needle) || r.stderr.includes(needle), "a secret in the output").toBe(false)
    }
    expect(scanFilesFor(sb.stateDir, secrets)).toEqual([])
  })
})
