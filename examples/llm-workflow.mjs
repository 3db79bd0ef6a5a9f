#!/usr/bin/env node
/**
 * An example workflow for `agentos-parallel run`: three chat-completion steps (outline, design,
 * review) against an OpenAI-compatible API, each checkpointed in the item's SQLite database so
 * that a later run resumes where this one stopped.
 *
 *   agentos-parallel run --items issues.txt --credentials-file keys.txt -- node examples/llm-workflow.mjs
 *
 * Environment (set by the runner, see the README):
 *   AGENTOS_ITEM_ID            the item id (an id containing "invalid" fails on purpose)
 *   AGENTOS_WORKFLOW_DB        the item's checkpoint database (created here if missing)
 *   AGENTOS_CREDENTIAL         the API key (never printed; AGENTOS_CREDENTIAL_LABEL is)
 *   AGENTOS_CREDENTIAL_LABEL   e.g. key-2
 *   AGENTOS_ATTEMPT, AGENTOS_RUN_ID
 *   AGENTOS_PROVIDER_URL       base URL, e.g. http://127.0.0.1:PORT/v1
 *   AGENTOS_MODEL              optional, default "mock-model"
 *   AGENTOS_STEP_DELAY_MS      optional pause between steps (ms), default 0
 *   AGENTOS_REQUEST_TIMEOUT_MS optional limit per API call (ms), default 60000
 *   AGENTOS_PACE               optional, default 1: pace by the rate-limit headers (below); 0: don't
 *   AGENTOS_ON_429             optional, what to do on a 429 (default "exit"):
 *                                exit        exit 75 after `::rate-limited retry-after=SECONDS::`
 *                                exit-blind  exit 75 without that line (the runner cools the key for
 *                                            --backoff): the seed's behaviour, for comparison only
 *                                retry-now   send the request again at once, in this process: the
 *                                            naive client, for comparison only (it hammers the key)
 *                                wait        wait for the retry-after in this process, then send the
 *                                            request again (exit 75 if none was given): for
 *                                            comparison, what a restart as a new process costs
 *
 * Pacing: after each answer, when `x-ratelimit-remaining-requests` is 0 and
 * `x-ratelimit-reset-requests` says when the key's allowance comes back (e.g. "0.42s", "1s",
 * "1m30s", "20ms"), the workflow waits until then before its next request. The key is this item's
 * alone while it runs (the runner's default), so the wait costs nothing: nobody could use the key
 * sooner. When the item ends on a spent key, it leaves a note for the next item on the key — the
 * file `.pace-<label>` beside its checkpoint database, holding the time the key comes back — and
 * exits at once; the next item on the key reads the note and waits for that time before its first
 * request, so its start-up overlaps the rest of the window. (If the note cannot be written, the
 * item waits before it exits instead.) A 429 can still happen (another client on the key, a limit
 * that changed); it ends the attempt with exit 75 and the retry-after, and the runner restarts the
 * item from its checkpoint.
 *
 * Exit codes: 0 done · 75 rate limited (after printing `::rate-limited retry-after=SECONDS::` to
 * stderr when the API said how long to wait) · 1 any other failure.
 */
import Database from "better-sqlite3"
import { readFileSync, writeFileSync } from "node:fs"
import { dirname, join } from "node:path"

const EX_TEMPFAIL = 75
const env = process.env
const secret = env.AGENTOS_CREDENTIAL ?? ""
const label = env.AGENTOS_CREDENTIAL_LABEL ?? "no-label"

/** Removes the secret from anything printed, whatever its origin. */
const redact = (text) => (secret === "" ? text : String(text).split(secret).join("[redacted]"))
const out = (line) => process.stdout.write(`${redact(line)}\n`)
const err = (line) => process.stderr.write(`${redact(line)}\n`)

class Failure extends Error {
  constructor(message, exitCode = 1) {
    super(message)
    this.exitCode = exitCode
  }
}

const required = (name, hint) => {
  const value = env[name]
  if (value === undefined || value === "") throw new Failure(`${name} is not set: expected ${hint}`)
  return value
}

const milliseconds = (name, fallback) => {
  const raw = env[name]
  if (raw === undefined || raw === "") return fallback
  const value = Number(raw)
  if (!Number.isFinite(value) || value < 0) {
    throw new Failure(`${name}: expected a non-negative number of milliseconds, received ${JSON.stringify(raw)}`)
  }
  return value
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms))

const STEPS = [
  { name: "outline", prompt: (id) => `Write a short outline of the low-level design for ${id}.` },
  {
    name: "design",
    prompt: (id, done) => `Write the low-level design for ${id} from this outline:\n${done.get("outline")}`
  },
  { name: "review", prompt: (id, done) => `Review this design for ${id} and list its risks:\n${done.get("design")}` }
]

