/**
 * A mock OpenAI-compatible LLM provider: a small HTTP server on 127.0.0.1 with per-key rate
 * limits, latency and scripted faults. Tests, the `demo` command and the benchmarks use it in
 * place of a real API.
 *
 * It answers `POST /v1/chat/completions` only:
 *
 * | situation | answer |
 * |---|---|
 * | missing `Authorization`, or a key not in `keys` | 401 |
 * | key in `faults.rateLimitedKeys` | 429, `retry-after` = `faults.rateLimitedRetryAfter` |
 * | key in `faults.serverErrorKeys`, or the last user message contains `faults.serverErrorMarker` | 500 |
 * | key in `faults.hangKeys`, or the last user message contains `faults.hangMarker` | never answers |
 * | over the key's `limit` per `window` | 429 with `retry-after` and `retry-after-ms` |
 * | otherwise | 200 after `latency`, a `chat.completion` whose content derives from the last user message |
 *
 * Every 200 carries OpenAI-style rate-limit headers, as of the request's arrival:
 * `x-ratelimit-limit-requests` (the `limit`), `x-ratelimit-remaining-requests` (requests left in
 * the key's window or bucket) and `x-ratelimit-reset-requests` (the time until the key's allowance
 * is whole again, in seconds with millisecond precision, e.g. `0.42s`, `1s`), so a client can pace
 * itself instead of meeting a 429.
 *
 * Faults are checked before the limiter, so they do not use up the key's allowance. Every 429
 * carries `retry-after` (whole seconds, rounded up) and `retry-after-ms` (exact milliseconds) and
 * an OpenAI-style error body.
 *
 * @since 0.1.0
 */
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as FiberId from "effect/FiberId"
import * as FiberSet from "effect/FiberSet"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import type * as Scope from "effect/Scope"
import * as Http from "node:http"

/**
 * Scripted faults. Keys listed here must also be listed in {@link MockProviderOptions.keys}.
 * Markers are matched (case-sensitively) against the text of the last `user` message.
 *
 * @since 0.1.0
 * @category models
 */
export interface MockProviderFaults {
  /**
   * Keys that answer every request with 429 and a retry-after of `rateLimitedRetryAfter`.
   *
   * @default []
   */
  readonly rateLimitedKeys?: ReadonlyArray<string>
  /**
   * The retry-after given by `rateLimitedKeys`.
   *
   * @default "1 second"
   */
  readonly rateLimitedRetryAfter?: Duration.DurationInput
  /**
   * Keys whose requests are never answered (the connection stays open until the client gives
   * up or the server closes).
   *
   * @default []
   */
  readonly hangKeys?: ReadonlyArray<string>
  /**
   * A request whose last user message contains this text is never answered.
   *
   * @default "[[mock:hang]]"
   */
  readonly hangMarker?: string
  /**
   * Keys that answer every request with 500.
   *
   * @default []
   */
  readonly serverErrorKeys?: ReadonlyArray<string>
  /**
   * A request whose last user message contains this text is answered with 500.
   *
   * @default "[[mock:500]]"
   */
  readonly serverErrorMarker?: string
}

/**
 * Options of {@link serve}.
 *
 * @since 0.1.0
 * @category models
 */
export interface MockProviderOptions {
  /**
   * The API keys the provider accepts (`Authorization: Bearer <key>`). At least one; no
   * duplicates, no whitespace. In stats a key is shown only by its label: `key-1` for the first
   * one here, `key-2` for the second, and so on.
   */
  readonly keys: ReadonlyArray<string>
  /**
   * Requests each key may make per `window`. A positive integer.
   *
   * @default 5
   */
  readonly limit?: number
  /**
   * The rate-limit window. A positive duration.
   *
   * @default "1 second"
   */
  readonly window?: Duration.DurationInput
  /**
   * `"fixed-window"`: a key's window opens with its first request after the previous window
   * closed, and takes `limit` requests. `"token-bucket"`: a bucket of `limit` tokens per key,
   * refilled continuously at `limit` per `window`, one token per request.
   *
   * @default "fixed-window"
   */
  readonly algorithm?: "fixed-window" | "token-bucket"
  /**
   * Time taken to answer each accepted request (401, 429 and 500 answer at once).
   *
   * @default 0
   */
  readonly latency?: Duration.DurationInput
  /**
   * The port to listen on (127.0.0.1 only). 0 picks a free port.
   *
   * @default 0
   */
  readonly port?: number
  /**
   * Scripted faults.
   *
   * @default {}
   */
  readonly faults?: MockProviderFaults
  /**
   * Requests a key may have accepted in all: past it, the key is answered 429 with an OpenAI
   * `insufficient_quota` error (the quota, not the rate, is used up). Keys not listed have none.
   *
   * @default {}
   */
  readonly quotas?: Readonly<Record<string, number>>
  /**
   * With `stream: true`, the time between two server-sent events of an answer.
   *
   * @default 0
   */
  readonly streamInterval?: Duration.DurationInput
}

