import * as FileSystem from "@effect/platform/FileSystem"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import { type InvalidIdentifier, sanitizeIdentifier, type WorkflowId } from "../Identifier.js"
import { OutputPrefixer } from "../OutputPrefixer.js"
import { UsageError } from "./UsageError.js"

/** An id as read, with where it came from, for messages. */
export interface SourcedId {
  readonly raw: string
  readonly origin: string
}

/** The outcome of reading and checking every id. */
export interface CheckedItems {
  readonly ids: ReadonlyArray<WorkflowId>
  readonly invalid: ReadonlyArray<{ readonly origin: string; readonly error: InvalidIdentifier }>
  readonly duplicates: ReadonlyArray<SourcedId>
}

const stdinStream: Stream.Stream<Uint8Array, UsageError> = Stream.fromAsyncIterable(
  process.stdin as AsyncIterable<Uint8Array>,
  (error) => new UsageError({ detail: `could not read items from stdin: ${String(error)}` })
)

/** Lines of an items source, streamed; blank lines and `#` comments dropped. */
const idLines = (source: string): Stream.Stream<SourcedId, UsageError, FileSystem.FileSystem> => {
  const label = source === "-" ? "stdin" : source
  const bytes = source === "-"
    ? stdinStream
    : Stream.unwrap(Effect.map(FileSystem.FileSystem, (fs) =>
      fs.stream(source).pipe(
        Stream.mapError((error) =>
          new UsageError({
            detail: `--items: expected a readable file with one id per line, received ${
              JSON.stringify(source)
            } (${error.message})`
          })
        )
      )))
  return OutputPrefixer.linesFromBytes(bytes).pipe(
    Stream.zipWithIndex,
    Stream.filterMap(([line, index]) => {
      const id = line.trim()
      return id === "" || id.startsWith("#") ? Option.none() : Option.some({ raw: id, origin: `${label}:${index + 1}` })
    })
  )
}

/** Reads `--items` (if any) and `--item`s, in that order, and checks every id. */
export const readItems = (
  itemsFile: Option.Option<string>,
  items: ReadonlyArray<string>
): Effect.Effect<CheckedItems, UsageError, FileSystem.FileSystem> =>
  Effect.gen(function*() {
    const fromFile = Option.isSome(itemsFile)
      ? Chunk.toReadonlyArray(yield* Stream.runCollect(idLines(itemsFile.value)))
      : []
    const sourced = [...fromFile, ...items.map((raw, index) => ({ raw, origin: `--item #${index + 1}` }))]
    const ids: Array<WorkflowId> = []
    const invalid: Array<{ origin: string; error: InvalidIdentifier }> = []
    const duplicates: Array<SourcedId> = []
    const seen = new Set<string>()
    for (const entry of sourced) {
      const checked = yield* Effect.either(sanitizeIdentifier(entry.raw))
      if (checked._tag === "Left") invalid.push({ origin: entry.origin, error: checked.left })
      else if (seen.has(checked.right)) duplicates.push(entry)
      else {
        seen.add(checked.right)
        ids.push(checked.right)
      }
    }
    return { ids, invalid, duplicates }
  })
