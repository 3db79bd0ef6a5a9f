import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Option from "effect/Option"
import { Output } from "../src/Output.js"

const CLEAR = "\r\x1b[2K"

interface FakeStream {
  readonly writes: Array<string>
  readonly isTTY: boolean
  readonly write: (text: string) => boolean
  readonly on: (event: "error", listener: (error: NodeJS.ErrnoException) => void) => FakeStream
  /** Emits an "error" event, as a Node stream does when the reader of a pipe has gone. */
  readonly emitError: (code: string) => void
  /** Makes the next writes throw an error with this code. */
  throwing: string | undefined
}

const fakeStream = (isTTY: boolean): FakeStream => {
  const listeners: Array<(error: NodeJS.ErrnoException) => void> = []
  const stream: FakeStream = {
    writes: [],
    isTTY,
    throwing: undefined,
    write: (text) => {
      if (stream.throwing !== undefined) {
        throw Object.assign(new Error(`write ${stream.throwing}`), { code: stream.throwing })
      }
      stream.writes.push(text)
      return true
    },
    on: (_event, listener) => {
      listeners.push(listener)
      return stream
    },
    emitError: (code) => {
      for (const l of listeners) l(Object.assign(new Error(code), { code }))
    }
  }
  return stream
}

const setup = (
  options: { stdoutTTY?: boolean; stderrTTY?: boolean; env?: Record<string, string | undefined> } = {}
) => {
  const stdout = fakeStream(options.stdoutTTY ?? false)
  const stderr = fakeStream(options.stderrTTY ?? false)
  const output = Output.makeConsole({ stdout, stderr, env: options.env ?? {} })
  return { stdout, stderr, output }
}

