/**
 * The rate-limit gateway: a local HTTP server (127.0.0.1) that holds the API keys and forwards each
 * request of a child to the configured upstream on a key it leases for that request — the least
 * recently used key that is neither cooling, nor exhausted, nor out of budget. A 429 cools the key
 * (or its limit domain) and the request is sent again on another key; a quota error retires the
 * key. Children get a token valid while their start runs, never a real key.
 *
 * The server is `node:http` behind this Effect service rather than `@effect/platform`'s HttpServer:
 * the relay pipes Node streams chunk by chunk (server-sent events must not wait for a buffer) with
 * Node's own back-pressure, and no request pays for web-stream conversions or a fiber per chunk.
 *
 * @since 0.1.0
 */
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Queue from "effect/Queue"
import * as Redacted from "effect/Redacted"
import * as Schema from "effect/Schema"
import type * as Scope from "effect/Scope"
import { createHash, randomBytes, timingSafeEqual } from "node:crypto"
import * as Http from "node:http"
import { type Api, errorReply, sendReply } from "./internal/gateway/http.js"
import { makeKeySelector, type SelectorEvent } from "./internal/gateway/keySelector.js"
import { forward, type Route, type TokenOwner } from "./internal/gateway/proxy.js"

/**
 * One upstream API.
 *
 * @since 0.1.0
 * @category models
 */
export interface GatewayUpstream {
  readonly api: Api
  /** The upstream base URL, e.g. `https://api.openai.com/v1`. */
  readonly url: string
}

/**
 * A key the gateway may use. `domain` puts it in a limit domain (keys of one domain share one
 * cooldown and one budget); without one, a label `DOMAIN/LABEL` is read as such, else the key is
 * its own domain.
 *
 * @since 0.1.0
 * @category models
 */
export type GatewayCredential =
  | string
  | Redacted.Redacted<string>
  | {
    readonly label?: string | undefined
    readonly secret: string | Redacted.Redacted<string>
    readonly domain?: string | undefined
  }

/**
 * Options of {@link make}.
 *
 * @since 0.1.0
 * @category models
 */
export interface GatewayOptions {
  readonly upstreams: ReadonlyArray<GatewayUpstream>
  /** The keys; every configured API uses the whole list. At least one. */
  readonly credentials: ReadonlyArray<GatewayCredential>
  /** Requests in flight on one key. @default unbounded */
  readonly perCredential?: number | undefined
  /** The longest a request is held waiting for an eligible key. @default "10 minutes" */
  readonly maxWait?: Duration.DurationInput | undefined
  /** Cooldown after a 429 that says nothing of when to retry. @default "60 seconds" */
  readonly backoff?: Duration.DurationInput | undefined
  /** The port on 127.0.0.1. @default 0 (a free port) */
  readonly port?: number | undefined
}

/**
 * How one key was used through the gateway.
 *
 * @since 0.1.0
 * @category models
 */
export interface GatewayKeyStats {
  readonly api: Api
  readonly label: string
  readonly domain: string
  readonly requests: number
  /** 429s the gateway absorbed on it. */
  readonly rateLimits: number
  readonly tokens: number
  /** Time its domain was set cooling by its 429s, in milliseconds. */
  readonly coolingMillis: number
  readonly state: "ok" | "cooling" | "exhausted"
}

/**
 * A snapshot of the gateway's counters.
 *
 * @since 0.1.0
 * @category models
 */
export interface GatewayStats {
  readonly keys: ReadonlyArray<GatewayKeyStats>
  /** Requests and tokens per item id (every start of it). */
  readonly items: ReadonlyMap<string, { readonly requests: number; readonly tokens: number }>
}

/**
 * A running gateway.
 *
 * @since 0.1.0
 * @category models
 */
export interface GatewayShape {
  /** `http://127.0.0.1:<port>` */
  readonly url: string
  readonly port: number
  /** The environment a child gets for one start (`OPENAI_BASE_URL`, ..., the token in each key variable). */
  readonly childEnv: (
    owner: { readonly id: string; readonly attempt: number },
    tokenVars: ReadonlyArray<string>
  ) => Effect.Effect<Record<string, string>, never, Scope.Scope>
  /** A token valid until the scope closes. */
  readonly issueToken: (owner: { readonly id: string; readonly attempt: number }) => Effect.Effect<
    string,
    never,
    Scope.Scope
  >
  /** Cools the key of the last request made with a token of this item (a child that exited 75). */
  readonly coolLastKey: (id: string, retryAfter: Duration.Duration | undefined) => Effect.Effect<void>
  readonly stats: Effect.Effect<GatewayStats>
  /** What changed, once per change, for the `[COORDINATOR]` lines (labels only, never a secret). */
  readonly messages: Queue.Dequeue<string>
}

