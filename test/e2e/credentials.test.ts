// SPEC "CLI" credential options, "What each child gets", "What a child tells the runner" (exit 75),
// "Secrets never appear in any output, log, journal or summary".
import { describe, expect, it } from "vitest"
import {
  coordinatorLines,
  eventAttempt,
  eventIs,
  expectExit,
  explain,
  fixture,
  keyValues,
  linesOf,
  maxOverlap,
  readAudit,
  readFixtureEvents,
  readSpans,
  readSummaryStatuses,
  scanFilesFor,
  sha256,
  uniqueToken,
  useSandboxes
} from "./harness.js"

const sandbox = useSandboxes()

const makeSecrets = (n: number): Array<string> => Array.from({ length: n }, () => uniqueToken("sk-e2e-"))

/** The secret, and fragments of it (a prefix of the secret in a log line is a leak too). */
const needlesOf = (secrets: ReadonlyArray<string>): Array<string> =>
  secrets.flatMap((s) => {
    const random = s.slice("sk-e2e-".length)
    return [s, random, random.slice(0, 10), random.slice(-10)]
  })

const expectNoSecrets = (
  r: { stdout: string; stderr: string },
  stateDir: string,
  secrets: ReadonlyArray<string>
): void => {
  for (const needle of needlesOf(secrets)) {
    expect(r.stdout.includes(needle), `stdout contains a secret (${needle})`).toBe(false)
    expect(r.stderr.includes(needle), `stderr contains a secret (${needle})`).toBe(false)
  }
  expect(scanFilesFor(stateDir, needlesOf(secrets)), "files under the state dir containing a secret").toEqual([])
}

