import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Exit from "effect/Exit"
import * as fc from "effect/FastCheck"
import * as Schema from "effect/Schema"
import * as path from "node:path"
import {
  InvalidIdentifier,
  type InvalidIdentifierReason,
  sanitizeIdentifier,
  showSafely,
  validatePathComponent,
  WorkflowId
} from "../src/Identifier.js"

// An oracle written independently of the implementation: no regular expressions.
const DEVICES = new Set([
  "CON",
  "PRN",
  "AUX",
  "NUL",
  ...Array.from({ length: 9 }, (_, i) => `COM${i + 1}`),
  ...Array.from({ length: 9 }, (_, i) => `LPT${i + 1}`)
])
const isAllowedCode = (c: number) =>
  (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 95 || c === 45
const oracleAccepts = (s: string): boolean => {
  if (s.length < 1 || s.length > 128) return false
  for (let i = 0; i < s.length; i++) if (!isAllowedCode(s.charCodeAt(i))) return false
  return !DEVICES.has(s.toUpperCase())
}

/** Whether a reason is a true statement about the input (the first matching reason may vary). */
const reasonHolds = (reason: InvalidIdentifierReason, s: string): boolean => {
  switch (reason) {
    case "Empty":
      return s.length === 0
    case "TooLong":
      return s.length > 128
    case "PathTraversal":
      return s.includes("..")
    case "AbsolutePath":
      return s.startsWith("/") || s.startsWith("\\")
    case "DriveLetter": {
      const c = s.charCodeAt(0)
      return s.charAt(1) === ":" && ((c >= 65 && c <= 90) || (c >= 97 && c <= 122))
    }
    case "ReservedName":
      return DEVICES.has(s.toUpperCase())
    case "IllegalCharacters":
      return Array.from(s).some((ch) => ch.length !== 1 || !isAllowedCode(ch.charCodeAt(0)))
  }
}

const UNSAFE_IN_MESSAGE = /[\p{Cc}\p{Cf}\p{Zl}\p{Zp}\p{Cs}]/u

const refusal = (input: string): InvalidIdentifier => {
  const exit = Effect.runSyncExit(sanitizeIdentifier(input))
  if (Exit.isSuccess(exit)) throw new Error(`expected ${JSON.stringify(input)} to be refused`)
  const failure = exit.cause._tag === "Fail" ? exit.cause.error : undefined
  if (!(failure instanceof InvalidIdentifier)) {
    throw new Error(`expected an InvalidIdentifier, got ${String(exit.cause)}`)
  }
  return failure
}

const tricky = fc.constantFrom(
  "..",
  ".",
  "/",
  "\\",
  ":",
  "C:",
  "%2e",
  "%2e%2e",
  "%2f",
  "\uFF0E",
  "\uFF0E\uFF0E",
  "\u2024",
  "\u0000",
  "\n",
  "\r",
  "\t",
  "\u001b[31m",
  "\u202e",
  "\u200b",
  "\u2028",
  " ",
  "é",
  "😀",
  "\uD800",
  "\uDFFF",
  "con",
  "CON",
  "Lpt9",
  "com0",
  "COM10",
  "nul",
  "aux",
  "prn",
  "_",
  "-"
)
const validChars = fc.stringMatching(/^[A-Za-z0-9_-]{1,20}$/)
const composed = fc.array(fc.oneof(tricky, validChars), { minLength: 0, maxLength: 8 }).map((parts) => parts.join(""))
const long = fc.tuple(fc.integer({ min: 100, max: 300 }), fc.constantFrom("a", "Z9", "_-", "é", ".", "\u0000"))
  .map(([n, unit]) => unit.repeat(n).slice(0, n))
const anyString = fc.oneof(
  { arbitrary: fc.string({ unit: "binary", maxLength: 40 }), weight: 2 },
  { arbitrary: fc.string({ unit: "binary-ascii", maxLength: 40 }), weight: 2 },
  { arbitrary: fc.string16bits({ maxLength: 20 }), weight: 1 },
  { arbitrary: fc.stringMatching(/^[A-Za-z0-9_-]{1,128}$/), weight: 3 },
  { arbitrary: fc.stringMatching(/^[A-Za-z0-9_-]{120,140}$/), weight: 1 },
  { arbitrary: fc.constantFrom(...DEVICES).map((d) => d.toLowerCase()), weight: 1 },
  { arbitrary: composed, weight: 4 },
  { arbitrary: long, weight: 1 }
)

describe("sanitizeIdentifier", () => {
  it.effect("accepts ids of letters, digits, '_' and '-' up to 128 characters", () =>
    Effect.gen(function*() {
      for (
        const id of ["a", "issue-42", "ISSUE_42", "0", "-", "_", "a".repeat(128), "CONSOLE", "COM0", "LPT10", "nul1"]
      ) {
        assert.strictEqual(yield* sanitizeIdentifier(id), id)
        assert.isTrue(validatePathComponent(id), id)
      }
    }))

  const cases: ReadonlyArray<readonly [string, InvalidIdentifierReason]> = [
    ["", "Empty"],
    ["a".repeat(129), "TooLong"],
    ["x".repeat(10_000), "TooLong"],
    ["..", "PathTraversal"],
    ["../etc/passwd", "PathTraversal"],
    ["a..b", "PathTraversal"],
    ["...", "PathTraversal"],
    ["/etc/passwd", "AbsolutePath"],
    ["\\\\server\\share", "AbsolutePath"],
    ["C:", "DriveLetter"],
    ["c:\\windows", "DriveLetter"],
    ["Z:foo", "DriveLetter"],
    ["con", "ReservedName"],
    ["CON", "ReservedName"],
    ["Lpt9", "ReservedName"],
    ["lpt1", "ReservedName"],
    ["CoM5", "ReservedName"],
    ["PRN", "ReservedName"],
    ["aux", "ReservedName"],
    ["Nul", "ReservedName"],
    ["a b", "IllegalCharacters"],
    ["a/b", "IllegalCharacters"],
    ["a\\b", "IllegalCharacters"],
    [".", "IllegalCharacters"],
    ["a.b", "IllegalCharacters"],
    ["con.txt", "IllegalCharacters"],
    ["%2e%2e", "IllegalCharacters"],
    ["%2e%2e%2fetc", "IllegalCharacters"],
    ["\uFF0E\uFF0E", "IllegalCharacters"],
    ["a\u0000b", "IllegalCharacters"],
    ["line\nbreak", "IllegalCharacters"],
    ["café", "IllegalCharacters"],
    ["ｃｏｎ", "IllegalCharacters"],
    ["id\u202e", "IllegalCharacters"],
    ["1:2", "IllegalCharacters"]
  ]

  it.effect.each(cases)("refuses %j with reason %s", ([input, reason]) =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(sanitizeIdentifier(input))
      assert.instanceOf(error, InvalidIdentifier)
      assert.strictEqual(error._tag, "InvalidIdentifier")
      assert.strictEqual(error.reason, reason)
      assert.isFalse(validatePathComponent(input))
      assert.isFalse(Schema.is(WorkflowId)(input))
    }))

  it("covers every reason of the schema", () => {
    const reached = new Set(cases.map(([, reason]) => reason))
    assert.deepStrictEqual([...reached].sort(), [
      "AbsolutePath",
      "DriveLetter",
      "Empty",
      "IllegalCharacters",
      "PathTraversal",
      "ReservedName",
      "TooLong"
    ])
  })

  it("never throws on values that are not strings", () => {
    for (const value of [undefined, null, 42, {}, ["a"]]) {
      const exit = Effect.runSyncExit(sanitizeIdentifier(value as unknown as string))
      assert.isTrue(Exit.isFailure(exit))
      if (Exit.isFailure(exit)) {
        assert.strictEqual(exit.cause._tag, "Fail")
        if (exit.cause._tag === "Fail") assert.strictEqual(exit.cause.error.reason, "IllegalCharacters")
      }
      assert.isFalse(validatePathComponent(value as unknown as string))
    }
  })
})

