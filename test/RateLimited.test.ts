import { assert, describe, it } from "@effect/vitest"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as fc from "effect/FastCheck"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import { isRateLimited, parseRetryAfter, RateLimited } from "../src/RateLimited.js"

const NOW = Date.parse("Wed, 21 Oct 2015 07:28:00 GMT")

const millis = (o: Option.Option<Duration.Duration>): number | undefined =>
  Option.getOrUndefined(Option.map(o, Duration.toMillis))

describe("RateLimited", () => {
  it.effect("is a tagged error with an optional retryAfter", () =>
    Effect.gen(function*() {
      const bare = new RateLimited()
      assert.strictEqual(bare._tag, "RateLimited")
      assert.isUndefined(bare.retryAfter)
      assert.strictEqual(bare.message, "rate limited (HTTP 429)")
      assert.instanceOf(bare, Error)

      const timed = new RateLimited({ retryAfter: Duration.seconds(30) })
      assert.strictEqual(timed._tag, "RateLimited")
      assert.isTrue(Duration.equals(timed.retryAfter!, Duration.seconds(30)))
      assert.include(timed.message, "30s")

      const caught = yield* Effect.fail(timed).pipe(
        Effect.catchTag("RateLimited", (e) => Effect.succeed(e.retryAfter))
      )
      assert.isTrue(Duration.equals(caught!, Duration.seconds(30)))
    }))

  it("isRateLimited recognises only RateLimited", () => {
    assert.isTrue(isRateLimited(new RateLimited()))
    assert.isTrue(isRateLimited(new RateLimited({ retryAfter: Duration.millis(1) })))
    assert.isFalse(isRateLimited({ _tag: "RateLimited" }))
    assert.isFalse(isRateLimited(new Error("429")))
    assert.isFalse(isRateLimited(undefined))
  })

  it("isRateLimited recognises a RateLimited from a second copy of the package (by _tag, not instanceof)", () => {
    // What a second copy's class looks like: another class, the same tag and fields.
    class OtherCopy extends Schema.TaggedError<OtherCopy>()("RateLimited", {
      retryAfter: Schema.optional(Schema.DurationFromSelf)
    }) {}
    assert.isTrue(isRateLimited(new OtherCopy()))
    assert.isTrue(isRateLimited(new OtherCopy({ retryAfter: Duration.seconds(3) })))
    class NotDuration extends Schema.TaggedError<NotDuration>()("RateLimited", { retryAfter: Schema.Number }) {}
    assert.isFalse(isRateLimited(new NotDuration({ retryAfter: 3 })))
    class OtherTag extends Schema.TaggedError<OtherTag>()("Limited", {}) {}
    assert.isFalse(isRateLimited(new OtherTag()))
  })

  it("round-trips through its schema", () => {
    const error = new RateLimited({ retryAfter: Duration.seconds(2) })
    const decoded = Schema.decodeUnknownSync(RateLimited)(Schema.encodeSync(RateLimited)(error))
    assert.instanceOf(decoded, RateLimited)
    assert.isTrue(Duration.equals(decoded.retryAfter!, Duration.seconds(2)))
  })
})

