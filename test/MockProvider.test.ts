import { assert, describe, it } from "@effect/vitest"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as TestClock from "effect/TestClock"
import * as MockProvider from "../src/MockProvider.js"

interface Answer {
  readonly status: number
  readonly headers: Headers
  readonly body: any
}

const post = (
  provider: MockProvider.MockProvider,
  key: string | undefined,
  content = "Write an outline for issue 42",
  signal?: AbortSignal
): Effect.Effect<Answer> =>
  Effect.promise(async () => {
    const response = await fetch(`${provider.url}/chat/completions`, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        ...(key === undefined ? {} : { authorization: `Bearer ${key}` })
      },
      body: JSON.stringify({
        model: "mock-1",
        messages: [{ role: "system", content: "be brief" }, { role: "user", content }]
      }),
      ...(signal === undefined ? {} : { signal })
    })
    return { status: response.status, headers: response.headers, body: await response.json() }
  })

const retryAfterMs = (answer: Answer): number => Number(answer.headers.get("retry-after-ms"))

const assertRateLimited = (answer: Answer): void => {
  assert.strictEqual(answer.status, 429)
  assert.strictEqual(answer.body.error.code, "rate_limit_exceeded")
  assert.strictEqual(answer.body.error.type, "requests")
  assert.match(answer.headers.get("retry-after") ?? "", /^\d+$/)
  assert.match(answer.headers.get("retry-after-ms") ?? "", /^\d+$/)
  assert.strictEqual(Number(answer.headers.get("retry-after")), Math.ceil(retryAfterMs(answer) / 1000))
}