const openCheckpoint = (path) => {
  // The default rollback journal keeps the checkpoint in one file (no -wal/-shm beside it).
  const db = new Database(path)
  db.pragma("busy_timeout = 5000")
  db.exec(`CREATE TABLE IF NOT EXISTS steps (
    step TEXT PRIMARY KEY,
    position INTEGER NOT NULL,
    content TEXT NOT NULL,
    label TEXT,
    attempt INTEGER,
    finished_at TEXT NOT NULL
  )`)
  return db
}

/**
 * Milliseconds in an OpenAI-style duration ("0.42s", "1s", "20ms", "1m30s", "2h0m0s"), or
 * undefined when it is not one.
 */
const durationMs = (value) => {
  if (value === null) return undefined
  const text = value.trim()
  if (!/^(\d+(\.\d+)?(ms|h|m|s))+$/.test(text)) return undefined
  const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }
  let total = 0
  for (const [, number, , name] of text.matchAll(/(\d+(\.\d+)?)(ms|h|m|s)/g)) total += Number(number) * unit[name]
  return total
}

/**
 * When to send the next request on this key: after the reset if the answer said no request is
 * left in the current window, else now.
 */
const nextRequestAt = (headers) => {
  const remaining = headers.get("x-ratelimit-remaining-requests")
  if (remaining === null || Number(remaining) > 0) return 0
  const reset = durationMs(headers.get("x-ratelimit-reset-requests"))
  return reset === undefined ? 0 : Date.now() + reset
}

/** Waits until the wall clock reaches `at` (timers may fire a little early; this never does). */
const sleepUntil = async (at) => {
  for (let left = at - Date.now(); left > 0; left = at - Date.now()) await sleep(left)
}

/** Seconds to wait, from `retry-after-ms` first, then `retry-after` (seconds or HTTP-date). */
const retryAfterSeconds = (headers) => {
  const ms = headers.get("retry-after-ms")
  if (ms !== null && /^\s*\d+(\.\d+)?\s*$/.test(ms)) return Number(ms) / 1000
  const value = headers.get("retry-after")
  if (value === null) return undefined
  if (/^\s*\d+(\.\d+)?\s*$/.test(value)) return Number(value)
  const date = Date.parse(value)
  return Number.isNaN(date) ? undefined : Math.max(0, (date - Date.now()) / 1000)
}

/** At most this many retries of one request with AGENTOS_ON_429=retry-now or wait. */
const MAX_RETRIES_IN_PROCESS = 100_000

/** One chat completion: `{ answer, headers }`; exits 75 (through Failure) on a 429. */
const complete = async ({ url, model, content, timeoutMs, step, on429, requestId }) => {
  let response
  let text
  for (let retriedNow = 0;; retriedNow++) {
    try {
      response = await fetch(`${url.replace(/\/+$/, "")}/chat/completions`, {
        method: "POST",
        headers: {
          "content-type": "application/json",
          authorization: `Bearer ${secret}`,
          // A request id for tracing on the provider's side: item, start, step, try.
          "x-client-request-id": `${requestId}:${retriedNow + 1}`
        },
        body: JSON.stringify({ model, messages: [{ role: "user", content }] }),
        signal: AbortSignal.timeout(timeoutMs)
      })
    } catch (cause) {
      const reason = cause?.name === "TimeoutError"
        ? `no answer within ${timeoutMs} ms`
        : `${cause?.message ?? cause}${
          cause?.cause?.code || cause?.cause?.message ? ` (${cause.cause.code || cause.cause.message})` : ""
        }`
      throw new Failure(`${step}: request to ${url} failed: ${reason}`)
    }
    text = await response.text()
    if (response.status !== 429) {
      if (retriedNow > 0) err(`${step}: ${retriedNow} retries in this process after HTTP 429 on ${label}`)
      break
    }
    const seconds = retryAfterSeconds(response.headers)
    if (on429 === "retry-now" && retriedNow < MAX_RETRIES_IN_PROCESS) continue
    if (on429 === "wait" && seconds !== undefined && retriedNow < MAX_RETRIES_IN_PROCESS) {
      await sleepUntil(Date.now() + seconds * 1000)
      continue
    }
    err(`${step}: rate limited on ${label} (HTTP 429)${seconds === undefined ? ", no retry-after given" : ""}`)
    if (seconds !== undefined && on429 !== "exit-blind") err(`::rate-limited retry-after=${seconds}::`)
    throw new Failure(undefined, EX_TEMPFAIL)
  }
  let body
  try {
    body = JSON.parse(text)
  } catch {
    body = undefined
  }
  if (!response.ok) {
    const detail = body?.error?.message ?? text.slice(0, 200)
    throw new Failure(`${step}: HTTP ${response.status} from the API: ${detail}`)
  }
  const answer = body?.choices?.[0]?.message?.content
  if (typeof answer !== "string") {
    throw new Failure(`${step}: unexpected answer: expected choices[0].message.content to be a string`)
  }
  return { answer, headers: response.headers }
}

