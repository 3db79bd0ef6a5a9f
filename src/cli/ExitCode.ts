import * as ValidationError from "@effect/cli/ValidationError"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import { JournalError } from "../RunJournal.js"
import { UsageError } from "./UsageError.js"

/**
 * The one place failures become exit codes (SPEC "Exit codes"): usage errors, invalid ids and a run
 * held by another runner exit 2; anything else unexpected exits 1.
 */
export const exitCodeOf = {
  failure: (error: unknown): number =>
    error instanceof UsageError || ValidationError.isValidationError(error) || error instanceof JournalError ? 2 : 1,
  /** What to print for a failure; @effect/cli has printed its own validation errors already. */
  message: (error: unknown): Option.Option<string> =>
    ValidationError.isValidationError(error)
      ? Option.none()
      : Option.some(error instanceof Error ? error.message : String(error))
}

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
