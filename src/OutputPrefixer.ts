/**
 * Whole, prefixed lines out of a child's raw output.
 *
 * @since 0.1.0
 */
import type * as Stream from "effect/Stream"
import * as S from "effect/Stream"

/**
 * Turns a stream of text (or byte) chunks into whole lines prefixed with `[<id>] `. A line is only
 * emitted once its end (`\n` or `\r\n`) has arrived, so a line is never split; a trailing line
 * without a newline is emitted when the stream ends; blank lines are kept (as `[<id>] `).
 * Multi-byte characters split across byte chunks are decoded correctly.
 *
 * @since 0.1.0
 * @category combinators
 */
export const OutputPrefixer = {
  /**
   * The prefix of an item's lines: `[<id>] `.
   *
   * @since 0.1.0
   */
  prefix: (id: string): string => `[${id}] `,

  /**
   * Whole lines (without their line ending) from text chunks.
   *
   * @since 0.1.0
   */
  lines: <E, R>(chunks: Stream.Stream<string, E, R>): Stream.Stream<string, E, R> => S.splitLines(chunks),

  /**
   * Whole lines (without their line ending) from UTF-8 byte chunks.
   *
   * @since 0.1.0
   */
  linesFromBytes: <E, R>(chunks: Stream.Stream<Uint8Array, E, R>): Stream.Stream<string, E, R> =>
    S.splitLines(S.decodeText(chunks)),

  /**
   * Whole lines prefixed with `[<id>] ` from text chunks.
   *
   * @since 0.1.0
   */
  prefixLines: (id: string) => <E, R>(chunks: Stream.Stream<string, E, R>): Stream.Stream<string, E, R> => {
    const prefix = `[${id}] `
    return S.map(S.splitLines(chunks), (line) => prefix + line)
  }
} as const
