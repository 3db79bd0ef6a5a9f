import { assert, describe, it } from "@effect/vitest"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as fc from "effect/FastCheck"
import * as Stream from "effect/Stream"
import { makeLineSplitter } from "../src/internal/lineSplitter.js"
import { OutputPrefixer } from "../src/OutputPrefixer.js"

/** Cuts bytes at the given points (multi-byte characters may be split). */
const cutBytes = (bytes: Uint8Array, cuts: ReadonlyArray<number>): Array<Uint8Array> => {
  const points = [...new Set(cuts.map((c) => Math.min(c, bytes.length)))].sort((a, b) => a - b)
  const chunks: Array<Uint8Array> = []
  let from = 0
  for (const p of points) {
    chunks.push(bytes.slice(from, p))
    from = p
  }
  chunks.push(bytes.slice(from))
  return chunks
}

const splitAll = (chunks: ReadonlyArray<Uint8Array>): Array<string> => {
  const splitter = makeLineSplitter()
  return [...chunks.flatMap((c) => splitter.push(Chunk.of(c))), ...splitter.end()]
}

describe("makeLineSplitter", () => {
  it("holds a partial line until its end, keeps blank lines, flushes the last line", () => {
    const splitter = makeLineSplitter()
    const encode = (s: string) => Chunk.of(new TextEncoder().encode(s))
    assert.deepStrictEqual(splitter.push(encode("a\r\nb")), ["a"])
    assert.deepStrictEqual(splitter.push(encode("c\n\nd")), ["bc", ""])
    assert.deepStrictEqual(splitter.end(), ["d"])
  })

  it("keeps a lone \\r at the very end (Stream.splitLines drops it)", () => {
    assert.deepStrictEqual(splitAll([new TextEncoder().encode("a\nb\r")]), ["a", "b\r"])
  })

  // The relay of a child's output splits lines itself, without a stream stage: it must find
  // exactly the lines OutputPrefixer does, however the bytes are cut (but for the case above).
  it.effect.prop(
    "finds the lines OutputPrefixer.linesFromBytes finds",
    [
      fc.array(fc.oneof(fc.constantFrom("\n", "\r\n", "\r", "", " ", "é", "😀"), fc.string({ maxLength: 6 })), {
        maxLength: 30
      }).map((parts) => parts.join("")).filter((text) => !text.endsWith("\r")),
      fc.array(fc.nat({ max: 200 }), { maxLength: 10 })
    ],
    ([text, cuts]) =>
      Effect.gen(function*() {
        const chunks = cutBytes(new TextEncoder().encode(text), cuts)
        const viaStream = yield* Stream.runCollect(OutputPrefixer.linesFromBytes(Stream.fromIterable(chunks)))
        assert.deepStrictEqual(splitAll(chunks), Chunk.toReadonlyArray(viaStream))
      })
  )
})