/**
 * Counters for one key.
 *
 * @since 0.1.0
 * @category models
 */
export interface MockKeyStats {
  /** `key-N`, N being the key's position (from 1) in {@link MockProviderOptions.keys}. */
  readonly label: string
  /** Requests that carried this key, whatever their outcome. */
  readonly requests: number
  /** Requests answered 200 (counted when the limiter accepts them). */
  readonly accepted: number
  /** Requests answered 429 (by the limiter or by `faults.rateLimitedKeys`). */
  readonly rateLimited: number
  /**
   * Requests that arrived before the retry-after this key was last given had passed: the
   * requests a well-behaved client would not have sent.
   */
  readonly early: number
  /** Requests answered 500 by a fault. */
  readonly serverErrors: number
  /** Requests left unanswered by a hang fault. */
  readonly hung: number
}

/**
 * A snapshot of the provider's counters.
 *
 * @since 0.1.0
 * @category models
 */
export interface MockProviderStats {
  /** One entry per key, in the order of {@link MockProviderOptions.keys}. */
  readonly keys: ReadonlyArray<MockKeyStats>
  /** The sums over all keys. */
  readonly totals: Omit<MockKeyStats, "label">
  /** Requests rejected with 401 (missing or unknown key). */
  readonly unauthorized: number
}

/**
 * A running mock provider.
 *
 * @since 0.1.0
 * @category models
 */
export interface MockProvider {
  /** The port it listens on, on 127.0.0.1. */
  readonly port: number
  /** The OpenAI-style base URL, e.g. `http://127.0.0.1:43123/v1`. */
  readonly url: string
  /** A snapshot of the counters. */
  readonly stats: Effect.Effect<MockProviderStats>
}

/**
 * {@link serve} failed: the options are invalid (`InvalidOptions`; the message lists every
 * problem, with what was expected and what was received) or the port could not be bound
 * (`ListenFailed`).
 *
 * @since 0.1.0
 * @category errors
 */
export class MockProviderError extends Schema.TaggedError<MockProviderError>()("MockProviderError", {
  reason: Schema.Literal("InvalidOptions", "ListenFailed"),
  message: Schema.String,
  cause: Schema.optional(Schema.Defect)
}) {}

// ---------------------------------------------------------------------------------------------
// options

interface Config {
  readonly keys: ReadonlyArray<string>
  readonly limit: number
  readonly windowMs: number
  readonly algorithm: "fixed-window" | "token-bucket"
  readonly latency: Duration.Duration
  readonly port: number
  readonly rateLimitedKeys: ReadonlySet<string>
  readonly rateLimitedRetryAfterMs: number
  readonly hangKeys: ReadonlySet<string>
  readonly hangMarker: string
  readonly serverErrorKeys: ReadonlySet<string>
  readonly serverErrorMarker: string
  readonly quotas: ReadonlyMap<string, number>
  readonly streamIntervalMs: number
}

const describe = (u: unknown): string => {
  if (typeof u === "string") return u.length > 40 ? `a string of ${u.length} characters` : JSON.stringify(u)
  if (typeof u === "number" || typeof u === "bigint" || typeof u === "boolean") return String(u)
  if (u === null) return "null"
  if (u === undefined) return "undefined"
  return Array.isArray(u) ? "an array" : typeof u === "object" ? "an object" : `a ${typeof u}`
}

