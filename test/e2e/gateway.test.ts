// SPEC "Gateway": children call the API through the runner's gateway with a per-start token; the
// gateway leases a key per request, absorbs 429s, retires quota keys and relays streams as they come.
import { type ChildProcessWithoutNullStreams, spawn } from "node:child_process"
import { existsSync, readFileSync, writeFileSync } from "node:fs"
import * as Net from "node:net"
import path from "node:path"
import { afterEach, describe, expect, it } from "vitest"
import { cliPath, expectExit, explain, linesOf, nodeFixture, useSandboxes, waitUntil } from "./harness.js"

const sandbox = useSandboxes()
let mock: ChildProcessWithoutNullStreams | undefined

afterEach(() => {
  mock?.kill("SIGTERM")
  mock = undefined
})

const startMock = (args: ReadonlyArray<string>): Promise<string> =>
  new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [cliPath, "mock-provider", ...args], { stdio: ["pipe", "pipe", "pipe"] })
    mock = child
    let out = ""
    child.stdout.on("data", (chunk: Buffer) => {
      out += chunk.toString()
      const m = /^(http:\S+)\n/.exec(out)
      if (m !== null) resolve(m[1]!)
    })
    child.on("error", reject)
    child.on("exit", (code) => reject(new Error(`mock-provider exited with ${code}`)))
  })

const summaryJson = (stdout: string) =>
  JSON.parse(stdout) as {
    results: Array<{ id: string; status: string; attempts: number; requests?: number; tokens?: number }>
    credentials: Array<{ label: string; requests?: number; rateLimits: number; tokens?: number; state?: string }>
  }

const rawRequest = (port: number, text: string): Promise<string> =>
  new Promise((resolve, reject) => {
    const socket = Net.connect(port, "127.0.0.1", () => socket.write(text))
    let out = ""
    socket.on("data", (d) => (out += d.toString()))
    socket.on("end", () => resolve(out))
    socket.on("close", () => resolve(out))
    socket.on("error", reject)
    setTimeout(() => socket.destroy(), 3_000)
  })

describe("run --gateway", () => {
  it("is a usage error without credentials, or with a URL that is not http(s)", async () => {
    const sb = sandbox()
    const none = await sb.run(["--item", "u1", "--gateway", "http://127.0.0.1:9/v1"], nodeFixture("gateway-probe.mjs"))
    expectExit(none, 2)
    expect(none.stderr).toContain("--gateway: expected credentials")
    const bad = await sb.run(
      ["--item", "u1", "--credentials-env", "GW_KEYS", "--gateway", "ftp://example.com"],
      nodeFixture("gateway-probe.mjs"),
      { env: { GW_KEYS: "sk-u" } }
    )
    expectExit(bad, 2)
    expect(bad.stderr).toContain("--gateway: expected an http(s) URL")
  })

  it("absorbs 429s without restarts: the naive openai client never sees one", async () => {
    const sb = sandbox()
    const url = await startMock(["--keys", "sk-g1,sk-g2", "--limit", "2", "--window", "1s"])
    const ids = ["g1", "g2", "g3", "g4"]
    const r = await sb.run(
      [...ids.flatMap((id) => ["--item", id]), "-p", "4", "--credentials-env", "GW_KEYS", "--gateway", url, "--json"],
      nodeFixture("openai-client.mjs", "3"),
      { env: { GW_KEYS: "sk-g1,sk-g2" }, timeoutMs: 60_000 }
    )
    expectExit(r, 0)
    const summary = summaryJson(r.stdout)
    for (const id of ids) {
      const result = summary.results.find((x) => x.id === id)!
      expect(result.status, explain(r)).toBe("succeeded")
      expect(result.attempts, "no restart").toBe(1)
      expect(result.requests).toBe(3)
      expect(result.tokens).toBeGreaterThan(0)
      expect(linesOf(r.stderr, id).filter((l) => l.startsWith(`ok ${id} `)).length).toBe(3)
    }
    // 12 requests on 2 keys of 2/s: some were answered 429 upstream and absorbed
    const absorbed = summary.credentials.reduce((n, c) => n + c.rateLimits, 0)
    expect(summary.credentials.map((c) => c.label).sort()).toEqual(["key-1", "key-2"])
    expect(summary.credentials.reduce((n, c) => n + (c.requests ?? 0), 0)).toBe(12 + absorbed)
    expect(r.stderr).not.toContain("sk-g1")
  }, 90_000)

  it("relays a stream chunk by chunk", async () => {
    const sb = sandbox()
    const url = await startMock(["--keys", "sk-s1", "--limit", "100", "--stream-interval", "300ms"])
    const r = await sb.run(
      ["--item", "s1", "--credentials-env", "GW_KEYS", "--gateway", `openai=${url}`],
      nodeFixture("openai-client.mjs", "1", "stream"),
      { env: { GW_KEYS: "sk-s1" }, timeoutMs: 60_000 }
    )
    expectExit(r, 0)
    const line = linesOf(r.stdout, "s1").find((l) => l.startsWith("ok s1 "))
    expect(line, explain(r)).toBeDefined()
    const m = /chunks=(\d+) first=(\d+) last=(\d+)/.exec(line!)!
    // 6 events 300 ms apart: the first arrives long before the last (not buffered)
    expect(Number(m[1])).toBeGreaterThanOrEqual(5)
    expect(Number(m[3]) - Number(m[2])).toBeGreaterThan(1_000)
    expect(line).toContain("Mock answer to: item s1 step 1")
  }, 90_000)

  it("retires a key whose quota is used up and goes on with the others", async () => {
    const sb = sandbox()
    const url = await startMock(["--keys", "sk-q1,sk-q2", "--limit", "100", "--quota", "sk-q1=1"])
    const r = await sb.run(
      ["--item", "q1", "--credentials-env", "GW_KEYS", "--gateway", url, "--json"],
      nodeFixture("openai-client.mjs", "4"),
      { env: { GW_KEYS: "sk-q1,sk-q2" }, timeoutMs: 60_000 }
    )
    expectExit(r, 0)
    const summary = summaryJson(r.stdout)
    expect(summary.credentials.find((c) => c.label === "key-1")?.state, explain(r)).toBe("exhausted")
    expect(summary.credentials.find((c) => c.label === "key-2")?.state).toBe("ok")
    expect(r.stderr.match(/key-1 \(openai\) has no quota left/g)?.length).toBe(1)
  }, 90_000)

  it("gives children tokens, never keys; refuses a finished start's token, absolute targets and ..", async () => {
    const sb = sandbox()
    const url = await startMock(["--keys", "sk-real-secret-1", "--limit", "100"])
    const release = () => writeFileSync(path.join(sb.work, "release"), "")
    const cli = sb.start(
      ["--item", "done1", "--item", "wait1", "-p", "2", "--credentials-env", "GW_KEYS", "--gateway", url],
      nodeFixture("gateway-probe.mjs"),
      { env: { GW_KEYS: "sk-real-secret-1" }, timeoutMs: 60_000 }
    )
    try {
      await probe(cli, sb.work, release)
    } finally {
      release()
    }
    const r = await cli.result
    expectExit(r, 0)
    // a child printing its whole environment shows no real key
    expect(r.stdout).toContain("env OPENAI_API_KEY=agw-")
    expect(r.stdout).not.toContain("sk-real-secret-1")
  }, 90_000)
})

