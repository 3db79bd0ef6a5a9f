import * as Duration from "effect/Duration"
import * as Either from "effect/Either"
import { MAX_TIMER_MILLIS } from "./timers.js"

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
  const millis = Math.round(Number(match[1]) * UNIT_MILLIS[unit])
  // Node's timers hold no longer: a longer wait would never end.
  if (millis > MAX_TIMER_MILLIS) {
    return Either.left(
      `expected a duration of at most ${MAX_DURATION_TEXT} (the longest a timer can wait), received ${
        JSON.stringify(text)
      }`
    )
  }
  return Either.right(Duration.millis(millis))
}

/** The longest duration an option accepts, as text. */
const MAX_DURATION_TEXT = `${Math.floor(MAX_TIMER_MILLIS / 3_600_000)}h`

/** A short human form: `500ms`, `5s`, `1.5s`, `2m 5s`, `3h 20m`, `2d 4h`; `forever` past any date. */
export const formatShort = (duration: Duration.DurationInput): string => {
  const millis = Math.max(0, Math.round(Duration.toMillis(duration)))
  if (!Number.isFinite(millis) || millis > MAX_DATE_MILLIS) return "forever"
  if (millis < 1000) return `${millis}ms`
  if (millis < 60_000) return millis % 1000 === 0 ? `${millis / 1000}s` : `${(millis / 1000).toFixed(1)}s`
  if (millis < 3_600_000) return pair(Math.floor(millis / 60_000), "m", Math.round((millis % 60_000) / 1000), "s")
  if (millis < 86_400_000) {
    return pair(Math.floor(millis / 3_600_000), "h", Math.round((millis % 3_600_000) / 60_000), "m")
  }
  return pair(Math.floor(millis / 86_400_000), "d", Math.round((millis % 86_400_000) / 3_600_000), "h")
}

/** The largest span a `Date` can hold. */
const MAX_DATE_MILLIS = 8.64e15

const pair = (big: number, bigUnit: string, small: number, smallUnit: string) =>
  small === 0 ? `${big}${bigUnit}` : `${big}${bigUnit} ${small}${smallUnit}`

/**
 * A wall-clock instant in UTC for messages: `HH:MM:SS` when it is less than a day from `now`, else
 * with its date (`2026-12-24 08:00:00`); `never` when no date can hold it.
 */
export const formatInstant = (epochMillis: number, now: number): string => {
  if (!Number.isFinite(epochMillis) || Math.abs(epochMillis) > MAX_DATE_MILLIS) return "never"
  const iso = new Date(epochMillis).toISOString()
  return Math.abs(epochMillis - now) < 86_400_000 ? iso.slice(11, 19) : `${iso.slice(0, 10)} ${iso.slice(11, 19)}`
}
