import { assert, describe, it } from "@effect/vitest"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Option from "effect/Option"
import * as TestClock from "effect/TestClock"
import { makePoolNarrator } from "../../src/cli/Reporter.js"
import { CredentialPool, CredentialUnavailable } from "../../src/CredentialPool.js"
import { formatInstant, formatShort, parseDurationText } from "../../src/internal/durationText.js"
import { MAX_COOLDOWN_MILLIS, MAX_TIMER_MILLIS, sleepLong } from "../../src/internal/timers.js"
import { parseRateLimitLine } from "../../src/ProcessRunner.js"
import { parseRetryAfter } from "../../src/RateLimited.js"

const DAY = 86_400_000

describe("timer limits", () => {
  it.scoped("a retry-after of 1e20 s cools the credential for 24 hours, then it is leased again", () =>
    Effect.gen(function*() {
      const pool = yield* CredentialPool.make({ credentials: ["a"], maxJitter: 0 })
      yield* pool.markRateLimited("key-1", Duration.seconds(1e20))
      const stats = yield* pool.stats
      assert.deepStrictEqual(stats.nextDeadline, Option.some(MAX_COOLDOWN_MILLIS))
      const waiter = yield* Effect.fork(Effect.scoped(Effect.map(pool.lease(), (l) => l.credential.label)))
      yield* TestClock.adjust(MAX_COOLDOWN_MILLIS - 1)
      assert.isTrue(Option.isNone(yield* Fiber.poll(waiter)), "still cooling a millisecond before 24 h")
      yield* TestClock.adjust(1)
      assert.strictEqual(yield* Fiber.join(waiter), "key-1")
      const usage = yield* pool.usage
      assert.strictEqual(
        usage[0]!.coolingMillis,
        MAX_COOLDOWN_MILLIS,
        "the summary's cooling time is 24 h, not 1e23 ms"
      )
    }))

  it.scoped("a backoff over Node's timer limit is a 24 h cooldown too", () =>
    Effect.gen(function*() {
      const pool = yield* CredentialPool.make({ credentials: ["a"], maxJitter: 0, backoff: "600 hours" })
      yield* pool.markRateLimited("key-1")
      assert.deepStrictEqual((yield* pool.stats).nextDeadline, Option.some(MAX_COOLDOWN_MILLIS))
    }))

  it.scoped("a maxWait beyond Node's timer limit still times out", () =>
    Effect.gen(function*() {
      const pool = yield* CredentialPool.make({ credentials: ["a"] })
      const holder = yield* Effect.fork(Effect.scoped(Effect.zipRight(pool.lease(), Effect.never)))
      yield* TestClock.adjust(0)
      const waiter = yield* Effect.fork(Effect.scoped(pool.lease({ maxWait: Duration.days(30) })))
      yield* TestClock.adjust(Duration.days(30))
      const result = yield* Effect.flip(Fiber.join(waiter))
      assert.instanceOf(result, CredentialUnavailable)
      assert.strictEqual(result.reason, "WaitTimedOut")
      yield* Fiber.interrupt(holder)
    }))

  it.effect("sleepLong ends after a duration over the timer limit, not before", () =>
    Effect.gen(function*() {
      const total = 3 * MAX_TIMER_MILLIS + 5
      const fiber = yield* Effect.fork(sleepLong(Duration.millis(total)))
      yield* TestClock.adjust(total - 1)
      assert.isTrue(Option.isNone(yield* Fiber.poll(fiber)))
      yield* TestClock.adjust(1)
      yield* Fiber.join(fiber)
    }))

  it("parseRetryAfter and the protocol line read absurd values as 24 hours", () => {
    assert.deepStrictEqual(parseRetryAfter({ "retry-after": "100000000000000000000" }), Option.some(Duration.days(1)))
    assert.deepStrictEqual(
      parseRetryAfter({ "retry-after-ms": "1e30".replace("1e30", "9".repeat(40)) }),
      Option.some(Duration.days(1))
    )
    assert.deepStrictEqual(
      parseRetryAfter({ "retry-after": "Fri, 31 Dec 9999 23:59:59 GMT" }, 0),
      Option.some(Duration.days(1))
    )
    assert.deepStrictEqual(parseRetryAfter({ "retry-after": "120" }), Option.some(Duration.seconds(120)))
    assert.deepStrictEqual(
      parseRateLimitLine("::rate-limited retry-after=100000000000000000000::"),
      Option.some(Option.some(Duration.days(1)))
    )
    assert.deepStrictEqual(
      parseRateLimitLine("::rate-limited retry-after=2147484::"),
      Option.some(Option.some(Duration.days(1)))
    )
  })

  it("durations: options over the timer limit are refused; long spans and far deadlines read well", () => {
    assert.isTrue(parseDurationText("600h")._tag === "Left")
    assert.match(String((parseDurationText("600h") as { left: string }).left), /at most 596h/)
    assert.isTrue(parseDurationText("596h")._tag === "Right")
    assert.strictEqual(formatShort(DAY * 3 + 3_600_000 * 4), "3d 4h")
    assert.strictEqual(formatShort(3_600_000 * 2 + 60_000 * 5), "2h 5m")
    assert.strictEqual(formatShort(1e23), "forever")
    assert.strictEqual(formatInstant(Date.UTC(2026, 11, 2, 8, 0, 0), Date.UTC(2026, 11, 2, 7, 0, 0)), "08:00:00")
    assert.strictEqual(
      formatInstant(Date.UTC(2026, 11, 5, 8, 0, 0), Date.UTC(2026, 11, 2, 7, 0, 0)),
      "2026-12-05 08:00:00"
    )
    assert.strictEqual(formatInstant(1e23, 0), "never")
  })

  it("the pool narrator shows a multi-day deadline with its date and never throws on an absurd one", () => {
    const narrate = makePoolNarrator(1)
    const now = Date.UTC(2026, 11, 2, 7, 0, 0)
    const far = narrate({ _tag: "RateLimited", label: "key-1", cooldownMillis: 3 * DAY, until: now + 3 * DAY }, now)
    assert.deepStrictEqual(far, Option.some("key-1 rate limited: cooling for 3d (until 2026-12-05 07:00:00 UTC)"))
    const absurd = narrate({ _tag: "RateLimited", label: "key-1", cooldownMillis: 1e23, until: now + 1e23 }, now)
    assert.deepStrictEqual(absurd, Option.some("key-1 rate limited: cooling for forever (until never UTC)"))
  })
})