const validate = (options: MockProviderOptions): Config | ReadonlyArray<string> => {
  const problems: Array<string> = []
  const keys: Array<string> = []
  const seen = new Map<string, number>()
  if (!Array.isArray(options.keys) || options.keys.length === 0) {
    problems.push(`keys: expected a non-empty array of strings, received ${describe(options.keys)}`)
  } else {
    options.keys.forEach((key: unknown, i) => {
      if (typeof key !== "string" || key.length === 0 || /\s/.test(key)) {
        // Never echo a key: it is a secret.
        problems.push(
          `keys[${i}]: expected a non-empty string without whitespace, received ${
            typeof key === "string"
              ? (key.length === 0 ? "an empty string" : "a string with whitespace")
              : describe(key)
          }`
        )
        return
      }
      const first = seen.get(key)
      if (first !== undefined) {
        problems.push(`keys[${i}]: expected distinct keys, received a duplicate of keys[${first}]`)
        return
      }
      seen.set(key, i)
      keys.push(key)
    })
  }

  const limit = options.limit ?? 5
  if (typeof limit !== "number" || !Number.isSafeInteger(limit) || limit < 1) {
    problems.push(`limit: expected a positive integer, received ${describe(limit)}`)
  }

  const duration = (name: string, input: unknown, allowZero: boolean): Duration.Duration => {
    const decoded = typeof input === "number" && !Number.isFinite(input) ? Option.none() : Duration.decodeUnknown(input)
    const bad = Option.isNone(decoded) || (typeof input === "number" && input < 0) ||
      !Duration.isFinite(decoded.value) || (!allowZero && Duration.toMillis(decoded.value) <= 0)
    if (bad) {
      problems.push(
        `${name}: expected a ${
          allowZero ? "non-negative" : "positive"
        } finite duration (e.g. "500 millis", "1 second", ${allowZero ? 0 : 250}), received ${describe(input)}`
      )
      return Duration.zero
    }
    return decoded.value
  }
  const window = duration("window", options.window ?? "1 second", false)
  const latency = duration("latency", options.latency ?? 0, true)

  const algorithm = options.algorithm ?? "fixed-window"
  if (algorithm !== "fixed-window" && algorithm !== "token-bucket") {
    problems.push(`algorithm: expected "fixed-window" or "token-bucket", received ${describe(algorithm)}`)
  }

  const port = options.port ?? 0
  if (typeof port !== "number" || !Number.isInteger(port) || port < 0 || port > 65535) {
    problems.push(`port: expected an integer from 0 to 65535, received ${describe(port)}`)
  }

  const faults = options.faults ?? {}
  const keyList = (name: string, list: ReadonlyArray<string> | undefined): ReadonlySet<string> => {
    if (list === undefined) return new Set()
    if (!Array.isArray(list)) {
      problems.push(`faults.${name}: expected an array of keys, received ${describe(list)}`)
      return new Set()
    }
    list.forEach((key: unknown, i) => {
      if (typeof key !== "string" || !seen.has(key)) {
        problems.push(
          `faults.${name}[${i}]: expected one of the strings in keys, received ${
            typeof key === "string" ? "a string that is not in keys" : describe(key)
          }`
        )
      }
    })
    return new Set(list)
  }
  const marker = (name: string, value: unknown, fallback: string): string => {
    if (value === undefined) return fallback
    if (typeof value !== "string" || value.length === 0) {
      problems.push(`faults.${name}: expected a non-empty string, received ${describe(value)}`)
      return fallback
    }
    return value
  }
  const rateLimitedKeys = keyList("rateLimitedKeys", faults.rateLimitedKeys)
  const hangKeys = keyList("hangKeys", faults.hangKeys)
  const serverErrorKeys = keyList("serverErrorKeys", faults.serverErrorKeys)
  const rateLimitedRetryAfter = duration(
    "faults.rateLimitedRetryAfter",
    faults.rateLimitedRetryAfter ?? "1 second",
    false
  )
  const hangMarker = marker("hangMarker", faults.hangMarker, "[[mock:hang]]")
  const serverErrorMarker = marker("serverErrorMarker", faults.serverErrorMarker, "[[mock:500]]")

  if (problems.length > 0) return problems
  return {
    keys,
    limit,
    // The limiter counts in whole milliseconds so that its retry-after is exact.
    windowMs: Math.max(1, Math.round(Duration.toMillis(window))),
    algorithm,
    latency,
    port,
    rateLimitedKeys,
    rateLimitedRetryAfterMs: Math.max(1, Math.ceil(Duration.toMillis(rateLimitedRetryAfter))),
    hangKeys,
    hangMarker,
    serverErrorKeys,
    serverErrorMarker,
    quotas: new Map(Object.entries(options.quotas ?? {})),
    streamIntervalMs: Math.max(0, Duration.toMillis(Duration.decode(options.streamInterval ?? 0)))
  }
}

