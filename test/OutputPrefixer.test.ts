import { assert, describe, it } from "@effect/vitest"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as fc from "effect/FastCheck"
import * as Fiber from "effect/Fiber"
import * as Queue from "effect/Queue"
import * as Stream from "effect/Stream"
import { OutputPrefixer } from "../src/OutputPrefixer.js"

const collect = <A, E>(stream: Stream.Stream<A, E>) => Effect.map(Stream.runCollect(stream), Chunk.toReadonlyArray)

const prefixed = (id: string, chunks: ReadonlyArray<string>) =>
  collect(Stream.fromIterable(chunks).pipe(OutputPrefixer.prefixLines(id)))

/** Splits a text at the given cut points (sorted, deduplicated) into chunks. */
const cutAt = (text: string, cuts: ReadonlyArray<number>): Array<string> => {
  const points = [...new Set(cuts.map((c) => Math.min(c, text.length)))].sort((a, b) => a - b)
  const chunks: Array<string> = []
  let from = 0
  for (const p of points) {
    chunks.push(text.slice(from, p))
    from = p
  }
  chunks.push(text.slice(from))
  return chunks
}

/** The lines a text is made of, by an independent reading: `\n` or `\r\n` ends a line. */
const expectedLines = (text: string): Array<string> => {
  if (text === "") return []
  const lines = text.split("\n").map((l) => l.endsWith("\r") ? l.slice(0, -1) : l)
  if (text.endsWith("\n")) lines.pop()
  return lines
}

describe("OutputPrefixer", () => {
  it("prefixes with [<id>] ", () => {
    assert.strictEqual(OutputPrefixer.prefix("issue-1"), "[issue-1] ")
  })

  it.effect("emits whole lines only, joining a line split across chunks", () =>
    Effect.gen(function*() {
      const lines = yield* prefixed("a", ["hel", "lo wo", "rld\nsecond ", "line\n", "th", "ird\n"])
      assert.deepStrictEqual(lines, ["[a] hello world", "[a] second line", "[a] third"])
    }))

  it.effect("handles \\r\\n, also when split between chunks", () =>
    Effect.gen(function*() {
      assert.deepStrictEqual(yield* prefixed("w", ["one\r\ntwo\r", "\nthree\r\n"]), ["[w] one", "[w] two", "[w] three"])
    }))

  it.effect("keeps blank lines, prefixed", () =>
    Effect.gen(function*() {
      assert.deepStrictEqual(yield* prefixed("b", ["a\n\n", "\nb\n", "\r\n"]), [
        "[b] a",
        "[b] ",
        "[b] ",
        "[b] b",
        "[b] "
      ])
      assert.deepStrictEqual(yield* prefixed("b", ["\n"]), ["[b] "])
    }))

  it.effect("flushes a trailing partial line at the end, and nothing for an empty stream", () =>
    Effect.gen(function*() {
      assert.deepStrictEqual(yield* prefixed("t", ["done\nno newline", " at the end"]), [
        "[t] done",
        "[t] no newline at the end"
      ])
      assert.deepStrictEqual(yield* prefixed("t", []), [])
      assert.deepStrictEqual(yield* prefixed("t", ["", ""]), [])
    }))

  it.effect("never emits a partial line before its end arrives", () =>
    Effect.gen(function*() {
      const input = yield* Queue.unbounded<string>()
      const output = yield* Queue.unbounded<string>()
      const fiber = yield* Stream.fromQueue(input).pipe(
        OutputPrefixer.prefixLines("p"),
        Stream.runForEach((line) => Queue.offer(output, line)),
        Effect.fork
      )
      yield* Queue.offer(input, "partial")
      yield* Effect.repeatN(Effect.yieldNow(), 20)
      assert.deepStrictEqual(Chunk.toReadonlyArray(yield* Queue.takeAll(output)), [])
      yield* Queue.offer(input, " line\nnext")
      yield* Effect.repeatN(Effect.yieldNow(), 20)
      assert.deepStrictEqual(Chunk.toReadonlyArray(yield* Queue.takeAll(output)), ["[p] partial line"])
      yield* Queue.shutdown(input)
      yield* Fiber.interrupt(fiber)
    }))

  it.effect("lines keeps the text of each line without its ending and without a prefix", () =>
    Effect.gen(function*() {
      const lines = yield* collect(OutputPrefixer.lines(Stream.make("x\r\ny", "\n", "z")))
      assert.deepStrictEqual(lines, ["x", "y", "z"])
    }))

  it.effect("linesFromBytes decodes a multi-byte UTF-8 character split across chunks", () =>
    Effect.gen(function*() {
      const bytes = new TextEncoder().encode("héllo €\n😀 done\r\nlast")
      // cut inside é (2 bytes), € (3 bytes) and 😀 (4 bytes)
      const chunks = [
        bytes.slice(0, 2),
        bytes.slice(2, 8),
        bytes.slice(8, 9),
        bytes.slice(9, 12),
        bytes.slice(12, 14),
        bytes.slice(14)
      ]
      const lines = yield* collect(OutputPrefixer.linesFromBytes(Stream.fromIterable(chunks)))
      assert.deepStrictEqual(lines, ["héllo €", "😀 done", "last"])
    }))

  it.effect("linesFromBytes works byte by byte", () =>
    Effect.gen(function*() {
      const text = "日本語\nçà\n🎉"
      const bytes = new TextEncoder().encode(text)
      const chunks = Array.from(bytes, (b) => Uint8Array.of(b))
      assert.deepStrictEqual(yield* collect(OutputPrefixer.linesFromBytes(Stream.fromIterable(chunks))), [
        "日本語",
        "çà",
        "🎉"
      ])
    }))

  it.effect.prop(
    "however the text is cut into chunks, the lines are the same",
    [
      fc.array(fc.oneof(fc.constantFrom("\n", "\r\n", "", " ", "é", "😀", "\t"), fc.string({ maxLength: 6 })), {
        maxLength: 20
      }).map((parts) => parts.join("").replace(/\r(?!\n)/g, "")),
      fc.array(fc.nat({ max: 200 }), { maxLength: 10 })
    ],
    ([text, cuts]) =>
      Effect.gen(function*() {
        const lines = yield* prefixed("id", cutAt(text, cuts))
        assert.deepStrictEqual(lines, expectedLines(text).map((l) => `[id] ${l}`))
      })
  )

  it.effect.prop(
    "however UTF-8 bytes are cut into chunks, the lines decode the same",
    [
      fc.string({ unit: "binary", maxLength: 40 }).map((s) => s.replace(/\r/g, "")),
      fc.array(fc.nat({ max: 200 }), {
        maxLength: 10
      })
    ],
    ([text, cuts]) =>
      Effect.gen(function*() {
        const bytes = new TextEncoder().encode(text)
        const points = [...new Set(cuts.map((c) => Math.min(c, bytes.length)))].sort((a, b) => a - b)
        const chunks: Array<Uint8Array> = []
        let from = 0
        for (const p of points) {
          chunks.push(bytes.slice(from, p))
          from = p
        }
        chunks.push(bytes.slice(from))
        const lines = yield* collect(OutputPrefixer.linesFromBytes(Stream.fromIterable(chunks)))
        assert.deepStrictEqual(lines, expectedLines(text))
      })
  )
})
