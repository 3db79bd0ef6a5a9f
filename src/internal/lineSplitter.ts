import type * as Chunk from "effect/Chunk"

/**
 * Whole lines out of UTF-8 byte chunks, as `Stream.splitLines(Stream.decodeText(...))` finds them
 * (`\n` and `\r\n` end a line, a lone `\r` does not), without a stream of its own: `push` returns
 * the lines a chunk completes, `end` the last line if it had no newline. Unlike `splitLines`, a
 * lone `\r` at the very end is kept in that last line rather than dropped.
 */
export const makeLineSplitter = () => {
  const decoder = new TextDecoder()
  let rest = ""
  return {
    push: (chunk: Chunk.Chunk<Uint8Array>): Array<string> => {
      let text = rest
      for (const bytes of chunk) text += decoder.decode(bytes, { stream: true })
      const lines = text.split(/\r?\n/)
      rest = lines.pop()!
      return lines
    },
    end: (): Array<string> => {
      const last = rest + decoder.decode()
      rest = ""
      return last === "" ? [] : [last]
    }
  }
}