/**
 * @since 0.1.0
 * @category tags
 */
export class Gateway extends Context.Tag("agentos-parallel/Gateway")<Gateway, GatewayShape>() {}

/**
 * The gateway could not start: invalid options or the port could not be bound.
 *
 * @since 0.1.0
 * @category errors
 */
export class GatewayError extends Schema.TaggedError<GatewayError>()("GatewayError", {
  reason: Schema.Literal("InvalidOptions", "ListenFailed"),
  detail: Schema.String
}) {
  override get message(): string {
    return this.detail
  }
}

const NAME = /^[A-Za-z0-9_.-]{1,32}$/
const DOMAIN_LINE = /^([A-Za-z0-9_.-]{1,32})\/([A-Za-z0-9_.-]{1,32})=(.+)$/

const toKey = (input: GatewayCredential, i: number) => {
  const fallback = `key-${i + 1}`
  if (typeof input === "string") {
    const m = DOMAIN_LINE.exec(input.trim())
    return m === null
      ? { label: fallback, secret: input, domain: fallback }
      : { label: m[2]!, secret: m[3]!, domain: m[1]! }
  }
  if (Redacted.isRedacted(input)) {
    const secret = Redacted.value(input as Redacted.Redacted<string>)
    return { label: fallback, secret, domain: fallback }
  }
  const secret = typeof input.secret === "string" ? input.secret : Redacted.value(input.secret)
  const rawLabel = input.label ?? fallback
  const slash = rawLabel.indexOf("/")
  if (input.domain === undefined && slash > 0) {
    return { label: rawLabel.slice(slash + 1), secret, domain: rawLabel.slice(0, slash) }
  }
  return { label: rawLabel, secret, domain: input.domain ?? rawLabel }
}

const describeWait = (ms: number) => (ms < 1000 ? `${Math.round(ms)}ms` : `${(ms / 1000).toFixed(1)}s`)

const narrate = (api: Api, event: SelectorEvent): string => {
  switch (event._tag) {
    case "Cooling":
      return `gateway: 429 on ${event.label} (${api}) absorbed; ${
        event.domain === event.label ? "it" : `domain ${event.domain}`
      } cools for ${describeWait(event.ms)}, the request goes on with another key`
    case "AllCooling":
      return `gateway: all ${api} keys cooling; ${event.held} request(s) held until ${
        new Date(event.until).toISOString().slice(11, 19)
      }`
    case "Available":
      return `gateway: ${api} keys available again; held requests resumed`
    case "Exhausted":
      return `gateway: ${event.label} (${api}) has no quota left: retired for the rest of the run (exhausted)`
    case "AllExhausted":
      return `gateway: every ${api} key is exhausted; its requests now get the provider's error`
  }
}

const tokenHash = (token: string) => createHash("sha256").update(token).digest("hex")