describe("InvalidIdentifier", () => {
  it("shows control characters escaped and quotes the input", () => {
    const error = refusal("a\u0000b\nc\u001b[2Kd\u202e\"q\\")
    assert.strictEqual(error.input, "\"a\\u{0}b\\u{a}c\\u{1b}[2Kd\\u{202e}\\\"q\\\\\"")
    assert.notMatch(error.message, UNSAFE_IN_MESSAGE)
  })

  it("cuts a very long input to a sane length and notes the full length", () => {
    const error = refusal("é".repeat(100_000))
    assert.strictEqual(error.reason, "TooLong")
    assert.isBelow(error.input.length, 120)
    assert.isTrue(error.input.startsWith(`"${"é".repeat(64)}"`), error.input)
    assert.include(error.input, "100000 characters")
  })

  it("refuses an id of ten million characters with a short message", () => {
    const error = refusal("/".concat("x".repeat(10_000_000)))
    assert.strictEqual(error.reason, "AbsolutePath")
    assert.isBelow(error.message.length, 300)
    assert.include(error.input, "10000001 characters")
    assert.isFalse(validatePathComponent("a".repeat(10_000_000)))
  })

  it("does not cut a surrogate pair in half, and escapes lone surrogates", () => {
    const shown = showSafely("😀".repeat(70))
    assert.isTrue(shown.startsWith(`"${"😀".repeat(64)}"`))
    assert.notMatch(showSafely("a\uD800b"), UNSAFE_IN_MESSAGE)
    assert.include(showSafely("a\uD800b"), "\\u{d800}")
  })

  it("says what was expected and what was received", () => {
    const error = refusal("../../etc/passwd")
    assert.strictEqual(error.reason, "PathTraversal")
    assert.include(error.message, "\"../../etc/passwd\"")
    assert.include(error.message, "..")
    assert.match(error.message, /expected 1-128 characters of A-Z, a-z, 0-9/)
    assert.include(refusal("").message, "empty")
    assert.include(refusal("LPT1").message, "reserved")
  })

  it("is a Schema.TaggedError that round-trips through its schema", () => {
    const error = refusal("a b")
    const encoded = Schema.encodeSync(InvalidIdentifier)(error)
    assert.deepStrictEqual(encoded, { _tag: "InvalidIdentifier", reason: "IllegalCharacters", input: "\"a b\"" })
    const decoded = Schema.decodeUnknownSync(InvalidIdentifier)(encoded)
    assert.instanceOf(decoded, InvalidIdentifier)
    assert.strictEqual(decoded.message, error.message)
  })
})

