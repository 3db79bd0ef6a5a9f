import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import { createReadStream } from "node:fs"
import { type InvalidIdentifier, sanitizeIdentifier, type WorkflowId } from "../Identifier.js"
import { UsageError } from "./UsageError.js"

/** An id as read, with where it came from, for messages. */
export interface SourcedId {
  readonly raw: string
  readonly origin: string
}

/** Invalid ids listed one by one; past them only their number is given. */
export const MAX_LISTED_INVALID = 20

/**
 * The longest line of an items source (ids are at most 128 characters; room is left for
 * surrounding blanks and comments). A longer line ends the reading with a usage error, and is never
 * held whole: `--items /dev/zero` fails at once, in constant memory.
 */
export const MAX_ITEM_LINE = 4096

/** The outcome of reading and checking every id. */
export interface CheckedItems {
  readonly ids: ReadonlyArray<WorkflowId>
  /** The first {@link MAX_LISTED_INVALID} invalid ids. */
  readonly invalid: ReadonlyArray<{ readonly origin: string; readonly error: InvalidIdentifier }>
  /** Every invalid id, listed or not. */
  readonly invalidCount: number
  readonly duplicates: ReadonlyArray<SourcedId>
}

/**
 * The bytes of an items source, streamed with plain reads (no seeking), so that pipes, FIFOs and
 * `<(...)` work as well as files.
 */
const sourceBytes = (source: string): Stream.Stream<Uint8Array, UsageError> =>
  Stream.suspend(() =>
    Stream.fromAsyncIterable(
      (source === "-" ? process.stdin : createReadStream(source)) as AsyncIterable<Uint8Array>,
      (error) =>
        new UsageError({
          detail: source === "-"
            ? `could not read items from stdin: ${String(error)}`
            : `--items: expected a readable file with one id per line, received ${JSON.stringify(source)} (${
              error instanceof Error ? error.message : String(error)
            })`
        })
    )
  )

/** Lines of an items source, streamed and bounded; blank lines and `#` comments dropped. */
const idLines = (source: string): Stream.Stream<SourcedId, UsageError> => {
  const label = source === "-" ? "stdin" : source
  const decoder = new TextDecoder()
  let current = ""
  let lineNumber = 0
  const take = (text: string, out: Array<SourcedId>): Effect.Effect<Array<SourcedId>, UsageError> => {
    const segments = text.split("\n")
    for (let i = 0; i < segments.length; i++) {
      current += segments[i]!
      if (current.length > MAX_ITEM_LINE) {
        return Effect.fail(
          new UsageError({
            detail: `${label}:${lineNumber + 1}: expected one id per line (at most 128 characters), received a line ` +
              `longer than ${MAX_ITEM_LINE} characters; nothing ran`
          })
        )
      }
      if (i === segments.length - 1) break
      lineNumber++
      const id = current.trim()
      current = ""
      if (id !== "" && !id.startsWith("#")) out.push({ raw: id, origin: `${label}:${lineNumber}` })
    }
    return Effect.succeed(out)
  }
  return Stream.concat(
    Stream.mapConcatEffect(sourceBytes(source), (bytes) => take(decoder.decode(bytes, { stream: true }), [])),
    Stream.fromIterableEffect(Effect.suspend(() => take(decoder.decode() + "\n", [])))
  )
}

/** Reads `--items` (if any) and `--item`s, in that order, and checks every id as it is read. */
export const readItems = (
  itemsFile: Option.Option<string>,
  items: ReadonlyArray<string>
): Effect.Effect<CheckedItems, UsageError> =>
  Effect.gen(function*() {
    const ids: Array<WorkflowId> = []
    const invalid: Array<{ origin: string; error: InvalidIdentifier }> = []
    let invalidCount = 0
    const duplicates: Array<SourcedId> = []
    const seen = new Set<string>()
    const check = (entry: SourcedId) =>
      Effect.map(Effect.either(sanitizeIdentifier(entry.raw)), (checked) => {
        if (checked._tag === "Left") {
          if (invalidCount++ < MAX_LISTED_INVALID) invalid.push({ origin: entry.origin, error: checked.left })
        } else if (seen.has(checked.right)) duplicates.push(entry)
        else {
          seen.add(checked.right)
          ids.push(checked.right)
        }
      })
    if (Option.isSome(itemsFile)) yield* Stream.runForEach(idLines(itemsFile.value), check)
    yield* Effect.forEach(items, (raw, index) => check({ raw, origin: `--item #${index + 1}` }), { discard: true })
    return { ids, invalid, invalidCount, duplicates }
  })