const isProblems = (u: Config | ReadonlyArray<string>): u is ReadonlyArray<string> => Array.isArray(u)

// ---------------------------------------------------------------------------------------------
// per-key state: limiter and counters

interface KeyState {
  readonly label: string
  requests: number
  accepted: number
  rateLimited: number
  early: number
  serverErrors: number
  hung: number
  /** Time (ms) before which a request is "early": the last retry-after given, from when it was given. */
  retryDeadline: number
  // fixed window
  windowStart: number
  count: number
  // token bucket, in units of 1/windowMs token: a token is `windowMs` units, refilled `limit` per ms
  level: number
  lastRefill: number
}

/**
 * A tiny limiter on integer milliseconds. Returns 0 when the request is accepted (and counts
 * it), otherwise the exact number of milliseconds until a request would be accepted.
 */
const consume = (config: Config, state: KeyState, now: number): number => {
  if (config.algorithm === "fixed-window") {
    if (now >= state.windowStart + config.windowMs) {
      state.windowStart = now
      state.count = 0
    }
    if (state.count < config.limit) {
      state.count++
      return 0
    }
    return state.windowStart + config.windowMs - now
  }
  const capacity = config.limit * config.windowMs
  state.level = Math.min(capacity, state.level + Math.max(0, now - state.lastRefill) * config.limit)
  state.lastRefill = now
  if (state.level >= config.windowMs) {
    state.level -= config.windowMs
    return 0
  }
  return Math.ceil((config.windowMs - state.level) / config.limit)
}

// ---------------------------------------------------------------------------------------------
// HTTP

const MAX_BODY = 1024 * 1024

interface Reply {
  readonly status: number
  readonly headers?: Record<string, string>
  readonly body: unknown
}

const errorReply = (
  status: number,
  message: string,
  type: string,
  code: string | null,
  headers?: Record<string, string>
): Reply => ({
  status,
  ...(headers === undefined ? {} : { headers }),
  body: { error: { message, type, param: null, code } }
})

const readBody = (req: Http.IncomingMessage): Effect.Effect<string, Reply> =>
  Effect.async<string, Reply>((resume) => {
    const chunks: Array<Buffer> = []
    let size = 0
    const onData = (chunk: Buffer) => {
      size += chunk.length
      if (size > MAX_BODY) {
        cleanup()
        resume(Effect.fail(errorReply(413, "Request body too large (over 1 MiB).", "invalid_request_error", null)))
        return
      }
      chunks.push(chunk)
    }
    const onEnd = () => {
      cleanup()
      resume(Effect.succeed(Buffer.concat(chunks).toString("utf8")))
    }
    const onError = () => {
      cleanup()
      resume(Effect.fail(errorReply(400, "Could not read the request body.", "invalid_request_error", null)))
    }
    const cleanup = () => {
      req.off("data", onData)
      req.off("end", onEnd)
      req.off("error", onError)
    }
    req.on("data", onData)
    req.on("end", onEnd)
    req.on("error", onError)
    return Effect.sync(cleanup)
  })

interface ChatRequest {
  readonly model: string
  readonly stream: boolean
  readonly lastUserMessage: string
  readonly promptChars: number
}

const textOf = (content: unknown): string => {
  if (typeof content === "string") return content
  if (Array.isArray(content)) {
    return content
      .map((part) =>
        typeof part === "object" && part !== null && typeof (part as { text?: unknown }).text === "string"
          ? (part as { text: string }).text
          : ""
      )
      .join("")
  }
  return ""
}

