import { assert, describe, it } from "@effect/vitest"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as fc from "effect/FastCheck"
import * as Stream from "effect/Stream"
import { LINE_CUT_MARKER, makeLineSplitter, MAX_LINE_LENGTH } from "../src/internal/lineSplitter.js"
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

describe("makeLineSplitter: over-long lines", () => {
  it("cuts a 10 MB line arriving in 64 KiB chunks into 1 MiB pieces with the marker, in linear time", () => {
    const splitter = makeLineSplitter()
    const total = 10 * 1024 * 1024
    const chunk = new Uint8Array(64 * 1024).fill(0x61)
    const started = performance.now()
    const out: Array<string> = []
    for (let sent = 0; sent < total; sent += chunk.length) out.push(...splitter.push(Chunk.of(chunk)))
    out.push(...splitter.push(Chunk.of(new TextEncoder().encode("\nnext\n"))))
    out.push(...splitter.end())
    const elapsed = performance.now() - started
    const pieces = out.slice(0, -1)
    assert.strictEqual(pieces.length, 10)
    for (const piece of pieces.slice(0, -1)) {
      assert.strictEqual(piece.length, MAX_LINE_LENGTH + LINE_CUT_MARKER.length)
      assert.isTrue(piece.endsWith(LINE_CUT_MARKER))
    }
    assert.strictEqual(pieces.at(-1), "a".repeat(MAX_LINE_LENGTH))
    assert.strictEqual(pieces.map((p) => p.replace(LINE_CUT_MARKER, "")).join("").length, total)
    assert.strictEqual(out.at(-1), "next")
    // Quadratic copying of a 10 MB line took seconds; linear work is well under one.
    assert.isBelow(elapsed, 2_000)
  })

  it("keeps a line of exactly the limit whole, with its \\r\\n split across chunks", () => {
    const splitter = makeLineSplitter()
    const encode = (s: string) => Chunk.of(new TextEncoder().encode(s))
    const line = "b".repeat(MAX_LINE_LENGTH)
    assert.deepStrictEqual(splitter.push(encode(line + "\r")), [])
    assert.deepStrictEqual(splitter.push(encode("\n")), [line])
  })
})