describe("parseRetryAfter", () => {
  it("reads whole and decimal seconds", () => {
    assert.strictEqual(millis(parseRetryAfter({ "retry-after": "120" }, NOW)), 120_000)
    assert.strictEqual(millis(parseRetryAfter({ "retry-after": "0" }, NOW)), 0)
    assert.strictEqual(millis(parseRetryAfter({ "retry-after": "1.5" }, NOW)), 1_500)
    assert.strictEqual(millis(parseRetryAfter({ "retry-after": " 2 " }, NOW)), 2_000)
    assert.strictEqual(millis(parseRetryAfter({ "retry-after": "0.0004" }, NOW)), 0)
  })

  it("reads an HTTP-date against now; a date in the past gives zero", () => {
    assert.strictEqual(millis(parseRetryAfter({ "retry-after": "Wed, 21 Oct 2015 07:28:30 GMT" }, NOW)), 30_000)
    assert.strictEqual(millis(parseRetryAfter({ "retry-after": "Wed, 21 Oct 2015 07:27:00 GMT" }, NOW)), 0)
    // the obsolete formats HTTP still allows
    assert.strictEqual(millis(parseRetryAfter({ "retry-after": "Wednesday, 21-Oct-15 07:29:00 GMT" }, NOW)), 60_000)
    assert.strictEqual(millis(parseRetryAfter({ "retry-after": "Wed Oct 21 07:28:10 2015" }, NOW)), 10_000)
  })

  it("reads an asctime date as GMT whatever the local time zone", () => {
    const saved = process.env.TZ
    process.env.TZ = "America/New_York"
    try {
      assert.notStrictEqual(new Date(NOW).getTimezoneOffset(), 0)
      assert.strictEqual(millis(parseRetryAfter({ "retry-after": "Wed Oct 21 07:28:10 2015" }, NOW)), 10_000)
      assert.strictEqual(millis(parseRetryAfter({ "retry-after": "Wed, 21 Oct 2015 07:28:10 GMT" }, NOW)), 10_000)
    } finally {
      if (saved === undefined) delete process.env.TZ
      else process.env.TZ = saved
    }
  })

  it("uses the current time by default", () => {
    const future = new Date(Date.now() + 3_600_000).toUTCString()
    const ms = millis(parseRetryAfter({ "retry-after": future }))!
    assert.isAbove(ms, 3_500_000)
    assert.isAtMost(ms, 3_600_000)
  })

  it("prefers retry-after-ms", () => {
    assert.strictEqual(millis(parseRetryAfter({ "retry-after-ms": "250", "retry-after": "10" }, NOW)), 250)
    assert.strictEqual(millis(parseRetryAfter({ "retry-after-ms": "1500" }, NOW)), 1_500)
    // an unreadable retry-after-ms falls back to retry-after
    assert.strictEqual(millis(parseRetryAfter({ "retry-after-ms": "soon", "retry-after": "3" }, NOW)), 3_000)
  })

  it("reads fetch Headers and plain records, whatever the case of the name", () => {
    assert.strictEqual(millis(parseRetryAfter(new Headers({ "Retry-After": "7" }), NOW)), 7_000)
    assert.strictEqual(millis(parseRetryAfter(new Headers({ "RETRY-AFTER-MS": "70", "retry-after": "7" }), NOW)), 70)
    assert.strictEqual(millis(parseRetryAfter({ "Retry-After": "8" }, NOW)), 8_000)
    assert.strictEqual(millis(parseRetryAfter({ "Retry-After-Ms": "80" }, NOW)), 80)
    // Node's IncomingHttpHeaders may hold arrays
    assert.strictEqual(millis(parseRetryAfter({ "retry-after": ["9"] }, NOW)), 9_000)
    assert.strictEqual(millis(parseRetryAfter({ "retry-after": undefined, "x-other": "1" }, NOW)), undefined)
    assert.isTrue(Option.isNone(parseRetryAfter(new Headers(), NOW)))
    assert.isTrue(Option.isNone(parseRetryAfter({}, NOW)))
  })

  it("gives None for garbage", () => {
    for (
      const value of [
        "",
        " ",
        "soon",
        "tomorrow",
        "-1",
        "-5",
        "1e3",
        "0x10",
        "NaN",
        "Infinity",
        "1,5",
        "12abc",
        "1.",
        "2 seconds",
        "soon 2",
        "May 5",
        "3 4"
      ]
    ) {
      assert.isTrue(Option.isNone(parseRetryAfter({ "retry-after": value }, NOW)), JSON.stringify(value))
      assert.isTrue(Option.isNone(parseRetryAfter(new Headers({ "retry-after": value }), NOW)), JSON.stringify(value))
    }
  })

  it.prop(
    "never throws; any answer is a finite, non-negative duration",
    [fc.string({ unit: "binary-ascii", maxLength: 40 }), fc.string({ unit: "binary-ascii", maxLength: 12 })],
    ([retryAfter, retryAfterMs]) => {
      for (
        const headers of [{ "retry-after": retryAfter }, { "retry-after": retryAfter, "retry-after-ms": retryAfterMs }]
      ) {
        const result = parseRetryAfter(headers, NOW)
        if (Option.isSome(result)) {
          const ms = Duration.toMillis(result.value)
          assert.isTrue(Number.isFinite(ms) && ms >= 0, `${JSON.stringify(headers)} -> ${ms}`)
        }
      }
    }
  )

  it.prop(
    "reads any whole or decimal number of seconds up to 24 hours exactly (to the millisecond)",
    [fc.integer({ min: 0, max: 86_399 }), fc.integer({ min: 0, max: 999 })],
    ([seconds, thousandths]) => {
      const text = `${seconds}.${String(thousandths).padStart(3, "0")}`
      assert.strictEqual(millis(parseRetryAfter({ "retry-after": text }, NOW)), seconds * 1000 + thousandths)
      assert.strictEqual(millis(parseRetryAfter({ "retry-after": String(seconds) }, NOW)), seconds * 1000)
    }
  )
})