const parseChatRequest = (raw: string): ChatRequest | Reply => {
  let json: unknown
  try {
    json = JSON.parse(raw)
  } catch {
    return errorReply(400, "The request body is not valid JSON.", "invalid_request_error", null)
  }
  if (typeof json !== "object" || json === null || Array.isArray(json)) {
    return errorReply(400, "Expected a JSON object as the request body.", "invalid_request_error", null)
  }
  const body = json as { model?: unknown; messages?: unknown; stream?: unknown }
  if (!Array.isArray(body.messages) || body.messages.length === 0) {
    return errorReply(400, "messages: expected a non-empty array.", "invalid_request_error", null)
  }
  let lastUserMessage = ""
  let promptChars = 0
  for (const message of body.messages as ReadonlyArray<unknown>) {
    if (typeof message !== "object" || message === null) continue
    const text = textOf((message as { content?: unknown }).content)
    promptChars += text.length
    if ((message as { role?: unknown }).role === "user") lastUserMessage = text
  }
  return {
    model: typeof body.model === "string" ? body.model : "mock-model",
    stream: body.stream === true,
    lastUserMessage,
    promptChars
  }
}

const tokens = (chars: number): number => Math.max(1, Math.ceil(chars / 4))

const completion = (request: ChatRequest, n: number): unknown => {
  const topic = request.lastUserMessage.trim().replace(/\s+/g, " ")
  const shown = topic.length > 200 ? `${topic.slice(0, 200)}...` : topic
  const content = `Mock answer to: ${shown === "" ? "(no user message)" : shown}\n` +
    `It has ${topic.length} characters and ${topic === "" ? 0 : topic.split(" ").length} words.`
  const promptTokens = tokens(request.promptChars)
  const completionTokens = tokens(content.length)
  return {
    id: `chatcmpl-mock-${n}`,
    object: "chat.completion",
    created: Math.floor(Date.now() / 1000),
    model: request.model,
    choices: [{ index: 0, message: { role: "assistant", content }, finish_reason: "stop" }],
    usage: {
      prompt_tokens: promptTokens,
      completion_tokens: completionTokens,
      total_tokens: promptTokens + completionTokens
    }
  }
}

/** A completion as OpenAI streams it: role, content in pieces, then a usage chunk and `[DONE]`. */
const streamCompletion = (
  res: Http.ServerResponse,
  headers: Record<string, string>,
  answer: ReturnType<typeof completion>,
  intervalMs: number
): Effect.Effect<void> =>
  Effect.gen(function*() {
    const a = answer as {
      id: string
      created: number
      model: string
      choices: ReadonlyArray<{ message: { content: string } }>
      usage: unknown
    }
    const base = { id: a.id, object: "chat.completion.chunk", created: a.created, model: a.model }
    const content = a.choices[0]!.message.content
    const third = Math.ceil(content.length / 3)
    const events: Array<unknown> = [
      { ...base, choices: [{ index: 0, delta: { role: "assistant", content: "" }, finish_reason: null }] },
      ...[0, 1, 2].map((i) => ({
        ...base,
        choices: [{ index: 0, delta: { content: content.slice(i * third, (i + 1) * third) }, finish_reason: null }]
      })),
      { ...base, choices: [{ index: 0, delta: {}, finish_reason: "stop" }] },
      { ...base, choices: [], usage: a.usage }
    ]
    res.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache", ...headers })
    for (const event of events) {
      if (res.destroyed) return
      res.write(`data: ${JSON.stringify(event)}\n\n`)
      if (intervalMs > 0) yield* Effect.sleep(Duration.millis(intervalMs))
    }
    res.end("data: [DONE]\n\n")
  })

const send = (res: Http.ServerResponse, reply: Reply): void => {
  if (res.destroyed || res.writableEnded) return
  const body = JSON.stringify(reply.body)
  res.writeHead(reply.status, {
    "content-type": "application/json",
    "content-length": Buffer.byteLength(body),
    ...reply.headers
  })
  res.end(body)
}

