import * as ValidationError from "@effect/cli/ValidationError"
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

/** The exit code of a run stopped by a signal (SPEC "Exit codes"): 129 SIGHUP, 143 SIGTERM, 130 otherwise. */
export const signalExitCode = (signal: string | undefined): number =>
  signal === "SIGHUP" ? 129 : signal === "SIGTERM" ? 143 : 130
