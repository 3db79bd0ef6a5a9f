// Small HTTP helpers of the gateway: the APIs' error formats, header filtering, safe joining of a
// child's path below the upstream base, request-body buffering, and usage read from answers.
import type * as Http from "node:http"

export type Api = "openai" | "anthropic"

export interface Reply {
  readonly status: number
  readonly headers: Record<string, string | ReadonlyArray<string>>
  readonly body: Buffer
}

const ANTHROPIC_TYPES: Record<number, string> = {
  400: "invalid_request_error",
  401: "authentication_error",
  404: "not_found_error",
  405: "invalid_request_error",
  413: "request_too_large",
  429: "rate_limit_error",
  502: "api_error",
  503: "overloaded_error"
}

/** An error answer in the API's own JSON format. */
export const errorReply = (api: Api, status: number, message: string, code: string | null = null): Reply => {
  const body = api === "anthropic"
    ? { type: "error", error: { type: ANTHROPIC_TYPES[status] ?? "api_error", message } }
    : {
      error: {
        message,
        type: status === 429 ? "requests" : status >= 500 ? "server_error" : "invalid_request_error",
        param: null,
        code
      }
    }
  return { status, headers: { "content-type": "application/json" }, body: Buffer.from(JSON.stringify(body)) }
}

export const sendReply = (res: Http.ServerResponse, reply: Reply): void => {
  if (res.headersSent || res.destroyed) {
    res.destroy()
    return
  }
  res.writeHead(reply.status, { ...reply.headers, "content-length": String(reply.body.length) })
  res.end(reply.body)
}

const HOP_BY_HOP = new Set([
  "connection",
  "keep-alive",
  "proxy-authenticate",
  "proxy-authorization",
  "proxy-connection",
  "te",
  "trailer",
  "transfer-encoding",
  "upgrade",
  "host"
])
const AUTH = new Set(["authorization", "x-api-key", "api-key", "cookie"])

const connectionListed = (headers: Http.IncomingHttpHeaders): Set<string> =>
  new Set(
    String(headers.connection ?? "").split(",").map((name) => name.trim().toLowerCase()).filter((n) => n !== "")
  )

/** The child's headers as they go upstream: no hop-by-hop, no auth, no length (set again), identity encoding. */
export const upstreamHeaders = (headers: Http.IncomingHttpHeaders): Record<string, string | Array<string>> => {
  const listed = connectionListed(headers)
  const out: Record<string, string | Array<string>> = {}
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined || HOP_BY_HOP.has(name) || AUTH.has(name) || listed.has(name)) continue
    if (name === "content-length" || name === "accept-encoding") continue
    out[name] = value
  }
  // Answers are relayed as they are and read for usage: uncompressed.
  out["accept-encoding"] = "identity"
  return out
}

/** The upstream's headers as they go to the child: no hop-by-hop. */
export const downstreamHeaders = (headers: Http.IncomingHttpHeaders): Record<string, string | Array<string>> => {
  const listed = connectionListed(headers)
  const out: Record<string, string | Array<string>> = {}
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined || HOP_BY_HOP.has(name) || listed.has(name)) continue
    out[name] = value
  }
  return out
}

/**
 * `rest` (what follows `/openai` in the child's request target, query included) joined below the
 * upstream base, or why it is refused: no dot segment (encoded or not) and no backslash, so nothing
 * climbs out of the base.
 */
export const joinBelow = (upstream: URL, rest: string): URL | string => {
  const q = rest.indexOf("?")
  const path = q === -1 ? rest : rest.slice(0, q)
  const query = q === -1 ? "" : rest.slice(q)
  if (path !== "" && !path.startsWith("/")) return "the path must start with /"
  if (path.includes("\\")) return "backslashes are not allowed in the path"
  for (const segment of path.split("/")) {
    let decoded: string
    try {
      decoded = decodeURIComponent(segment)
    } catch {
      return "the path is not valid percent-encoding"
    }
    if (decoded === "." || decoded === ".." || decoded.includes("/") || decoded.includes("\\")) {
      return "dot segments and encoded slashes are not allowed in the path"
    }
  }
  const base = upstream.pathname.replace(/\/+$/, "")
  const target = new URL(upstream.origin)
  target.pathname = base + path
  target.search = query
  if (target.origin !== upstream.origin || !target.pathname.startsWith(base)) return "the path leaves the upstream"
  return target
}