/**
 * Starts the gateway on 127.0.0.1; it stops (open connections closed) when the scope closes.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (options: GatewayOptions): Effect.Effect<GatewayShape, GatewayError, Scope.Scope> =>
  Effect.gen(function*() {
    const keys = options.credentials.map(toKey)
    const problems: Array<string> = []
    if (keys.length === 0) problems.push("credentials: expected at least one key, received none")
    if (options.upstreams.length === 0) problems.push("upstreams: expected at least one, received none")
    for (const k of keys) {
      if (!NAME.test(k.domain)) problems.push(`domain of ${k.label}: expected letters, digits, _ . - (at most 32)`)
    }
    const apis = new Set<Api>()
    const routes = new Map<Api, Route>()
    const messages = yield* Queue.unbounded<string>()
    const perKey = options.perCredential ?? Infinity
    const maxWaitMs = Duration.toMillis(options.maxWait ?? "10 minutes")
    const backoffMs = Duration.toMillis(options.backoff ?? "60 seconds")
    for (const upstream of options.upstreams) {
      let url: URL | undefined
      try {
        url = new URL(upstream.url)
      } catch {
        // reported below
      }
      if (url === undefined || (url.protocol !== "http:" && url.protocol !== "https:")) {
        problems.push(`upstream ${upstream.api}: expected an http(s) URL, received ${JSON.stringify(upstream.url)}`)
        continue
      }
      if (apis.has(upstream.api)) problems.push(`upstream ${upstream.api}: given twice`)
      apis.add(upstream.api)
      const selector = makeKeySelector({
        keys,
        perKey,
        now: Date.now,
        onEvent: (event) => Queue.unsafeOffer(messages, narrate(upstream.api, event))
      })
      routes.set(upstream.api, { api: upstream.api, upstream: url, selector, last429: undefined, lastQuota: undefined })
    }
    if (problems.length > 0) {
      return yield* new GatewayError({ reason: "InvalidOptions", detail: `gateway: ${problems.join("; ")}` })
    }

    const tokens = new Map<string, { readonly token: Buffer; readonly owner: TokenOwner }>()
    const items = new Map<string, { requests: number; tokens: number; lastKey?: { api: Api; label: string } }>()
    const ownerOf = (presented: string | undefined): TokenOwner | undefined => {
      if (presented === undefined || presented === "") return undefined
      const entry = tokens.get(tokenHash(presented))
      if (entry === undefined) return undefined
      const given = Buffer.from(presented)
      return given.length === entry.token.length && timingSafeEqual(given, entry.token) ? entry.owner : undefined
    }

    const server = yield* Effect.acquireRelease(
      Effect.async<Http.Server, GatewayError>((resume) => {
        const server = Http.createServer({ keepAliveTimeout: 30_000 })
        server.once("error", (cause) =>
          resume(Effect.fail(
            new GatewayError({
              reason: "ListenFailed",
              detail: `gateway: could not listen on 127.0.0.1: ${cause.message}`
            })
          )))
        server.listen({ host: "127.0.0.1", port: options.port ?? 0 }, () => resume(Effect.succeed(server)))
      }),
      (server) =>
        Effect.async<void>((resume) => {
          for (const route of routes.values()) route.selector.close()
          server.close(() => resume(Effect.void))
          server.closeAllConnections()
        })
    )
    const context = { routes, ownerOf, maxWaitMs, backoffMs }
    server.on("request", (req: Http.IncomingMessage, res: Http.ServerResponse) => {
      forward(context, req, res).catch(() => sendReply(res, errorReply("openai", 502, "gateway: internal error")))
    })
    // CONNECT (a tunnel to anywhere) is refused, as are malformed requests.
    server.on("connect", (_req: Http.IncomingMessage, socket: import("node:net").Socket) => {
      socket.end("HTTP/1.1 405 Method Not Allowed\r\nconnection: close\r\ncontent-length: 0\r\n\r\n")
    })
    server.on("clientError", (_error, socket) => socket.destroy())
    const address = server.address()
    const port = typeof address === "object" && address !== null ? address.port : 0
    const url = `http://127.0.0.1:${port}`

    const issueToken = (owner: { readonly id: string; readonly attempt: number }) =>
      Effect.acquireRelease(
        Effect.sync(() => {
          const token = `agw-${randomBytes(32).toString("base64url")}`
          let item = items.get(owner.id)
          if (item === undefined) {
            item = { requests: 0, tokens: 0 }
            items.set(owner.id, item)
          }
          const record = item
          tokens.set(tokenHash(token), {
            token: Buffer.from(token),
            owner: {
              id: owner.id,
              attempt: owner.attempt,
              count: (api, label, used) => {
                record.requests++
                record.tokens += used
                record.lastKey = { api, label }
              }
            }
          })
          return token
        }),
        (token) => Effect.sync(() => tokens.delete(tokenHash(token)))
      )

    return {
      url,
      port,
      issueToken,
      childEnv: (owner, tokenVars) =>
        Effect.map(issueToken(owner), (token) => {
          const env: Record<string, string> = { AGENTOS_GATEWAY_URL: url }
          if (routes.has("openai")) env.OPENAI_BASE_URL = `${url}/openai`
          if (routes.has("anthropic")) env.ANTHROPIC_BASE_URL = `${url}/anthropic`
          for (const name of ["OPENAI_API_KEY", "ANTHROPIC_API_KEY", ...tokenVars]) env[name] = token
          return env
        }),
      coolLastKey: (id, retryAfter) =>
        Effect.sync(() => {
          const last = items.get(id)?.lastKey
          if (last === undefined) return
          const route = routes.get(last.api)
          const key = route?.selector.keys.find((k) => k.label === last.label)
          if (route === undefined || key === undefined) return
          route.selector.cool(key, retryAfter === undefined ? backoffMs : Duration.toMillis(retryAfter))
        }),
      stats: Effect.sync(() => ({
        keys: [...routes.values()].flatMap((route) =>
          route.selector.keys.map((k) => ({
            api: route.api,
            label: k.label,
            domain: k.domain,
            requests: k.requests,
            rateLimits: k.rateLimits,
            tokens: k.tokens,
            coolingMillis: k.coolingMs,
            state: route.selector.state(k)
          }))
        ),
        items: new Map([...items].map(([id, s]) => [id, { requests: s.requests, tokens: s.tokens }]))
      })),
      messages
    } satisfies GatewayShape
  })

/**
 * The gateway as a layer.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (options: GatewayOptions): Layer.Layer<Gateway, GatewayError> =>
  Layer.scoped(Gateway, make(options))