describe("MockProvider", () => {
  it.scopedLive("answers a chat completion derived from the last user message", () =>
    Effect.gen(function*() {
      const provider = yield* MockProvider.serve({ keys: ["sk-one", "sk-two"] })
      assert.strictEqual(provider.url, `http://127.0.0.1:${provider.port}/v1`)
      assert.isAbove(provider.port, 0)

      const answer = yield* post(provider, "sk-two", "Design the cache layer")
      assert.strictEqual(answer.status, 200)
      assert.strictEqual(answer.headers.get("content-type"), "application/json")
      const body = answer.body
      assert.strictEqual(body.object, "chat.completion")
      assert.strictEqual(body.model, "mock-1")
      assert.isString(body.id)
      assert.lengthOf(body.choices, 1)
      assert.strictEqual(body.choices[0].index, 0)
      assert.strictEqual(body.choices[0].finish_reason, "stop")
      assert.strictEqual(body.choices[0].message.role, "assistant")
      assert.include(body.choices[0].message.content, "Design the cache layer")
      assert.strictEqual(body.usage.total_tokens, body.usage.prompt_tokens + body.usage.completion_tokens)

      // deterministic: the same prompt gives the same content
      const again = yield* post(provider, "sk-one", "Design the cache layer")
      assert.strictEqual(again.body.choices[0].message.content, body.choices[0].message.content)

      const stats = yield* provider.stats
      assert.deepStrictEqual(stats.keys.map((k) => [k.label, k.requests, k.accepted]), [["key-1", 1, 1], [
        "key-2",
        1,
        1
      ]])
      assert.strictEqual(stats.totals.accepted, 2)
    }))

  it.scopedLive("answers 401 to a missing or unknown key, without echoing it", () =>
    Effect.gen(function*() {
      const provider = yield* MockProvider.serve({ keys: ["sk-one"] })
      const missing = yield* post(provider, undefined)
      assert.strictEqual(missing.status, 401)
      assert.strictEqual(missing.body.error.code, "invalid_api_key")
      const unknown = yield* post(provider, "sk-stolen-secret")
      assert.strictEqual(unknown.status, 401)
      assert.notInclude(JSON.stringify(unknown.body), "sk-stolen-secret")
      const stats = yield* provider.stats
      assert.strictEqual(stats.unauthorized, 2)
      assert.strictEqual(stats.totals.requests, 0)
    }))

  it.scopedLive("answers 404 outside /v1/chat/completions", () =>
    Effect.gen(function*() {
      const provider = yield* MockProvider.serve({ keys: ["sk-one"] })
      const response = yield* Effect.promise(() => fetch(`${provider.url}/models`))
      assert.strictEqual(response.status, 404)
      yield* Effect.promise(() => response.text())
    }))

  it.scopedLive("fixed window: 429 with retry-after and retry-after-ms until the window closes", () =>
    Effect.gen(function*() {
      const window = 400
      const provider = yield* MockProvider.serve({
        keys: ["sk-one", "sk-two"],
        limit: 3,
        window: Duration.millis(window)
      })
      const start = Date.now()
      for (let i = 0; i < 3; i++) {
        assert.strictEqual((yield* post(provider, "sk-one")).status, 200)
      }
      const limited = yield* post(provider, "sk-one")
      const elapsed = Date.now() - start
      assertRateLimited(limited)
      assert.strictEqual(limited.headers.get("retry-after"), "1")
      const ms = retryAfterMs(limited)
      assert.isAtMost(ms, window)
      assert.isAtLeast(ms, window - elapsed)

      // another key has its own allowance
      assert.strictEqual((yield* post(provider, "sk-two")).status, 200)

      yield* Effect.sleep(Duration.millis(ms + 20))
      assert.strictEqual((yield* post(provider, "sk-one")).status, 200)

      const [one] = (yield* provider.stats).keys
      assert.deepStrictEqual(
        { requests: one!.requests, accepted: one!.accepted, rateLimited: one!.rateLimited, early: one!.early },
        { requests: 5, accepted: 4, rateLimited: 1, early: 0 }
      )
    }))

  it.scopedLive("token bucket: refills one request per window/limit", () =>
    Effect.gen(function*() {
      // 2 per 400 ms: one token every 200 ms
      const provider = yield* MockProvider.serve({
        keys: ["sk-one"],
        limit: 2,
        window: "400 millis",
        algorithm: "token-bucket"
      })
      assert.strictEqual((yield* post(provider, "sk-one")).status, 200)
      assert.strictEqual((yield* post(provider, "sk-one")).status, 200)
      const limited = yield* post(provider, "sk-one")
      assertRateLimited(limited)
      const ms = retryAfterMs(limited)
      assert.isAbove(ms, 0)
      assert.isAtMost(ms, 200)

      // one token back: one request passes, the next one does not (a fixed window would still refuse)
      yield* Effect.sleep(Duration.millis(ms + 20))
      assert.strictEqual((yield* post(provider, "sk-one")).status, 200)
      const again = yield* post(provider, "sk-one")
      assertRateLimited(again)
      assert.isAtMost(retryAfterMs(again), 200)
    }))

  it.scoped("retry-after-ms is exact (TestClock drives the limiter)", () =>
    Effect.gen(function*() {
      const fixed = yield* MockProvider.serve({ keys: ["sk-f"], limit: 2, window: "400 millis" })
      const bucket = yield* MockProvider.serve({
        keys: ["sk-b"],
        limit: 2,
        window: "400 millis",
        algorithm: "token-bucket"
      })
      for (const [provider, key] of [[fixed, "sk-f"], [bucket, "sk-b"]] as const) {
        assert.strictEqual((yield* post(provider, key)).status, 200)
        assert.strictEqual((yield* post(provider, key)).status, 200)
      }
      yield* TestClock.adjust("150 millis")
      const fixedLimited = yield* post(fixed, "sk-f")
      const bucketLimited = yield* post(bucket, "sk-b")
      assert.strictEqual(retryAfterMs(fixedLimited), 250)
      assert.strictEqual(retryAfterMs(bucketLimited), 50)

      yield* TestClock.adjust("49 millis")
      assert.strictEqual(retryAfterMs(yield* post(bucket, "sk-b")), 1)
      yield* TestClock.adjust("1 millis")
      assert.strictEqual((yield* post(bucket, "sk-b")).status, 200)

      yield* TestClock.adjust("199 millis")
      assert.strictEqual(retryAfterMs(yield* post(fixed, "sk-f")), 1)
      yield* TestClock.adjust("1 millis")
      assert.strictEqual((yield* post(fixed, "sk-f")).status, 200)
    }))

  it.scoped("successful answers say how many requests remain and when the window resets", () =>
    Effect.gen(function*() {
      const provider = yield* MockProvider.serve({ keys: ["sk-h"], limit: 2, window: "400 millis" })
      const first = yield* post(provider, "sk-h")
      assert.strictEqual(first.headers.get("x-ratelimit-limit-requests"), "2")
      assert.strictEqual(first.headers.get("x-ratelimit-remaining-requests"), "1")
      assert.strictEqual(first.headers.get("x-ratelimit-reset-requests"), "0.4s")
      yield* TestClock.adjust("150 millis")
      const second = yield* post(provider, "sk-h")
      assert.strictEqual(second.headers.get("x-ratelimit-remaining-requests"), "0")
      assert.strictEqual(second.headers.get("x-ratelimit-reset-requests"), "0.25s")
    }))

  it.scopedLive("a scripted always-429 key answers 429 with its retry-after", () =>
    Effect.gen(function*() {
      const provider = yield* MockProvider.serve({
        keys: ["sk-one", "sk-busy"],
        faults: { rateLimitedKeys: ["sk-busy"], rateLimitedRetryAfter: "1500 millis" }
      })
      for (let i = 0; i < 2; i++) {
        const answer = yield* post(provider, "sk-busy")
        assertRateLimited(answer)
        assert.strictEqual(answer.headers.get("retry-after"), "2")
        assert.strictEqual(answer.headers.get("retry-after-ms"), "1500")
      }
      assert.strictEqual((yield* post(provider, "sk-one")).status, 200)
      const busy = (yield* provider.stats).keys[1]!
      assert.strictEqual(busy.rateLimited, 2)
      assert.strictEqual(busy.accepted, 0)
      assert.strictEqual(busy.early, 1)
    }))

  it.scopedLive("a 500 fault by key or by marker", () =>
    Effect.gen(function*() {
      const provider = yield* MockProvider.serve({
        keys: ["sk-one", "sk-broken"],
        faults: { serverErrorKeys: ["sk-broken"] }
      })
      const byKey = yield* post(provider, "sk-broken")
      assert.strictEqual(byKey.status, 500)
      assert.strictEqual(byKey.body.error.type, "server_error")
      const byMarker = yield* post(provider, "sk-one", "please fail [[mock:500]] now")
      assert.strictEqual(byMarker.status, 500)
      assert.strictEqual((yield* post(provider, "sk-one")).status, 200)
      const stats = yield* provider.stats
      assert.strictEqual(stats.totals.serverErrors, 2)
      assert.strictEqual(stats.keys[0]!.accepted, 1)
    }))

  it.scopedLive("a hang fault never answers; the client gives up", () =>
    Effect.gen(function*() {
      const provider = yield* MockProvider.serve({ keys: ["sk-one"], faults: { hangMarker: "<<hang>>" } })
      const start = Date.now()
      const exit = yield* Effect.exit(post(provider, "sk-one", "stall <<hang>>", AbortSignal.timeout(200)))
      assert.isTrue(Exit.isFailure(exit))
      assert.isAtLeast(Date.now() - start, 190)
      // the server still serves others
      assert.strictEqual((yield* post(provider, "sk-one")).status, 200)
      assert.strictEqual((yield* provider.stats).keys[0]!.hung, 1)
    }))

  it.live("closing the scope closes the server, hung requests included", () =>
    Effect.gen(function*() {
      const start = Date.now()
      const pending = yield* Effect.scoped(Effect.gen(function*() {
        const provider = yield* MockProvider.serve({ keys: ["sk-one", "sk-stuck"], faults: { hangKeys: ["sk-stuck"] } })
        const request = fetch(`${provider.url}/chat/completions`, {
          method: "POST",
          headers: { authorization: "Bearer sk-stuck" },
          body: JSON.stringify({ messages: [{ role: "user", content: "hi" }] })
        }).then(() => "answered", () => "dropped")
        // let the request reach the server
        yield* Effect.sleep("100 millis")
        assert.strictEqual((yield* provider.stats).keys[1]!.hung, 1)
        return { request, url: provider.url }
      })).pipe(
        // fail fast instead of hanging if the close waits for the hung request
        Effect.disconnect,
        Effect.timeoutFail({ duration: "2 seconds", onTimeout: () => "the server did not close within 2 s" })
      )
      assert.strictEqual(yield* Effect.promise(() => pending.request), "dropped")
      assert.isBelow(Date.now() - start, 2_000)
      const after = yield* Effect.promise(() => fetch(`${pending.url}/chat/completions`).then(() => "up", () => "down"))
      assert.strictEqual(after, "down")
    }))

  it.scopedLive("early counts a request sent before the retry-after had passed, not one sent after", () =>
    Effect.gen(function*() {
      const provider = yield* MockProvider.serve({ keys: ["sk-one"], limit: 1, window: "300 millis" })
      assert.strictEqual((yield* post(provider, "sk-one")).status, 200)
      const first = yield* post(provider, "sk-one") // no retry-after given yet: not early
      assertRateLimited(first)
      assert.strictEqual((yield* provider.stats).keys[0]!.early, 0)

      const second = yield* post(provider, "sk-one") // sent at once, before the retry-after: early
      assertRateLimited(second)
      assert.strictEqual((yield* provider.stats).keys[0]!.early, 1)

      yield* Effect.sleep(Duration.millis(retryAfterMs(second) + 30))
      assert.strictEqual((yield* post(provider, "sk-one")).status, 200) // after: not early
      const stats = (yield* provider.stats).keys[0]!
      assert.deepStrictEqual(
        { requests: stats.requests, accepted: stats.accepted, rateLimited: stats.rateLimited, early: stats.early },
        { requests: 4, accepted: 2, rateLimited: 2, early: 1 }
      )
    }))

  it.scopedLive("latency delays accepted answers", () =>
    Effect.gen(function*() {
      const provider = yield* MockProvider.serve({ keys: ["sk-one"], latency: "150 millis" })
      const start = Date.now()
      assert.strictEqual((yield* post(provider, "sk-one")).status, 200)
      assert.isAtLeast(Date.now() - start, 140)
    }))

  it.scoped("rejects invalid options, saying what was expected and what was received", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(MockProvider.serve({
        keys: ["sk-secret-value", "sk-secret-value", ""],
        limit: 0,
        window: "soon" as Duration.DurationInput,
        algorithm: "leaky" as "fixed-window",
        port: 70000,
        faults: { hangKeys: ["sk-not-listed"] }
      }))
      assert.strictEqual(error._tag, "MockProviderError")
      assert.strictEqual(error.reason, "InvalidOptions")
      assert.include(error.message, "keys[1]: expected distinct keys")
      assert.include(error.message, "keys[2]: expected a non-empty string")
      assert.include(error.message, "limit: expected a positive integer, received 0")
      assert.include(error.message, `window: expected a positive finite duration`)
      assert.include(error.message, `received "soon"`)
      assert.include(error.message, `algorithm: expected "fixed-window" or "token-bucket", received "leaky"`)
      assert.include(error.message, "port: expected an integer from 0 to 65535, received 70000")
      assert.include(error.message, "faults.hangKeys[0]: expected one of the strings in keys")
      assert.notInclude(error.message, "sk-secret-value")
      assert.notInclude(error.message, "sk-not-listed")

      const empty = yield* Effect.flip(MockProvider.serve({ keys: [] }))
      assert.include(empty.message, "keys: expected a non-empty array of strings")
    }))

  it.scopedLive("fails with ListenFailed when the port is taken", () =>
    Effect.gen(function*() {
      const first = yield* MockProvider.serve({ keys: ["sk-one"] })
      const error = yield* Effect.flip(MockProvider.serve({ keys: ["sk-one"], port: first.port }))
      assert.strictEqual(error.reason, "ListenFailed")
      assert.include(error.message, `127.0.0.1:${first.port}`)
    }))
})