const probe = async (_cli: unknown, work: string, release: () => void) => {
  const file = (id: string) => path.join(work, `${id}.json`)
  await waitUntil(() => existsSync(file("done1")) && existsSync(file("wait1")), "both children started", 30_000)
  const done = JSON.parse(readFileSync(file("done1"), "utf8")) as Record<string, string>
  const live = JSON.parse(readFileSync(file("wait1"), "utf8")) as Record<string, string>
  expect(live.OPENAI_BASE_URL).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/openai$/)
  expect(live.OPENAI_API_KEY).toBe(live.AGENTOS_CREDENTIAL)
  expect(live.ANTHROPIC_API_KEY).toBe(live.OPENAI_API_KEY)
  expect(live.OPENAI_API_KEY!.length).toBeGreaterThanOrEqual(22)
  expect(live.OPENAI_API_KEY).not.toBe(done.OPENAI_API_KEY)
  const call = (token: string, suffix = "/chat/completions") =>
    fetch(`${live.OPENAI_BASE_URL}${suffix}`, {
      method: "POST",
      headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
      body: JSON.stringify({ model: "m", messages: [{ role: "user", content: "hi" }] })
    })
  expect((await call(live.OPENAI_API_KEY!)).status).toBe(200)
  // x-api-key is accepted too
  const viaApiKey = await fetch(`${live.OPENAI_BASE_URL}/chat/completions`, {
    method: "POST",
    headers: { "x-api-key": live.OPENAI_API_KEY!, "content-type": "application/json" },
    body: JSON.stringify({ model: "m", messages: [{ role: "user", content: "hi" }] })
  })
  expect(viaApiKey.status).toBe(200)
  // done1's token dies when its start ends (it exits right after writing its file)
  let refused = 0
  for (let i = 0; i < 100 && refused === 0; i++) {
    const res = await call(done.OPENAI_API_KEY!)
    if (res.status === 401) {
      refused++
      const body = (await res.json()) as { error?: { message?: string } }
      expect(body.error?.message).toBeDefined()
    } else await new Promise((r) => setTimeout(r, 100))
  }
  expect(refused, "a finished start's token is refused").toBe(1)
  expect((await call("not-a-token")).status).toBe(401)
  expect((await call("sk-real-secret-1")).status).toBe(401)
  const port = Number(/:(\d+)\//.exec(live.OPENAI_BASE_URL!)![1])
  // fetch would normalize dot segments away: sent raw
  for (const target of ["/openai/../v1/chat/completions", "/openai/%2e%2e/chat/completions", "/openai/a/%2E./x"]) {
    const climbed = await rawRequest(
      port,
      `GET ${target} HTTP/1.1\r\nhost: x\r\nauthorization: Bearer ${live.OPENAI_API_KEY}\r\nconnection: close\r\n\r\n`
    )
    expect(climbed, target).toMatch(/^HTTP\/1\.1 400/)
  }
  const absolute = await rawRequest(
    port,
    `GET http://example.com/v1/models HTTP/1.1\r\nhost: example.com\r\nauthorization: Bearer ${live.OPENAI_API_KEY}\r\nconnection: close\r\n\r\n`
  )
  expect(absolute).toMatch(/^HTTP\/1\.1 400/)
  const connect = await rawRequest(port, "CONNECT example.com:443 HTTP/1.1\r\nhost: example.com:443\r\n\r\n")
  expect(connect).toMatch(/^HTTP\/1\.1 405/)
  release()
}