describe("Output.makeConsole", () => {
  it.effect("writes a batch of lines whole, in one write, on its channel", () =>
    Effect.gen(function*() {
      const { output, stderr, stdout } = setup()
      yield* output.lines("stdout", ["[a] one", "[a] two"])
      yield* output.lines("stderr", ["[b] err"])
      yield* output.lines("stdout", [])
      yield* output.lines("stdout", [""])
      assert.deepStrictEqual(stdout.writes, ["[a] one\n[a] two\n", "\n"])
      assert.deepStrictEqual(stderr.writes, ["[b] err\n"])
    }))

  it.effect("writes the runner's own messages as [COORDINATOR] lines on stderr", () =>
    Effect.gen(function*() {
      const { output, stderr, stdout } = setup()
      yield* output.coordinator("Shutting down... waiting for workers to checkpoint (5s)")
      assert.deepStrictEqual(stderr.writes, ["[COORDINATOR] Shutting down... waiting for workers to checkpoint (5s)\n"])
      assert.deepStrictEqual(stdout.writes, [])
    }))

  it.effect("shows no status line off a terminal", () =>
    Effect.gen(function*() {
      const { output, stderr, stdout } = setup({ stdoutTTY: true, stderrTTY: false })
      assert.isFalse(output.interactive)
      yield* output.status(Option.some("[==>  ] 1/4"))
      yield* output.lines("stderr", ["x"])
      yield* output.status(Option.none())
      assert.deepStrictEqual(stderr.writes, ["x\n"])
      assert.deepStrictEqual(stdout.writes, [])
    }))

  it.effect("on a terminal, clears the status line before a line on stderr and redraws it after", () =>
    Effect.gen(function*() {
      const { output, stderr, stdout } = setup({ stderrTTY: true })
      assert.isTrue(output.interactive)
      yield* output.status(Option.some("[=>   ] 1/4"))
      assert.deepStrictEqual(stderr.writes, [`${CLEAR}[=>   ] 1/4`])
      yield* output.coordinator("key-2 rate limited")
      assert.deepStrictEqual(stderr.writes.slice(1), [CLEAR, "[COORDINATOR] key-2 rate limited\n", "[=>   ] 1/4"])
      // stdout is a pipe: it does not scroll the terminal, so the status line is left alone
      yield* output.lines("stdout", ["[a] piped"])
      assert.deepStrictEqual(stdout.writes, ["[a] piped\n"])
      assert.strictEqual(stderr.writes.length, 4)
      // the same status again is not redrawn; a new one replaces it
      yield* output.status(Option.some("[=>   ] 1/4"))
      assert.strictEqual(stderr.writes.length, 4)
      yield* output.status(Option.some("[==>  ] 2/4"))
      assert.deepStrictEqual(stderr.writes.slice(4), [`${CLEAR}[==>  ] 2/4`])
      // removed: cleared once, and lines are written plainly afterwards
      yield* output.status(Option.none())
      yield* output.lines("stderr", ["after"])
      assert.deepStrictEqual(stderr.writes.slice(5), [CLEAR, "after\n"])
    }))

  it.effect("clears and redraws around stdout lines when stdout is the same terminal", () =>
    Effect.gen(function*() {
      const { output, stderr, stdout } = setup({ stdoutTTY: true, stderrTTY: true })
      yield* output.status(Option.some("bar"))
      yield* output.lines("stdout", ["[a] out"])
      assert.deepStrictEqual(stdout.writes, ["[a] out\n"])
      assert.deepStrictEqual(stderr.writes, [`${CLEAR}bar`, CLEAR, "bar"])
    }))

  it.effect("a closed pipe (EPIPE event) on stdout silences stdout only", () =>
    Effect.gen(function*() {
      const { output, stderr, stdout } = setup()
      yield* output.lines("stdout", ["first"])
      stdout.emitError("EPIPE")
      yield* output.lines("stdout", ["second"])
      yield* output.coordinator("still here")
      assert.deepStrictEqual(stdout.writes, ["first\n"])
      assert.deepStrictEqual(stderr.writes, ["[COORDINATOR] still here\n"])
    }))

  it.effect("a write that throws EPIPE silences the channel instead of failing", () =>
    Effect.gen(function*() {
      const { output, stdout } = setup()
      stdout.throwing = "EPIPE"
      const exit = yield* Effect.exit(output.lines("stdout", ["lost"]))
      assert.isTrue(Exit.isSuccess(exit))
      stdout.throwing = undefined
      yield* output.lines("stdout", ["also lost"])
      assert.deepStrictEqual(stdout.writes, [])
    }))

  it.effect("other write errors are not swallowed", () =>
    Effect.gen(function*() {
      const { output, stdout } = setup()
      stdout.throwing = "EIO"
      const exit = yield* Effect.exit(output.lines("stdout", ["x"]))
      assert.isTrue(Exit.isFailure(exit) && exit.cause._tag === "Die")
      assert.throws(() => stdout.emitError("EBADF"))
    }))

  describe("colour", () => {
    const color = (stderrTTY: boolean, env: Record<string, string | undefined>) =>
      setup({ stderrTTY, env }).output.color

    it("is on for a terminal, off otherwise", () => {
      assert.isTrue(color(true, {}))
      assert.isFalse(color(false, {}))
    })

    it("honours NO_COLOR when set to anything but the empty string", () => {
      assert.isFalse(color(true, { NO_COLOR: "1" }))
      assert.isFalse(color(true, { NO_COLOR: "0" }))
      assert.isTrue(color(true, { NO_COLOR: "" }))
    })

    it("FORCE_COLOR forces colour on, even off a terminal and over NO_COLOR", () => {
      assert.isTrue(color(false, { FORCE_COLOR: "1" }))
      assert.isTrue(color(false, { FORCE_COLOR: "3" }))
      assert.isTrue(color(false, { FORCE_COLOR: "true" }))
      assert.isTrue(color(false, { FORCE_COLOR: "" }))
      assert.isTrue(color(true, { FORCE_COLOR: "1", NO_COLOR: "1" }))
    })

    it("FORCE_COLOR=0 or false turns colour off, even on a terminal", () => {
      assert.isFalse(color(true, { FORCE_COLOR: "0" }))
      assert.isFalse(color(true, { FORCE_COLOR: "false" }))
      assert.isFalse(color(false, { FORCE_COLOR: "false" }))
    })
  })
})

describe("Output.makeMemory and Output.silent", () => {
  it.effect("records lines and coordinator messages with their channel", () =>
    Effect.gen(function*() {
      const { output, recorded } = yield* Output.makeMemory
      yield* output.lines("stdout", ["a", "b"])
      yield* output.coordinator("hello")
      yield* output.status(Option.some("ignored"))
      assert.deepStrictEqual(yield* recorded, [
        { channel: "stdout", line: "a" },
        { channel: "stdout", line: "b" },
        { channel: "stderr", line: "[COORDINATOR] hello" }
      ])
      assert.isFalse(output.interactive)
    }))

  it.effect("layerSilent provides an Output that writes nothing", () =>
    Effect.gen(function*() {
      const output = yield* Output
      yield* output.lines("stdout", ["nothing"])
      yield* output.coordinator("nothing")
      assert.isFalse(output.interactive)
      assert.isFalse(output.color)
    }).pipe(Effect.provide(Output.layerSilent)))
})
