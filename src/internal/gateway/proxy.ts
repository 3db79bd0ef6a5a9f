// One request through the gateway: checked (route, token, path), its body kept for a resend, a key
// leased for each send, 429s absorbed (cooling or retiring the key) and the answer relayed as it
// arrives.
import * as Duration from "effect/Duration"
import * as Option from "effect/Option"
import * as Http from "node:http"
import * as Https from "node:https"
import { cooldownAfter429, isQuotaExhausted, parseRateLimitHeaders } from "../../RateLimitHeaders.js"
import {
  type Api,
  type Body,
  downstreamHeaders,
  errorReply,
  estimateTokens,
  joinBelow,
  makeUsageTap,
  readBody,
  type Reply,
  sendReply,
  upstreamHeaders
} from "./http.js"
import type { KeyEntry, KeySelector } from "./keySelector.js"

export interface TokenOwner {
  readonly id: string
  readonly attempt: number
  readonly count: (api: Api, label: string, tokens: number) => void
}

export interface Route {
  readonly api: Api
  readonly upstream: URL
  readonly selector: KeySelector
  /** The last 429 of this API, given to a request that waited past the max wait. */
  last429: Reply | undefined
  /** The last quota error of this API, given once every key is exhausted. */
  lastQuota: Reply | undefined
}

export interface ProxyContext {
  readonly routes: ReadonlyMap<Api, Route>
  readonly ownerOf: (token: string | undefined) => TokenOwner | undefined
  readonly maxWaitMs: number
  readonly backoffMs: number
}

const httpAgent = new Http.Agent({ keepAlive: true, maxSockets: 256 })
const httpsAgent = new Https.Agent({ keepAlive: true, maxSockets: 256 })

const BEARER = /^Bearer\s+(\S+)\s*$/i

const presentedToken = (req: Http.IncomingMessage): string | undefined => {
  const bearer = BEARER.exec(req.headers.authorization ?? "")
  if (bearer !== null) return bearer[1]
  const apiKey = req.headers["x-api-key"]
  return typeof apiKey === "string" ? apiKey.trim() : undefined
}

const jitter = (ms: number) => Math.random() * Math.min(250, ms * 0.1)

const readAll = (res: Http.IncomingMessage, limit = 1024 * 1024): Promise<Buffer> =>
  new Promise((resolve) => {
    const chunks: Array<Buffer> = []
    let size = 0
    res.on("data", (chunk: Buffer) => {
      size += chunk.length
      if (size <= limit) chunks.push(chunk)
    })
    res.on("end", () => resolve(Buffer.concat(chunks)))
    res.on("error", () => resolve(Buffer.concat(chunks)))
    res.on("aborted", () => resolve(Buffer.concat(chunks)))
  })

interface Sent {
  readonly response: Http.IncomingMessage
}

const send = (
  target: URL,
  req: Http.IncomingMessage,
  body: Body,
  key: KeyEntry,
  api: Api,
  signal: AbortSignal
): Promise<Sent> =>
  new Promise((resolve, reject) => {
    const headers = upstreamHeaders(req.headers)
    if (api === "anthropic") headers["x-api-key"] = key.secret
    else headers.authorization = `Bearer ${key.secret}`
    if (body._tag === "Buffered" && (body.data.length > 0 || req.method !== "GET")) {
      headers["content-length"] = String(body.data.length)
    }
    const client = target.protocol === "https:" ? Https : Http
    const upstream = client.request(target, {
      method: req.method,
      headers,
      agent: target.protocol === "https:" ? httpsAgent : httpAgent,
      signal
    })
    upstream.on("response", (response) => resolve({ response }))
    upstream.on("error", reject)
    if (body._tag === "Buffered") {
      upstream.end(body.data)
    } else {
      for (const chunk of body.head) upstream.write(chunk)
      req.pipe(upstream)
    }
  })

/** Relays an answer as it arrives, then counts its usage. */
const relay = (response: Http.IncomingMessage, res: Http.ServerResponse, done: (tokens: number) => void) => {
  res.writeHead(response.statusCode ?? 502, downstreamHeaders(response.headers))
  // Headers at once: a stream's first event must not wait for more.
  res.flushHeaders()
  const tap = makeUsageTap()
  response.on("data", (chunk: Buffer) => tap.push(chunk))
  response.pipe(res)
  let finished = false
  const finish = () => {
    if (finished) return
    finished = true
    done(tap.tokens())
  }
  response.on("end", finish)
  // A stream broken upstream is passed on broken.
  const broken = () => {
    res.destroy()
    finish()
  }
  response.on("aborted", broken)
  response.on("error", broken)
  res.on("close", () => {
    if (!response.complete) response.destroy()
    finish()
  })
}

