import { describe, expect, it } from "@effect/vitest"
import * as Duration from "effect/Duration"
import * as Option from "effect/Option"
import {
  cooldownAfter429,
  isQuotaExhausted,
  parseRateLimitHeaders,
  parseResetDuration,
  parseRfc3339
} from "../src/RateLimitHeaders.js"

const now = Date.parse("2026-12-02T20:00:00Z")

describe("RateLimitHeaders", () => {
  it("reads OpenAI reset durations", () => {
    expect(parseResetDuration("6m0s")).toEqual(Option.some(360_000))
    expect(parseResetDuration("250ms")).toEqual(Option.some(250))
    expect(parseResetDuration("1s")).toEqual(Option.some(1000))
    expect(parseResetDuration("0.42s")).toEqual(Option.some(420))
    expect(parseResetDuration("1h2m3.5s")).toEqual(Option.some(3_723_500))
    expect(parseResetDuration("2")).toEqual(Option.some(2000))
    expect(parseResetDuration("soon")).toEqual(Option.none())
    expect(parseResetDuration("")).toEqual(Option.none())
  })

  it("reads RFC 3339 times and refuses other dates", () => {
    expect(parseRfc3339("2026-12-02T20:00:05Z")).toEqual(Option.some(now + 5000))
    expect(parseRfc3339("2026-12-02T21:00:05+01:00")).toEqual(Option.some(now + 5000))
    expect(parseRfc3339("Wed, 02 Dec 2026 20:00:05 GMT")).toEqual(Option.none())
  })

  it("reads OpenAI budgets", () => {
    const info = parseRateLimitHeaders({
      "x-ratelimit-limit-requests": "5",
      "x-ratelimit-remaining-requests": "0",
      "x-ratelimit-reset-requests": "120ms",
      "x-ratelimit-remaining-tokens": "900",
      "x-ratelimit-reset-tokens": "1m0s"
    }, now)
    expect(info.requests).toEqual({ limit: 5, remaining: 0, resetAt: now + 120 })
    expect(info.tokens).toEqual({ limit: undefined, remaining: 900, resetAt: now + 60_000 })
  })

  it("reads Anthropic budgets, input/output tokens as the tighter one", () => {
    const info = parseRateLimitHeaders({
      "anthropic-ratelimit-requests-remaining": "3",
      "anthropic-ratelimit-requests-reset": "2026-12-02T20:00:01Z",
      "anthropic-ratelimit-input-tokens-remaining": "100",
      "anthropic-ratelimit-input-tokens-reset": "2026-12-02T20:00:02Z",
      "anthropic-ratelimit-output-tokens-remaining": "50",
      "anthropic-ratelimit-output-tokens-reset": "2026-12-02T20:00:03Z"
    }, now)
    expect(info.requests.remaining).toBe(3)
    expect(info.requests.resetAt).toBe(now + 1000)
    expect(info.tokens).toEqual({ limit: undefined, remaining: 50, resetAt: now + 3000 })
  })

  it("takes a 429's cooldown from retry-after first, else from the used-up budget's reset", () => {
    expect(cooldownAfter429({ "retry-after-ms": "1500", "x-ratelimit-reset-requests": "6m0s" }, now))
      .toEqual(Option.some(Duration.millis(1500)))
    expect(cooldownAfter429({ "retry-after": "2" }, now)).toEqual(Option.some(Duration.millis(2000)))
    expect(cooldownAfter429({ "x-ratelimit-remaining-requests": "0", "x-ratelimit-reset-requests": "6m0s" }, now))
      .toEqual(Option.some(Duration.millis(360_000)))
    expect(cooldownAfter429({ "anthropic-ratelimit-requests-reset": "2026-12-02T20:00:04Z" }, now))
      .toEqual(Option.some(Duration.millis(4000)))
    expect(cooldownAfter429({}, now)).toEqual(Option.none())
  })

  it("tells quota from rate", () => {
    expect(isQuotaExhausted(429, JSON.stringify({ error: { code: "insufficient_quota" } }))).toBe(true)
    expect(isQuotaExhausted(402, "billing_hard_limit_reached")).toBe(true)
    expect(isQuotaExhausted(429, JSON.stringify({ error: { code: "rate_limit_exceeded" } }))).toBe(false)
    expect(isQuotaExhausted(500, "insufficient_quota")).toBe(false)
  })
})
