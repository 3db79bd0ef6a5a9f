import type * as Chunk from "effect/Chunk"

/** The longest line kept whole, in UTF-16 code units (1 MiB of ASCII). */
export const MAX_LINE_LENGTH = 1 << 20

/** Ends each piece of a line cut for being longer than {@link MAX_LINE_LENGTH}, all but its last. */
export const LINE_CUT_MARKER = " [line cut at 1 MiB, continued on the next line]"

/**
 * Whole lines out of UTF-8 byte chunks, as `Stream.splitLines(Stream.decodeText(...))` finds them
 * (`\n` and `\r\n` end a line, a lone `\r` does not), without a stream of its own: `push` returns
 * the lines a chunk completes, `end` the last line if it had no newline. Unlike `splitLines`, a
 * lone `\r` at the very end is kept in that last line rather than dropped.
 *
 * A line longer than {@link MAX_LINE_LENGTH} is not held whole: it is emitted in pieces of that
 * length, each but the last ending with {@link LINE_CUT_MARKER}, so memory stays flat and time
 * linear however long a line runs.
 */
export const makeLineSplitter = () => {
  const decoder = new TextDecoder()
  // The line so far, in pieces (joined only when it ends or grows too long).
  let pieces: Array<string> = []
  let pending = 0
  const cutLongLine = (out: Array<string>) => {
    const joined = pieces.join("")
    let start = 0
    // One more than the limit may wait: a `\r` whose `\n` has not arrived yet.
    while (joined.length - start > MAX_LINE_LENGTH + 1) {
      let end = start + MAX_LINE_LENGTH
      const code = joined.charCodeAt(end - 1)
      if (code >= 0xd800 && code <= 0xdbff) end-- // never split a surrogate pair
      out.push(joined.slice(start, end) + LINE_CUT_MARKER)
      start = end
    }
    const rest = joined.slice(start)
    pieces = rest === "" ? [] : [rest]
    pending = rest.length
  }
  const take = (text: string, out: Array<string>) => {
    const segments = text.split("\n")
    for (let i = 0; i < segments.length; i++) {
      const segment = segments[i]!
      if (segment !== "") {
        pieces.push(segment)
        pending += segment.length
      }
      if (i < segments.length - 1) {
        const line = pieces.length === 1 ? pieces[0]! : pieces.join("")
        out.push(line.endsWith("\r") ? line.slice(0, -1) : line)
        pieces = []
        pending = 0
      } else if (pending > MAX_LINE_LENGTH + 1) {
        cutLongLine(out)
      }
    }
  }
  return {
    push: (chunk: Chunk.Chunk<Uint8Array>): Array<string> => {
      const out: Array<string> = []
      for (const bytes of chunk) take(decoder.decode(bytes, { stream: true }), out)
      return out
    },
    end: (): Array<string> => {
      const out: Array<string> = []
      take(decoder.decode(), out)
      const last = pieces.join("")
      pieces = []
      pending = 0
      if (last !== "") out.push(last)
      return out
    }
  }
}
