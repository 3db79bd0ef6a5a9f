/**
 * The one writer of the console. Items' lines, the runner's own `[COORDINATOR]` messages and the
 * progress line all go through it, so whole lines never mix and the progress line never tears
 * the scrolling output.
 *
 * @since 0.1.0
 */
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"

/**
 * Where a line goes.
 *
 * @since 0.1.0
 * @category models
 */
export type Channel = "stdout" | "stderr"

/**
 * @since 0.1.0
 * @category models
 */
export interface OutputShape {
  /** Writes whole lines (without their newline) to one channel, in one piece. */
  readonly lines: (channel: Channel, lines: ReadonlyArray<string>) => Effect.Effect<void>
  /** Writes `[COORDINATOR] <message>` to stderr. */
  readonly coordinator: (message: string) => Effect.Effect<void>
  /** Shows (or, with `None`, removes) the line kept at the bottom of a terminal; no-op off a terminal. */
  readonly status: (line: Option.Option<string>) => Effect.Effect<void>
  /** `true` when a progress line can be shown (stderr is a terminal). */
  readonly interactive: boolean
  /**
   * `true` when colour is allowed: on a terminal unless `NO_COLOR` is set (non-empty); `FORCE_COLOR`
   * (`1`, `2`, `3`, `true` or empty) forces it on anywhere, and `FORCE_COLOR=0`/`false` forces it off.
   */
  readonly color: boolean
}

/**
 * A line the memory output recorded.
 *
 * @since 0.1.0
 * @category models
 */
export interface RecordedLine {
  readonly channel: Channel
  readonly line: string
}

const CLEAR_LINE = "\r\x1b[2K"
const FORCE_COLOR_ON = new Set(["", "1", "2", "3", "true"])

interface Writable {
  readonly write: (text: string) => unknown
  readonly isTTY?: boolean | undefined
  readonly on?: (event: "error", listener: (error: NodeJS.ErrnoException) => void) => unknown
}

/**
 * Console output over two writable streams (by default `process.stdout` and `process.stderr`).
 * A closed pipe (EPIPE, e.g. `| head`) silences that channel instead of crashing the process.
 *
 * @since 0.1.0
 * @category constructors
 */
export const makeConsole = (options?: {
  readonly stdout?: Writable
  readonly stderr?: Writable
  readonly env?: Readonly<Record<string, string | undefined>>
}): OutputShape => {
  const stdout = options?.stdout ?? process.stdout
  const stderr = options?.stderr ?? process.stderr
  const env = options?.env ?? process.env
  const interactive = stderr.isTTY === true
  // As Node reads FORCE_COLOR: "", "1", "2", "3" or "true" force colour on; any other value
  // ("0", "false", ...) turns it off; either way NO_COLOR and the terminal check no longer apply.
  const color = env.FORCE_COLOR !== undefined
    ? FORCE_COLOR_ON.has(env.FORCE_COLOR)
    : interactive && (env.NO_COLOR === undefined || env.NO_COLOR === "")
  const closed = { stdout: false, stderr: false }
  const guard = (channel: Channel, stream: Writable) =>
    stream.on?.("error", (error) => {
      if (error.code === "EPIPE") closed[channel] = true
      else throw error
    })
  guard("stdout", stdout)
  guard("stderr", stderr)
  let statusLine: string | undefined

  const write = (channel: Channel, text: string) => {
    if (closed[channel]) return
    try {
      ;(channel === "stdout" ? stdout : stderr).write(text)
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "EPIPE") closed[channel] = true
      else throw error
    }
  }

  /** Whether writing to this channel scrolls the terminal the status line sits on. */
  const sharesTerminal = (channel: Channel) =>
    statusLine !== undefined && (channel === "stderr" || stdout.isTTY === true)

  const lines = (channel: Channel, batch: ReadonlyArray<string>) =>
    Effect.sync(() => {
      if (batch.length === 0) return
      const text = batch.join("\n") + "\n"
      if (sharesTerminal(channel)) {
        write("stderr", CLEAR_LINE)
        write(channel, text)
        write("stderr", statusLine!)
      } else {
        write(channel, text)
      }
    })

  return {
    lines,
    coordinator: (message) => lines("stderr", [`[COORDINATOR] ${message}`]),
    status: (line) =>
      Effect.sync(() => {
        if (!interactive) return
        const next = Option.getOrUndefined(line)
        if (next === statusLine) return
        write("stderr", CLEAR_LINE + (next ?? ""))
        statusLine = next
      }),
    interactive,
    color
  }
}

/**
 * Output kept in memory, for tests: the layer and a way to read what was written.
 *
 * @since 0.1.0
 * @category constructors
 */
export const makeMemory: Effect.Effect<{
  readonly output: OutputShape
  readonly recorded: Effect.Effect<ReadonlyArray<RecordedLine>>
}> = Effect.sync(() => {
  const recorded: Array<RecordedLine> = []
  const lines = (channel: Channel, batch: ReadonlyArray<string>) =>
    Effect.sync(() => {
      for (const line of batch) recorded.push({ channel, line })
    })
  return {
    output: {
      lines,
      coordinator: (message) => lines("stderr", [`[COORDINATOR] ${message}`]),
      status: () => Effect.void,
      interactive: false,
      color: false
    },
    recorded: Effect.sync(() => recorded.slice())
  }
})

/**
 * Output that writes nothing.
 *
 * @since 0.1.0
 * @category constructors
 */
export const silent: OutputShape = {
  lines: () => Effect.void,
  coordinator: () => Effect.void,
  status: () => Effect.void,
  interactive: false,
  color: false
}

/**
 * The output service: `Output.layerConsole` for the process's streams, `Output.makeMemory` for tests.
 *
 * @since 0.1.0
 * @category tags
 */
export class Output extends Context.Tag("agentos-parallel/Output")<Output, OutputShape>() {
  /** @since 0.1.0 */
  static readonly layerConsole: Layer.Layer<Output> = Layer.sync(Output, () => makeConsole())
  /** @since 0.1.0 */
  static readonly layerSilent: Layer.Layer<Output> = Layer.succeed(Output, silent)
  /** @since 0.1.0 */
  static readonly makeConsole = makeConsole
  /** @since 0.1.0 */
  static readonly makeMemory = makeMemory
}
