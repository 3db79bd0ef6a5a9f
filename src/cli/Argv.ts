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

const RUN_VALUE_OPTIONS = new Set([
  "--items",
  "--item",
  "--parallel",
  "-p",
  "--max-parallel",
  "--credentials-file",
  "--credentials-env",
  "--credential-var",
  "--per-credential",
  "--backoff",
  "--retries",
  "--timeout",
  "--grace",
  "--state-dir",
  "--name",
  "--log-level",
  "--gateway",
  "--gateway-max-wait"
])
const RUN_FLAGS = new Set(["--dry-run", "--fresh", "--json", "--help", "-h", "--version", "--wizard", "--completions"])

/**
 * Checks the options of `run` before `--`: @effect/cli would take an unknown option (or a stray word)
 * there as the start of the workflow command.
 */
export const checkRunOptions = (args: ReadonlyArray<string>): Effect.Effect<void, UsageError> => {
  if (args[0] !== "run") return Effect.void
  const separator = args.indexOf("--")
  const head = args.slice(1, separator === -1 ? undefined : separator)
  for (let i = 0; i < head.length; i++) {
    const token = head[i]!
    const name = token.startsWith("--") ? token.split("=")[0]! : token
    if (RUN_VALUE_OPTIONS.has(name)) {
      if (!token.includes("=")) i++
    } else if (!RUN_FLAGS.has(name)) {
      return Effect.fail(
        new UsageError({
          detail: token.startsWith("-")
            ? `run: unknown option ${JSON.stringify(token)}; expected one of ${
              [...RUN_VALUE_OPTIONS, ...RUN_FLAGS].filter((o) => o.startsWith("--")).join(", ")
            } before "--" (see agentos-parallel run --help)`
            : `run: unexpected argument ${
              JSON.stringify(token)
            } before "--"; expected options only, then "--" and the workflow command`
        })
      )
    }
  }
  return Effect.void
}