describe("WorkflowId", () => {
  it("decodes a valid id to the branded type and refuses the others", () => {
    const decode = Schema.decodeUnknownEither(WorkflowId)
    assert.deepStrictEqual(decode("issue-7"), Either.right("issue-7" as WorkflowId))
    for (const bad of ["", "a b", "..", "con", "COM1", "a".repeat(129), 42, null]) {
      assert.isTrue(Either.isLeft(decode(bad)), String(bad))
    }
  })

  it("names the expectation when decoding fails", () => {
    const result = Schema.decodeUnknownEither(WorkflowId)("aux")
    assert.isTrue(Either.isLeft(result))
    if (Either.isLeft(result)) assert.include(result.left.message, "Windows device name")
  })
})

describe("identifier properties", () => {
  it.prop(
    "never throws or dies, and accepts exactly what the oracle accepts",
    [anyString],
    ([s]) => {
      const exit = Effect.runSyncExit(sanitizeIdentifier(s))
      const accepted = oracleAccepts(s)
      if (accepted) {
        assert.isTrue(Exit.isSuccess(exit), JSON.stringify(s))
      } else {
        assert.isTrue(Exit.isFailure(exit) && exit.cause._tag === "Fail", JSON.stringify(s))
      }
    },
    { fastCheck: { numRuns: 2000 } }
  )

  it.prop(
    "validatePathComponent and the WorkflowId schema agree with sanitizeIdentifier",
    [anyString],
    ([s]) => {
      const accepted = Exit.isSuccess(Effect.runSyncExit(sanitizeIdentifier(s)))
      assert.strictEqual(validatePathComponent(s), accepted)
      assert.strictEqual(Schema.is(WorkflowId)(s), accepted)
    },
    { fastCheck: { numRuns: 1000 } }
  )

  it.prop(
    "a refusal names a true reason and shows the input safely",
    [anyString],
    ([s]) => {
      const exit = Effect.runSyncExit(sanitizeIdentifier(s))
      if (Exit.isSuccess(exit) || exit.cause._tag !== "Fail") return
      const error = exit.cause.error
      assert.isTrue(reasonHolds(error.reason, s), `${error.reason} for ${JSON.stringify(s)}`)
      assert.notMatch(error.input, UNSAFE_IN_MESSAGE)
      assert.notMatch(error.message, UNSAFE_IN_MESSAGE)
      assert.isAtMost(error.input.length, 64 * 10 + 40)
      assert.include(error.message, "expected")
    },
    { fastCheck: { numRuns: 2000 } }
  )

  it.prop(
    "an accepted id joined to a directory stays inside it",
    [anyString],
    ([s]) => {
      if (!validatePathComponent(s)) return
      for (const p of [path.posix, path.win32]) {
        const base = p === path.win32 ? "C:\\state\\checkpoints" : "/state/checkpoints"
        for (const joined of [p.join(base, s), p.resolve(base, s), p.join(base, s, "x.db")]) {
          const relative = p.relative(base, joined)
          assert.isFalse(relative === "" || relative.startsWith("..") || p.isAbsolute(relative), `${s} -> ${joined}`)
          assert.isTrue(joined.startsWith(base + p.sep), `${s} -> ${joined}`)
        }
        assert.strictEqual(p.basename(p.join(base, s)), s)
      }
    },
    { fastCheck: { numRuns: 1000 } }
  )

  it.effect.prop(
    "sanitizeIdentifier is an Effect that succeeds with its input when valid",
    [fc.stringMatching(/^[A-Za-z0-9_-]{1,128}$/)],
    ([s]) =>
      Effect.gen(function*() {
        const result = yield* Effect.either(sanitizeIdentifier(s))
        if (DEVICES.has(s.toUpperCase())) {
          assert.isTrue(Either.isLeft(result) && result.left.reason === "ReservedName")
        } else {
          assert.deepStrictEqual(result, Either.right(s as WorkflowId))
        }
      })
  )
})