describe("run: credentials", () => {
  it("hands each child a secret from --credentials-file (label=secret) and its label, never leaking it", async () => {
    const sb = sandbox()
    const secrets = makeSecrets(3)
    const labels = ["alpha", "beta", "gamma"]
    const file = sb.file("creds.txt", labels.map((l, i) => `${l}=${secrets[i]}`).join("\n") + "\n")
    const ids = ["c-1", "c-2", "c-3", "c-4", "c-5", "c-6"]
    const r = await sb.run(
      [...ids.flatMap((id) => ["--item", id]), "-p", "3", "--credentials-file", file],
      [fixture("env-dump.sh")],
      { env: { FIXTURE_SLEEP: "0.2" } }
    )
    expectExit(r, 0)
    const shaOfLabel = new Map(labels.map((l, i) => [l, sha256(secrets[i]!)]))
    for (const id of ids) {
      const vars = keyValues(linesOf(r.stdout, id))
      const label = vars.AGENTOS_CREDENTIAL_LABEL!
      expect(labels, `label of ${id}\n${explain(r)}`).toContain(label)
      expect(vars.CREDENTIAL_SHA256, `the secret of ${id} is the one labelled ${label}`).toBe(shaOfLabel.get(label))
    }
    // the audit journal names the label
    const audit = readAudit(sb.stateDir, "c-1")
    const label = keyValues(linesOf(r.stdout, "c-1")).AGENTOS_CREDENTIAL_LABEL!
    expect(JSON.stringify(audit)).toContain(label)
    expectNoSecrets(r, sb.stateDir, secrets)
  })

  it("reads --credentials-env (commas and newlines) and uses --credential-var; labels are key-N", async () => {
    const sb = sandbox()
    const secrets = makeSecrets(3)
    const ids = ["e-1", "e-2", "e-3", "e-4"]
    const r = await sb.run(
      [
        ...ids.flatMap((id) => ["--item", id]),
        "-p",
        "2",
        "--credentials-env",
        "E2E_KEYS",
        "--credential-var",
        "MY_TOKEN"
      ],
      [fixture("env-dump.sh"), "MY_TOKEN"],
      { env: { E2E_KEYS: `${secrets[0]},${secrets[1]}\n${secrets[2]}`, FIXTURE_ABSENT: "E2E_KEYS" } }
    )
    expectExit(r, 0)
    const shas = new Set(secrets.map(sha256))
    for (const id of ids) {
      const vars = keyValues(linesOf(r.stdout, id))
      expect(vars.AGENTOS_CREDENTIAL_LABEL, `label of ${id}\n${explain(r)}`).toMatch(/^key-[1-3]$/)
      expect(shas.has(vars.CREDENTIAL_SHA256!), `MY_TOKEN of ${id} is one of the secrets`).toBe(true)
      expect(vars.ABSENT_CHECK, `${id} must not see E2E_KEYS, which holds every secret`).toBe("unset")
    }
    expectNoSecrets(r, sb.stateDir, secrets)
  })

  it("leases a credential exclusively: one key at -p 3 runs one item at a time, saying the pool is exhausted", async () => {
    const sb = sandbox()
    const secrets = makeSecrets(1)
    const file = sb.file("creds.txt", `${secrets[0]}\n`)
    const r = await sb.run(
      ["--item", "x-1", "--item", "x-2", "--item", "x-3", "-p", "3", "--credentials-file", file],
      [fixture("sleep-then-echo.sh"), "0.3"]
    )
    expectExit(r, 0)
    expect(maxOverlap(readSpans(sb.work)), "items holding the one credential at once").toBe(1)
    const exhausted = coordinatorLines(r.stderr).filter((l) => /exhausted/i.test(l))
    expect(exhausted.length, `"pool exhausted" said\n${explain(r)}`).toBeGreaterThanOrEqual(1)
    expect(exhausted.length, "said once per change of state, not in a loop").toBeLessThanOrEqual(4)
    expectNoSecrets(r, sb.stateDir, secrets)
  })

  it("--per-credential 2 lets two items share a credential", async () => {
    const sb = sandbox()
    const file = sb.file("creds.txt", `${makeSecrets(1)[0]}\n`)
    const r = await sb.run(
      ["--item", "s-1", "--item", "s-2", "--item", "s-3", "--item", "s-4", "-p", "3", "--per-credential", "2"].concat(
        ["--credentials-file", file]
      ),
      [fixture("sleep-then-echo.sh"), "0.4"]
    )
    expectExit(r, 0)
    expect(maxOverlap(readSpans(sb.work))).toBe(2)
  })

  it("exit 75 is not a failure: the item reruns at once on another free key, from its checkpoint", async () => {
    const sb = sandbox()
    const secrets = makeSecrets(3)
    const r = await sb.run(
      ["--item", "rl-1", "--credentials-env", "E2E_KEYS"],
      [fixture("rate-limit-once.sh")],
      { env: { E2E_KEYS: secrets.join(","), FIXTURE_RETRY_AFTER: "5" } }
    )
    expectExit(r, 0) // default --retries 0, yet the item succeeds
    const events = readFixtureEvents(sb.work)
    const starts = events.filter((e) => e.kind === "start")
    const exits = events.filter((e) => e.kind === "exit")
    expect(starts.map((e) => e.attempt), explain(r)).toEqual(["1", "2"])
    expect(exits.map((e) => e.code)).toEqual([75, 0])
    const limited = starts[0]!.label
    expect(limited).toMatch(/^key-[1-3]$/)
    expect(starts[1]!.label, "the rerun uses another credential (the first cools for 5 s)").not.toBe(limited)
    expect(starts[1]!.at - exits[0]!.at, "the rerun does not wait for the cooling key (ms)").toBeLessThan(3_000)
    expect(linesOf(r.stdout, "rl-1").some((l) => l.includes("checkpoint=kept")), "checkpoint kept for the rerun")
      .toBe(true)
    expect(readSummaryStatuses(sb.stateDir).get("rl-1")).toBe("succeeded")
    // the runner says which key is rate-limited
    expect(
      coordinatorLines(r.stderr).some((l) => /rate.?limit/i.test(l) && l.includes(limited)),
      `a [COORDINATOR] line about ${limited} being rate-limited\n${explain(r)}`
    ).toBe(true)
    const audit = readAudit(sb.stateDir, "rl-1")
    expect(audit.some((e) => eventIs(e, "rate-limited") || eventIs(e, "ratelimited")), JSON.stringify(audit)).toBe(
      true
    )
    expect(audit.some((e) => eventIs(e, "started") && eventAttempt(e) === 1), JSON.stringify(audit)).toBe(true)
    expect(audit.some((e) => eventIs(e, "finished")), JSON.stringify(audit)).toBe(true)
    expectNoSecrets(r, sb.stateDir, secrets)
  })

  it("never hands out a key before its retry-after has passed; every item succeeds", async () => {
    const sb = sandbox()
    const secrets = makeSecrets(3)
    const ids = ["m-1", "m-2", "m-3", "m-4", "m-5"]
    const r = await sb.run(
      [...ids.flatMap((id) => ["--item", id]), "-p", "3", "--credentials-env", "E2E_KEYS"],
      [fixture("rate-limit-once.sh")],
      { env: { E2E_KEYS: secrets.join("\n"), FIXTURE_RETRY_AFTER: "0.3" } }
    )
    expectExit(r, 0)
    const statuses = readSummaryStatuses(sb.stateDir)
    for (const id of ids) expect(statuses.get(id), `status of ${id}`).toBe("succeeded")
    const events = readFixtureEvents(sb.work)
    for (const exit of events.filter((e) => e.kind === "exit" && e.code === 75)) {
      const early = events.filter((e) =>
        e.kind === "start" && e.label === exit.label && e.at > exit.at && e.at < exit.at + 300 - 30
      )
      expect(early, `starts on ${exit.label} within 300 ms of its rate limit`).toEqual([])
    }
    expectNoSecrets(r, sb.stateDir, secrets)
  })

  it("cools a key for --backoff when no retry-after is given, saying all keys are cooling", async () => {
    const sb = sandbox()
    const file = sb.file("creds.txt", `${makeSecrets(1)[0]}\n`)
    const r = await sb.run(
      ["--item", "b-1", "--credentials-file", file, "--backoff", "1s"],
      [fixture("rate-limit-once.sh")],
      { env: { FIXTURE_RETRY_AFTER: "none" } }
    )
    expectExit(r, 0)
    const events = readFixtureEvents(sb.work)
    const limitedAt = events.find((e) => e.kind === "exit" && e.code === 75)!.at
    const rerunAt = events.filter((e) => e.kind === "start")[1]!.at
    expect(rerunAt - limitedAt, "pause before the rerun (ms)").toBeGreaterThanOrEqual(1_000 - 30)
    expect(rerunAt - limitedAt, "pause before the rerun (ms)").toBeLessThan(5_000)
    expect(coordinatorLines(r.stderr).some((l) => /cool/i.test(l)), `"all keys cooling" said\n${explain(r)}`).toBe(
      true
    )
  })

  it("uses the SECONDS of ::rate-limited retry-after=SECONDS:: (decimal) rather than --backoff", async () => {
    const sb = sandbox()
    const file = sb.file("creds.txt", `${makeSecrets(1)[0]}\n`)
    const r = await sb.run(
      ["--item", "d-1", "--credentials-file", file, "--backoff", "60s"],
      [fixture("rate-limit-once.sh")],
      { env: { FIXTURE_RETRY_AFTER: "0.8" }, timeoutMs: 20_000 }
    )
    expectExit(r, 0)
    const events = readFixtureEvents(sb.work)
    const limitedAt = events.find((e) => e.kind === "exit" && e.code === 75)!.at
    const rerunAt = events.filter((e) => e.kind === "start")[1]!.at
    expect(rerunAt - limitedAt, "pause before the rerun (ms)").toBeGreaterThanOrEqual(800 - 30)
    expect(rerunAt - limitedAt, "pause before the rerun (ms)").toBeLessThan(5_000)
  })
})
