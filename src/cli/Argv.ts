import * as Effect from "effect/Effect"
import { UsageError } from "./UsageError.js"

/**
 * `run` takes its workflow command after `--` only: without it, @effect/cli would read the
 * command's own flags as ours.
 */
export const requireSeparator = (args: ReadonlyArray<string>): Effect.Effect<void, UsageError> => {
  const separator = args.indexOf("--")
  const head = separator === -1 ? args : args.slice(0, separator)
  const wantsHelp = head.some((a) => a === "--help" || a === "-h" || a === "--wizard")
  if (head[0] !== "run" || separator !== -1 || wantsHelp) return Effect.void
  return Effect.fail(
    new UsageError({
      detail:
        `run: expected "--" before the workflow command (agentos-parallel run [options] -- <command> [args...]), received ${
          JSON.stringify(args.slice(1).join(" "))
        }`
    })
  )
}

/**
 * How many `--item ""` (or `--item=`) the command line holds before `--`. @effect/cli drops empty
 * values, but an empty id must still be reported as invalid rather than silently ignored.
 */
export const countEmptyItems = (args: ReadonlyArray<string>): number => {
  const separator = args.indexOf("--")
  const head = separator === -1 ? args : args.slice(0, separator)
  let count = 0
  for (let i = 0; i < head.length; i++) {
    if (head[i] === "--item=" || (head[i] === "--item" && head[i + 1] === "")) count++
  }
  return count
}
