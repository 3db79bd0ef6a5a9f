import * as Duration from "effect/Duration"
import * as Either from "effect/Either"

const DURATION = /^\s*(\d+(?:\.\d+)?|\.\d+)\s*(ms|s|m|h)?\s*$/
const UNIT_MILLIS = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 } as const

/** Parses `500ms`, `30s`, `5m`, `1h` or a bare number of seconds. */
export const parseDurationText = (text: string): Either.Either<Duration.Duration, string> => {
  const match = DURATION.exec(text)
  if (match === null) {
    return Either.left(
      `expected a duration such as 500ms, 30s, 5m or a number of seconds, received ${JSON.stringify(text)}`
    )
  }
  const unit = (match[2] ?? "s") as keyof typeof UNIT_MILLIS
  return Either.right(Duration.millis(Math.round(Number(match[1]) * UNIT_MILLIS[unit])))
}

/** A short human form: `500ms`, `5s`, `1.5s`, `2m 5s`. */
export const formatShort = (duration: Duration.DurationInput): string => {
  const millis = Math.max(0, Math.round(Duration.toMillis(duration)))
  if (millis < 1000) return `${millis}ms`
  if (millis < 60_000) return millis % 1000 === 0 ? `${millis / 1000}s` : `${(millis / 1000).toFixed(1)}s`
  const minutes = Math.floor(millis / 60_000)
  const seconds = Math.round((millis % 60_000) / 1000)
  return seconds === 0 ? `${minutes}m` : `${minutes}m ${seconds}s`
}
