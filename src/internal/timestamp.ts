/** A file-name-safe UTC timestamp, e.g. `2026-11-29T04-31-35.123Z`. */
export const timestampForPath = (date: Date): string => date.toISOString().replaceAll(":", "-")
