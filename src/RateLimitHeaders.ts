/**
 * Reads the rate-limit headers of OpenAI- and Anthropic-style APIs into one shape: how long to wait
 * after a 429, and what is left of a key's request and token budgets until when. Shared by the
 * gateway and by library code.
 *
 * @since 0.1.0
 */
import * as Duration from "effect/Duration"
import * as Option from "effect/Option"
import { type HeadersLike, parseRetryAfter } from "./RateLimited.js"

/**
 * What is left of one budget (requests or tokens) and when it is whole again.
 *
 * @since 0.1.0
 * @category models
 */
export interface Budget {
  /** The limit, when the provider said it. */
  readonly limit?: number | undefined
  /** What is left, when the provider said it. */
  readonly remaining?: number | undefined
  /** Epoch milliseconds at which the budget is whole again, when the provider said it. */
  readonly resetAt?: number | undefined
}

/**
 * Everything the rate-limit headers of one response say.
 *
 * @since 0.1.0
 * @category models
 */
export interface RateLimitInfo {
  /** The provider's retry-after (`retry-after-ms`, `retry-after`), if any. */
  readonly retryAfter: Option.Option<Duration.Duration>
  /** The request budget (`x-ratelimit-*-requests`, `anthropic-ratelimit-requests-*`). */
  readonly requests: Budget
  /**
   * The token budget (`x-ratelimit-*-tokens`, `anthropic-ratelimit-tokens-*`, else the smaller of
   * `anthropic-ratelimit-input-tokens-*` and `-output-tokens-*`).
   */
  readonly tokens: Budget
}

const header = (headers: HeadersLike, name: string): string | undefined => {
  if (typeof (headers as { get?: unknown }).get === "function") {
    return (headers as { get: (name: string) => string | null | undefined }).get(name) ?? undefined
  }
  const record = headers as Readonly<Record<string, string | ReadonlyArray<string> | undefined>>
  const direct = record[name]
  const value = direct !== undefined
    ? direct
    : record[Object.keys(record).find((k) => k.toLowerCase() === name) ?? ""]
  return typeof value === "string" ? value : value?.[0]
}

const GO_DURATION = /^(?:(\d+(?:\.\d+)?)h)?(?:(\d+(?:\.\d+)?)m(?!s))?(?:(\d+(?:\.\d+)?)s)?(?:(\d+(?:\.\d+)?)ms)?$/

/**
 * A reset duration as OpenAI writes it (`6m0s`, `1h2m3.5s`, `250ms`, `1s`, `0.42s`) or a bare number
 * of seconds, in milliseconds; `None` when unreadable.
 *
 * @since 0.1.0
 * @category parsers
 */
export const parseResetDuration = (text: string): Option.Option<number> => {
  const value = text.trim()
  if (value === "") return Option.none()
  if (/^\d+(\.\d+)?$/.test(value)) return Option.some(Math.round(Number(value) * 1000))
  const match = GO_DURATION.exec(value)
  if (match === null || match.slice(1).every((part) => part === undefined)) return Option.none()
  const [, h, m, s, ms] = match.map((part) => (part === undefined ? 0 : Number(part)))
  return Option.some(Math.round(h! * 3_600_000 + m! * 60_000 + s! * 1000 + ms!))
}

const RFC3339 = /^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/

/**
 * An RFC 3339 time (`2026-12-02T19:30:00Z`) as epoch milliseconds; `None` when unreadable.
 *
 * @since 0.1.0
 * @category parsers
 */
export const parseRfc3339 = (text: string): Option.Option<number> => {
  const value = text.trim()
  if (!RFC3339.test(value)) return Option.none()
  const ms = Date.parse(value)
  return Number.isNaN(ms) ? Option.none() : Option.some(ms)
}

const count = (text: string | undefined): number | undefined =>
  text !== undefined && /^\s*\d+\s*$/.test(text) ? Number(text) : undefined

