/**
 * Path-safe workflow identifiers: every item id is checked here before it names a file, a log or a
 * checkpoint, so that no id can escape the state directory or hit a Windows device name.
 *
 * @since 0.1.0
 */
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"

const ALLOWED = /^[A-Za-z0-9_-]{1,128}$/
const RESERVED = /^(CON|PRN|AUX|NUL|COM[1-9]|LPT[1-9])$/i
const MAX_LENGTH = 128
const SHOWN_LENGTH = 64

/**
 * Why an identifier was refused.
 *
 * @since 0.1.0
 * @category models
 */
export const InvalidIdentifierReason = Schema.Literal(
  "Empty",
  "TooLong",
  "PathTraversal",
  "AbsolutePath",
  "DriveLetter",
  "ReservedName",
  "IllegalCharacters"
)

/**
 * @since 0.1.0
 * @category models
 */
export type InvalidIdentifierReason = typeof InvalidIdentifierReason.Type

const explanations: Record<InvalidIdentifierReason, string> = {
  Empty: "it is empty",
  TooLong: `it is longer than ${MAX_LENGTH} characters`,
  PathTraversal: "it contains \"..\" (path traversal)",
  AbsolutePath: "it starts with a path separator (absolute path)",
  DriveLetter: "it starts with a drive letter",
  ReservedName: "it is a reserved Windows device name (CON, PRN, AUX, NUL, COM1-9, LPT1-9)",
  IllegalCharacters: "it contains characters other than A-Z, a-z, 0-9, \"_\" and \"-\""
}

/**
 * A refused identifier. `input` is the offending input shown safely: control and format characters
 * (and lone surrogates) escaped as `\u{..}`, cut to 64 characters with the full length noted.
 *
 * @since 0.1.0
 * @category errors
 */
export class InvalidIdentifier extends Schema.TaggedError<InvalidIdentifier>()("InvalidIdentifier", {
  reason: InvalidIdentifierReason,
  input: Schema.String
}) {
  override get message(): string {
    return `invalid id ${this.input}: ${
      explanations[this.reason]
    }; expected 1-${MAX_LENGTH} characters of A-Z, a-z, 0-9, "_" or "-"`
  }
}

/**
 * A sanitized identifier: 1–128 characters of `[A-Za-z0-9_-]`, not a Windows device name.
 *
 * @since 0.1.0
 * @category schemas
 */
export const WorkflowId = Schema.String.pipe(
  Schema.pattern(ALLOWED, {
    message: () => `expected 1-${MAX_LENGTH} characters of A-Z, a-z, 0-9, "_" or "-"`
  }),
  Schema.filter((s) => !RESERVED.test(s), { message: () => "expected a name that is not a Windows device name" }),
  Schema.brand("WorkflowId")
)

/**
 * @since 0.1.0
 * @category models
 */
export type WorkflowId = typeof WorkflowId.Type

/**
 * Renders untrusted input for a message: quoted, control/format characters escaped, and cut.
 *
 * @since 0.1.0
 * @category utils
 */
export const showSafely = (input: string): string => {
  // Counted, not copied into an array: an id read from a file may be very long.
  let head = ""
  let count = 0
  for (const c of input) {
    if (count < SHOWN_LENGTH) head += c
    count++
  }
  const shown = head.replace(
    /[\p{Cc}\p{Cf}\p{Zl}\p{Zp}\p{Cs}"\\]/gu,
    (c) => c === "\"" || c === "\\" ? `\\${c}` : `\\u{${c.codePointAt(0)!.toString(16)}}`
  )
  const cut = count > SHOWN_LENGTH ? `… (${count} characters)` : ""
  return `"${shown}"${cut}`
}

const reasonFor = (input: string): InvalidIdentifierReason | undefined => {
  if (input.length === 0) return "Empty"
  if (input.includes("..")) return "PathTraversal"
  if (input.startsWith("/") || input.startsWith("\\")) return "AbsolutePath"
  if (/^[A-Za-z]:/.test(input)) return "DriveLetter"
  if (input.length > MAX_LENGTH) return "TooLong"
  if (!ALLOWED.test(input)) return "IllegalCharacters"
  if (RESERVED.test(input)) return "ReservedName"
  return undefined
}

/**
 * Checks an untrusted identifier; succeeds with it as a {@link WorkflowId}, or fails with the first
 * reason it is unsafe. Never throws, whatever the input.
 *
 * @since 0.1.0
 * @category constructors
 */
export const sanitizeIdentifier = (input: string): Effect.Effect<WorkflowId, InvalidIdentifier> =>
  Effect.suspend(() => {
    if (typeof input !== "string") {
      return Effect.fail(new InvalidIdentifier({ reason: "IllegalCharacters", input: `<${typeof input}>` }))
    }
    const reason = reasonFor(input)
    return reason === undefined
      ? Effect.succeed(input as WorkflowId)
      : Effect.fail(new InvalidIdentifier({ reason, input: showSafely(input) }))
  })

/**
 * `true` when the input is a valid path component under the same rule as {@link sanitizeIdentifier}.
 *
 * @since 0.1.0
 * @category predicates
 */
export const validatePathComponent = (input: string): boolean =>
  // The allowed alphabet has no separators, dots or colons: the other reasons cannot apply.
  typeof input === "string" && ALLOWED.test(input) && !RESERVED.test(input)