/** Bodies up to this size are kept for a resend after a 429. */
export const MAX_BUFFERED_BODY = 16 * 1024 * 1024

export type Body =
  | { readonly _tag: "Buffered"; readonly data: Buffer }
  | { readonly _tag: "Streamed"; readonly head: ReadonlyArray<Buffer> }

export const readBody = (req: Http.IncomingMessage): Promise<Body> =>
  new Promise((resolve, reject) => {
    const chunks: Array<Buffer> = []
    let size = 0
    const cleanup = () => {
      req.off("data", onData)
      req.off("end", onEnd)
      req.off("error", onError)
    }
    const onData = (chunk: Buffer) => {
      chunks.push(chunk)
      size += chunk.length
      if (size > MAX_BUFFERED_BODY) {
        req.pause()
        cleanup()
        resolve({ _tag: "Streamed", head: chunks })
      }
    }
    const onEnd = () => {
      cleanup()
      resolve({ _tag: "Buffered", data: Buffer.concat(chunks) })
    }
    const onError = (error: Error) => {
      cleanup()
      reject(error)
    }
    req.on("data", onData)
    req.on("end", onEnd)
    req.on("error", onError)
  })

/** Tokens a request may use: prompt characters / 4 plus its `max_tokens` (or `max_output_tokens`). */
export const estimateTokens = (body: Body): number => {
  if (body._tag === "Streamed") return 0
  const text = body.data.toString("utf8")
  let max = 0
  try {
    const json = JSON.parse(text) as Record<string, unknown>
    const value = json.max_tokens ?? json.max_output_tokens ?? json.max_completion_tokens
    if (typeof value === "number" && Number.isFinite(value) && value > 0) max = value
  } catch {
    // Not JSON: the characters alone.
  }
  return Math.ceil(text.length / 4) + max
}

const usageTokens = (usage: unknown): number => {
  if (typeof usage !== "object" || usage === null) return 0
  const u = usage as Record<string, unknown>
  const n = (v: unknown) => (typeof v === "number" && Number.isFinite(v) ? v : 0)
  if (typeof u.total_tokens === "number") return n(u.total_tokens)
  return n(u.prompt_tokens) + n(u.completion_tokens) + n(u.input_tokens) + n(u.output_tokens)
}

/** Keeps the head and the tail of an answer, to read its usage at the end without buffering it. */
export const makeUsageTap = () => {
  const HEAD = 16 * 1024
  const TAIL = 64 * 1024
  let head = ""
  let tail = ""
  let total = 0
  return {
    push: (chunk: Buffer) => {
      total += chunk.length
      const text = chunk.toString("utf8")
      if (head.length < HEAD) head += text.slice(0, HEAD - head.length)
      tail = (tail + text).slice(-TAIL)
    },
    /** Tokens in and out the answer reports (JSON `usage`, or the SSE events that carry one). */
    tokens: (): number => {
      const whole = total <= HEAD ? head : undefined
      if (whole !== undefined) {
        try {
          return usageTokens((JSON.parse(whole) as { usage?: unknown }).usage)
        } catch {
          // Server-sent events, read below.
        }
      }
      let tokens = 0
      let input = 0
      const events = total <= HEAD ? head : `${head}\n${tail}`
      for (const line of events.split(/\r?\n/)) {
        if (!line.startsWith("data:")) continue
        try {
          const event = JSON.parse(line.slice(5).trim()) as Record<string, unknown>
          if (event.type === "message_start") {
            input = usageTokens((event.message as { usage?: unknown } | undefined)?.usage)
          } else if (event.type === "message_delta") {
            tokens = input + usageTokens(event.usage)
          } else if (event.usage !== undefined && event.usage !== null) {
            tokens = usageTokens(event.usage)
          } else if (typeof event.response === "object" && event.response !== null) {
            const usage = (event.response as { usage?: unknown }).usage
            if (usage !== undefined && usage !== null) tokens = usageTokens(usage)
          }
        } catch {
          // A partial or non-JSON event.
        }
      }
      return tokens
    }
  }
}
