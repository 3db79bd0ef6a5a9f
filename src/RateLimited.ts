/**
 * The one failure every workflow may report: "the API said 429 on my credential".
 *
 * @since 0.1.0
 */
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Predicate from "effect/Predicate"
import * as Schema from "effect/Schema"
import { clampCooldownMillis } from "./internal/timers.js"

/**
 * A workflow fails with this when the API answered HTTP 429. The credential pool cools the
 * credential that was in use for `retryAfter` (or the configured backoff) and runs the workflow
 * again at once with another credential; it never counts as a failed attempt.
 *
 * @since 0.1.0
 * @category errors
 */
export class RateLimited extends Schema.TaggedError<RateLimited>()("RateLimited", {
  retryAfter: Schema.optional(Schema.DurationFromSelf)
}) {
  override get message(): string {
    return this.retryAfter === undefined
      ? "rate limited (HTTP 429)"
      : `rate limited (HTTP 429), retry after ${Duration.format(this.retryAfter)}`
  }
}

/**
 * `true` for a {@link RateLimited} failure, told by its `_tag` on a yieldable error (an `Effect`)
 * whose `retryAfter` is absent or a `Duration`, not by `instanceof`: a `RateLimited` made by a
 * second copy of this package counts too.
 *
 * @since 0.1.0
 * @category refinements
 */
export const isRateLimited = (u: unknown): u is RateLimited =>
  Predicate.isTagged(u, "RateLimited") && Effect.isEffect(u) &&
  (!Predicate.hasProperty(u, "retryAfter") || u.retryAfter === undefined || Duration.isDuration(u.retryAfter))

/**
 * Anything that can answer a header by name: fetch `Headers`, a Node `IncomingHttpHeaders`
 * record, or a plain record.
 *
 * @since 0.1.0
 * @category models
 */
export type HeadersLike =
  | { readonly get: (name: string) => string | null | undefined }
  | Readonly<Record<string, string | ReadonlyArray<string> | undefined>>

const header = (headers: HeadersLike, name: string): string | undefined => {
  if (typeof (headers as { get?: unknown }).get === "function") {
    const value = (headers as { get: (name: string) => string | null | undefined }).get(name)
    return value ?? undefined
  }
  const record = headers as Readonly<Record<string, string | ReadonlyArray<string> | undefined>>
  const key = Object.keys(record).find((k) => k.toLowerCase() === name)
  const value = key === undefined ? undefined : record[key]
  return typeof value === "string" ? value : value?.[0]
}

const NUMBER = /^\s*\d+(\.\d+)?\s*$/
/** IMF-fixdate (`Sun, 06 Nov 1994 08:49:37 GMT`) and the obsolete RFC 850 form (`Sunday, 06-Nov-94 ...`). */
const IMF_DATE =
  /^\s*[A-Za-z]{3,9},\s*\d{1,2}[\s-][A-Za-z]{3}[\s-]\d{2}(\d{2})?\s+\d{1,2}:\d{2}:\d{2}\s+(GMT|UTC|[+-]\d{4})\s*$/i
/** The obsolete asctime form (`Sun Nov  6 08:49:37 1994`), which is GMT although it does not say so. */
const ASCTIME_DATE = /^\s*[A-Za-z]{3}\s+[A-Za-z]{3}\s+\d{1,2}\s+\d{1,2}:\d{2}:\d{2}\s+\d{4}\s*$/

/**
 * An HTTP-date as epoch milliseconds, or `NaN`. `Date.parse` alone is far too lenient ("-1" or
 * "soon 2" parse as dates in 2001) and reads asctime dates in the local time zone.
 */
const parseHttpDate = (value: string): number =>
  IMF_DATE.test(value)
    ? Date.parse(value)
    : ASCTIME_DATE.test(value)
    ? Date.parse(`${value.trim()} GMT`)
    : Number.NaN

/**
 * Reads how long to wait from HTTP response headers: `retry-after-ms` (milliseconds) first, then
 * `retry-after` as seconds (decimals allowed) or as an HTTP-date (IMF-fixdate, RFC 850 or asctime,
 * all GMT). A date in the past gives zero; a wait over 24 hours (`retry-after: 1e20`) gives 24 hours,
 * the longest cooldown the pool gives; a missing or unreadable header gives `None`.
 *
 * @since 0.1.0
 * @category parsers
 */
export const parseRetryAfter = (
  headers: HeadersLike,
  now: number = Date.now()
): Option.Option<Duration.Duration> => {
  const ms = header(headers, "retry-after-ms")
  if (ms !== undefined && NUMBER.test(ms)) {
    return Option.some(Duration.millis(clampCooldownMillis(Number(ms))))
  }
  const value = header(headers, "retry-after")
  if (value === undefined) return Option.none()
  if (NUMBER.test(value)) return Option.some(Duration.millis(clampCooldownMillis(Math.round(Number(value) * 1000))))
  const date = parseHttpDate(value)
  return Number.isNaN(date) ? Option.none() : Option.some(Duration.millis(clampCooldownMillis(date - now)))
}