const toReply = (response: Http.IncomingMessage, body: Buffer): Reply => ({
  status: response.statusCode ?? 502,
  headers: downstreamHeaders(response.headers) as Record<string, string | Array<string>>,
  body
})

export const forward = async (
  context: ProxyContext,
  req: Http.IncomingMessage,
  res: Http.ServerResponse
): Promise<void> => {
  const target = req.url ?? ""
  if (!target.startsWith("/")) {
    req.resume()
    return sendReply(res, errorReply("openai", 400, "gateway: only origin-form request targets (/path) are accepted"))
  }
  const match = /^\/(openai|anthropic)(?=\/|\?|$)(.*)$/s.exec(target)
  const route = match === null ? undefined : context.routes.get(match[1] as Api)
  if (match === null || route === undefined) {
    req.resume()
    const configured = [...context.routes.keys()].map((api) => `/${api}`).join(", ")
    return sendReply(res, errorReply("openai", 404, `gateway: unknown route; expected a path below ${configured}`))
  }
  const api = route.api
  const owner = context.ownerOf(presentedToken(req))
  if (owner === undefined) {
    req.resume()
    return sendReply(
      res,
      errorReply(
        api,
        401,
        "gateway: missing, unknown or expired gateway token (expected Authorization: Bearer <token> or x-api-key)",
        "invalid_api_key"
      )
    )
  }
  const joined = joinBelow(route.upstream, match[2]!)
  if (typeof joined === "string") {
    req.resume()
    return sendReply(res, errorReply(api, 400, `gateway: request refused: ${joined}`))
  }

  const abort = new AbortController()
  res.on("close", () => {
    if (!res.writableFinished) abort.abort()
  })
  const body = await readBody(req)
  const estimate = estimateTokens(body)
  const deadline = Date.now() + context.maxWaitMs
  let last429: Reply | undefined
  while (true) {
    const leased = await route.selector.acquire(estimate, deadline - Date.now(), abort.signal)
    if (leased._tag === "Cancelled") return
    if (leased._tag === "TimedOut") {
      return sendReply(
        res,
        last429 ?? route.last429 ?? errorReply(api, 429, "gateway: no key became free within --gateway-max-wait")
      )
    }
    if (leased._tag === "Exhausted") {
      return sendReply(
        res,
        route.lastQuota ?? errorReply(api, 429, "gateway: every key is exhausted", "insufficient_quota")
      )
    }
    const key = leased.key
    let response: Http.IncomingMessage
    try {
      response = (await send(joined, req, body, key, api, abort.signal)).response
    } catch (error) {
      route.selector.release(key)
      if (abort.signal.aborted) return
      return sendReply(res, errorReply(api, 502, `gateway: upstream unreachable (${(error as Error).message})`))
    }
    const now = Date.now()
    route.selector.learn(key, parseRateLimitHeaders(response.headers, now))
    const status = response.statusCode ?? 502
    if (status === 429 || status === 402) {
      const errorBody = await readAll(response)
      const reply = toReply(response, errorBody)
      if (isQuotaExhausted(status, errorBody.toString("utf8"))) {
        route.lastQuota = reply
        route.selector.retire(key)
        route.selector.release(key)
        if (body._tag === "Buffered") continue
        owner.count(api, key.label, 0)
        return sendReply(res, reply)
      }
      if (status === 429) {
        const ms = Option.match(cooldownAfter429(response.headers, now), {
          onNone: () => context.backoffMs,
          onSome: Duration.toMillis
        })
        route.selector.cool(key, ms + jitter(ms))
        route.last429 = reply
        last429 = reply
        route.selector.release(key)
        if (body._tag === "Buffered" && Date.now() < deadline) continue
        owner.count(api, key.label, 0)
        return sendReply(res, reply)
      }
      owner.count(api, key.label, 0)
      route.selector.release(key)
      return sendReply(res, reply)
    }
    relay(response, res, (tokens) => {
      key.tokens += tokens
      owner.count(api, key.label, tokens)
      route.selector.release(key)
    })
    return
  }
}