const main = async () => {
  const itemId = required("AGENTOS_ITEM_ID", "the item id (the runner sets it)")
  if (/invalid/i.test(itemId)) {
    throw new Failure(`item "${itemId}" is invalid on purpose (its id contains "invalid"): nothing to design`)
  }
  const dbPath = required("AGENTOS_WORKFLOW_DB", "the path of the item's checkpoint database (the runner sets it)")
  const url = required("AGENTOS_PROVIDER_URL", "the API base URL, e.g. http://127.0.0.1:8080/v1")
  if (secret === "") throw new Failure("AGENTOS_CREDENTIAL is not set: expected an API key (configure credentials)")
  const model = env.AGENTOS_MODEL || "mock-model"
  const delayMs = milliseconds("AGENTOS_STEP_DELAY_MS", 0)
  const timeoutMs = milliseconds("AGENTOS_REQUEST_TIMEOUT_MS", 60_000)
  const attempt = Number(env.AGENTOS_ATTEMPT ?? "1")
  const pace = (env.AGENTOS_PACE ?? "1") !== "0"
  const on429 = env.AGENTOS_ON_429 || "exit"
  if (!["exit", "exit-blind", "retry-now", "wait"].includes(on429)) {
    throw new Failure(
      `AGENTOS_ON_429: expected exit, exit-blind, retry-now or wait, received ${JSON.stringify(on429)}`
    )
  }

  let db
  try {
    db = openCheckpoint(dbPath)
  } catch (cause) {
    throw new Failure(`cannot open the checkpoint database ${dbPath}: ${cause?.message ?? cause}`)
  }
  try {
    const done = new Map(db.prepare("SELECT step, content FROM steps").all().map((row) => [row.step, row.content]))
    const save = db.prepare(
      "INSERT OR REPLACE INTO steps (step, position, content, label, attempt, finished_at) VALUES (?, ?, ?, ?, ?, ?)"
    )
    const finished = STEPS.filter((step) => done.has(step.name))
    if (finished.length > 0) {
      out(
        `resumed from checkpoint: ${finished.length}/${STEPS.length} steps done (${
          finished.map((s) => s.name).join(", ")
        })`
      )
    }
    let called = false
    // Pacing: when the key has requests again (epoch ms; 0: now), first from the note of the item
    // that had the key before this one.
    const note = join(dirname(dbPath), `.pace-${label}`)
    let resumeAt = 0
    if (pace) {
      try {
        resumeAt = Number(readFileSync(note, "utf8")) || 0
      } catch {
        resumeAt = 0 // no note: the key is fresh, or no item ended on it spent
      }
    }
    const waitForKey = async (before) => {
      const ms = resumeAt - Date.now()
      if (ms <= 0) return
      out(`${label} has no requests left until its reset: waiting ${Math.ceil(ms)} ms ${before}`)
      await sleepUntil(resumeAt)
    }
    for (const [index, step] of STEPS.entries()) {
      if (done.has(step.name)) continue
      if (called && delayMs > 0) await sleep(delayMs)
      const where = `step ${index + 1}/${STEPS.length} ${step.name}`
      await waitForKey(`before ${where}`)
      const { answer: content, headers } = await complete({
        url,
        model,
        content: step.prompt(itemId, done),
        timeoutMs,
        step: where,
        on429,
        requestId: `${itemId}:${attempt}:${step.name}`
      })
      called = true
      if (pace) resumeAt = nextRequestAt(headers)
      save.run(step.name, index + 1, content, label, attempt, new Date().toISOString())
      done.set(step.name, content)
      out(`${where}: ${content.length} chars (${label})`)
    }
    if (resumeAt > Date.now()) {
      try {
        writeFileSync(note, String(resumeAt))
      } catch {
        await waitForKey("before handing the key back")
      }
    }
    out(`done: ${STEPS.length} steps for ${itemId}`)
  } finally {
    db.close()
  }
}

// A stop from the runner: every finished step is already checkpointed.
for (const [signal, code] of [["SIGTERM", 143], ["SIGINT", 130]]) {
  process.on(signal, () => {
    err(`received ${signal}: stopping; finished steps are checkpointed`)
    process.exit(code)
  })
}

try {
  await main()
} catch (error) {
  if (error instanceof Failure) {
    if (error.message) err(`error: ${error.message}`)
    process.exitCode = error.exitCode
  } else {
    err(`error: ${error?.stack ?? error}`)
    process.exitCode = 1
  }
}