const openAiBudget = (headers: HeadersLike, kind: "requests" | "tokens", now: number): Budget => {
  const reset = header(headers, `x-ratelimit-reset-${kind}`)
  const resetMs = reset === undefined ? Option.none() : parseResetDuration(reset)
  return {
    limit: count(header(headers, `x-ratelimit-limit-${kind}`)),
    remaining: count(header(headers, `x-ratelimit-remaining-${kind}`)),
    resetAt: Option.isSome(resetMs) ? now + resetMs.value : undefined
  }
}

const anthropicBudget = (headers: HeadersLike, kind: string): Budget => {
  const reset = header(headers, `anthropic-ratelimit-${kind}-reset`)
  return {
    limit: count(header(headers, `anthropic-ratelimit-${kind}-limit`)),
    remaining: count(header(headers, `anthropic-ratelimit-${kind}-remaining`)),
    resetAt: reset === undefined ? undefined : Option.getOrUndefined(parseRfc3339(reset))
  }
}

const isEmpty = (budget: Budget): boolean =>
  budget.limit === undefined && budget.remaining === undefined && budget.resetAt === undefined

/** Of two budgets, the one with less left (input and output tokens are limited separately). */
const tighter = (a: Budget, b: Budget): Budget => {
  if (isEmpty(a)) return b
  if (isEmpty(b)) return a
  return (b.remaining ?? Infinity) < (a.remaining ?? Infinity) ? b : a
}

/**
 * Reads every rate-limit header family of a response. A reset that is already past reads as `now`.
 *
 * @since 0.1.0
 * @category parsers
 */
export const parseRateLimitHeaders = (headers: HeadersLike, now: number = Date.now()): RateLimitInfo => {
  let requests = openAiBudget(headers, "requests", now)
  if (isEmpty(requests)) requests = anthropicBudget(headers, "requests")
  let tokens = openAiBudget(headers, "tokens", now)
  if (isEmpty(tokens)) tokens = anthropicBudget(headers, "tokens")
  if (isEmpty(tokens)) {
    tokens = tighter(anthropicBudget(headers, "input-tokens"), anthropicBudget(headers, "output-tokens"))
  }
  return { retryAfter: parseRetryAfter(headers, now), requests, tokens }
}

/**
 * How long a key should cool after a 429: the provider's retry-after, else the time until the
 * exhausted budget (requests, else tokens) resets, else `None` (the caller's backoff applies).
 *
 * @since 0.1.0
 * @category parsers
 */
export const cooldownAfter429 = (headers: HeadersLike, now: number = Date.now()): Option.Option<Duration.Duration> => {
  const info = parseRateLimitHeaders(headers, now)
  if (Option.isSome(info.retryAfter)) return info.retryAfter
  const resets = [info.requests, info.tokens]
    .filter((b) => b.resetAt !== undefined && (b.remaining === undefined || b.remaining === 0))
    .map((b) => b.resetAt! - now)
  const fallback = [info.requests.resetAt, info.tokens.resetAt].filter((t): t is number => t !== undefined)
    .map((t) => t - now)
  const candidates = resets.length > 0 ? resets : fallback
  return candidates.length === 0
    ? Option.none()
    : Option.some(Duration.millis(Math.max(0, Math.max(...candidates))))
}

const QUOTA_CODES =
  /insufficient_quota|billing_hard_limit_reached|billing_not_active|quota_exceeded|spend[ _-]?limit|credit balance is too low|per[ _-]?day/i

/**
 * Whether a 429/402 answer says the quota (not the rate) is used up: OpenAI `insufficient_quota` or
 * `billing_hard_limit_reached`, Anthropic spend-limit and credit errors, a per-day quota.
 *
 * @since 0.1.0
 * @category parsers
 */
export const isQuotaExhausted = (status: number, body: string): boolean =>
  (status === 429 || status === 402) && QUOTA_CODES.test(body)