const rateLimitReply = (ms: number, message: string, extra?: Record<string, string>): Reply =>
  errorReply(429, message, "requests", "rate_limit_exceeded", {
    "retry-after": String(Math.ceil(ms / 1000)),
    "retry-after-ms": String(ms),
    ...extra
  })

const BEARER = /^Bearer\s+(\S+)\s*$/i

/**
 * Starts a mock provider on 127.0.0.1 and returns its port, base URL and counters. The server
 * closes, dropping any open connection (hung requests included), when the scope closes.
 *
 * @example
 * ```ts
 * import * as Effect from "effect/Effect"
 * import * as MockProvider from "./MockProvider.js"
 *
 * const program = Effect.scoped(Effect.gen(function*() {
 *   const provider = yield* MockProvider.serve({ keys: ["sk-a", "sk-b"], limit: 2, window: "1 second" })
 *   // POST `${provider.url}/chat/completions` with `Authorization: Bearer sk-a` ...
 *   return yield* provider.stats
 * }))
 * ```
 *
 * @since 0.1.0
 * @category constructors
 */
export const serve = (options: MockProviderOptions): Effect.Effect<MockProvider, MockProviderError, Scope.Scope> =>
  Effect.gen(function*() {
    const validated = validate(options)
    if (isProblems(validated)) {
      return yield* new MockProviderError({
        reason: "InvalidOptions",
        message: `Invalid mock provider options: ${validated.join("; ")}`
      })
    }
    const config = validated
    const states = new Map<string, KeyState>()
    config.keys.forEach((key, i) =>
      states.set(key, {
        label: `key-${i + 1}`,
        requests: 0,
        accepted: 0,
        rateLimited: 0,
        early: 0,
        serverErrors: 0,
        hung: 0,
        retryDeadline: Number.NEGATIVE_INFINITY,
        windowStart: Number.NEGATIVE_INFINITY,
        count: 0,
        level: config.limit * config.windowMs,
        lastRefill: Number.NEGATIVE_INFINITY
      })
    )
    let unauthorized = 0
    let completions = 0
    const clock = yield* Effect.clock
    const hasLatency = Duration.toMillis(config.latency) > 0

    const handle = (req: Http.IncomingMessage, res: Http.ServerResponse): Effect.Effect<void> =>
      Effect.gen(function*() {
        const path = (req.url ?? "/").split("?")[0]
        if (path !== "/v1/chat/completions") {
          req.resume()
          return send(
            res,
            errorReply(404, `Unknown request URL: ${req.method} ${path}.`, "invalid_request_error", "unknown_url")
          )
        }
        if (req.method !== "POST") {
          req.resume()
          return send(res, {
            ...errorReply(405, `Method ${req.method} not allowed; use POST.`, "invalid_request_error", null),
            headers: { allow: "POST" }
          })
        }
        const match = BEARER.exec(req.headers.authorization ?? "")
        const key = match === null ? undefined : match[1]!
        const state = key === undefined ? undefined : states.get(key)
        if (key === undefined || state === undefined) {
          unauthorized++
          req.resume()
          return send(
            res,
            errorReply(
              401,
              key === undefined
                ? "You didn't provide an API key. Use the header Authorization: Bearer <key>."
                : "Incorrect API key provided.",
              "invalid_request_error",
              "invalid_api_key"
            )
          )
        }
        const arrived = clock.unsafeCurrentTimeMillis()
        state.requests++
        if (arrived < state.retryDeadline) state.early++

        const rateLimited = (ms: number, message: string) => {
          state.rateLimited++
          state.retryDeadline = arrived + ms
          return send(res, rateLimitReply(ms, message))
        }

        if (config.rateLimitedKeys.has(key)) {
          req.resume()
          return rateLimited(config.rateLimitedRetryAfterMs, "Rate limit reached for this key (scripted fault).")
        }
        const raw = yield* readBody(req)
        const request = parseChatRequest(raw)
        if ("status" in request) return send(res, request)

        if (config.serverErrorKeys.has(key) || request.lastUserMessage.includes(config.serverErrorMarker)) {
          state.serverErrors++
          return send(
            res,
            errorReply(
              500,
              "The server had an error while processing your request (scripted fault).",
              "server_error",
              null
            )
          )
        }
        if (config.hangKeys.has(key) || request.lastUserMessage.includes(config.hangMarker)) {
          state.hung++
          return yield* Effect.never
        }
        const quota = config.quotas.get(key)
        if (quota !== undefined && state.accepted >= quota) {
          state.rateLimited++
          return send(
            res,
            errorReply(
              429,
              "You exceeded your current quota, please check your plan and billing details.",
              "insufficient_quota",
              "insufficient_quota"
            )
          )
        }
        // The limiter decides at arrival time, as the early check does.
        const wait = consume(config, state, arrived)
        if (wait > 0) {
          return rateLimited(
            wait,
            `Rate limit reached for requests: limit ${config.limit} per ${config.windowMs}ms. Please try again in ${wait}ms.`
          )
        }
        state.accepted++
        const remaining = config.algorithm === "fixed-window"
          ? config.limit - state.count
          : Math.floor(state.level / config.windowMs)
        // Until the key's allowance is whole again (OpenAI's meaning), from arrival: the end of
        // the current window, or the time the bucket takes to refill.
        const resetMs = config.algorithm === "fixed-window"
          ? state.windowStart + config.windowMs - arrived
          : Math.ceil((config.limit * config.windowMs - state.level) / config.limit)
        if (hasLatency) yield* Effect.sleep(config.latency)
        const headers = {
          "x-ratelimit-limit-requests": String(config.limit),
          "x-ratelimit-remaining-requests": String(remaining),
          "x-ratelimit-reset-requests": `${resetMs / 1000}s`
        }
        const answer = completion(request, ++completions)
        if (request.stream) return yield* streamCompletion(res, headers, answer, config.streamIntervalMs)
        send(res, { status: 200, headers, body: answer })
      }).pipe(Effect.catchAll((reply) => Effect.sync(() => send(res, reply))))

    // Request fibers live in a FiberSet: closing the scope interrupts them (hung ones included).
    const runFork = yield* FiberSet.makeRuntime<never, void, never>()

    const server = yield* Effect.acquireRelease(
      Effect.async<Http.Server, MockProviderError>((resume) => {
        const server = Http.createServer()
        const onError = (cause: Error) => {
          server.close()
          resume(Effect.fail(
            new MockProviderError({
              reason: "ListenFailed",
              message: `Mock provider could not listen on 127.0.0.1:${config.port}: ${cause.message}`,
              cause
            })
          ))
        }
        server.once("error", onError)
        server.listen({ host: "127.0.0.1", port: config.port }, () => {
          server.off("error", onError)
          resume(Effect.succeed(server))
        })
      }),
      (server) =>
        Effect.async<void>((resume) => {
          server.close(() => resume(Effect.void))
          server.closeAllConnections()
        })
    )
    server.on("request", (req: Http.IncomingMessage, res: Http.ServerResponse) => {
      const fiber = runFork(handle(req, res))
      res.on("close", () => {
        if (!res.writableEnded) fiber.unsafeInterruptAsFork(FiberId.none)
      })
    })
    // A server-side error on one connection must not crash the process.
    server.on("clientError", (_error, socket) => socket.destroy())

    const address = server.address()
    const port = typeof address === "object" && address !== null ? address.port : config.port

    const snapshot = (): MockProviderStats => {
      const keys: Array<MockKeyStats> = []
      const totals = { requests: 0, accepted: 0, rateLimited: 0, early: 0, serverErrors: 0, hung: 0 }
      for (const s of states.values()) {
        const entry: MockKeyStats = {
          label: s.label,
          requests: s.requests,
          accepted: s.accepted,
          rateLimited: s.rateLimited,
          early: s.early,
          serverErrors: s.serverErrors,
          hung: s.hung
        }
        keys.push(entry)
        totals.requests += s.requests
        totals.accepted += s.accepted
        totals.rateLimited += s.rateLimited
        totals.early += s.early
        totals.serverErrors += s.serverErrors
        totals.hung += s.hung
      }
      return { keys, totals, unauthorized }
    }

    return {
      port,
      url: `http://127.0.0.1:${port}/v1`,
      stats: Effect.sync(snapshot)
    } satisfies MockProvider
  })
