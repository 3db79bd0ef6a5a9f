import * as NodeContext from "@effect/platform-node/NodeContext"
import * as Path from "@effect/platform/Path"
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Ref from "effect/Ref"
import { Output } from "../Output.js"
import { ParallelCoordinator } from "../ParallelCoordinator.js"
import * as Shutdown from "../Shutdown.js"
import * as SpawnServer from "../SpawnServer.js"
import * as SqliteJournal from "../SqliteJournal.js"
import { checkRunOptions, countEmptyItems, requireSeparator } from "./Argv.js"
import { makeCli } from "./Cli.js"
import { exitCodeOf, signalExitCode } from "./ExitCode.js"
import { journalFile } from "./JournalAccess.js"

const shutdown = Shutdown.unsafeMake()
let signals = 0
const onSignal = (signal: NodeJS.Signals) => {
  signals++
  // A third signal means the user has run out of patience: leave now.
  if (signals >= 3) process.exit(signalExitCode(signal))
  shutdown.unsafeRequest(signal)
}
process.on("SIGINT", onSignal)
process.on("SIGTERM", onSignal)
// A hangup (the terminal or the ssh session went away) is a request to stop like SIGTERM.
process.on("SIGHUP", onSignal)

const program = Effect.gen(function*() {
  const exitCode = yield* Ref.make(0)
  yield* requireSeparator(process.argv.slice(2))
  yield* checkRunOptions(process.argv.slice(2))
  yield* makeCli({
    shutdown,
    journalFor: (stateDir, options) =>
      Effect.flatMap(Path.Path, (path) => SqliteJournal.make(journalFile(path, stateDir), options)),
    exitCode,
    emptyItems: countEmptyItems(process.argv.slice(2))
  })(process.argv)
  return yield* Ref.get(exitCode)
})

const layer = Layer.mergeAll(
  NodeContext.layer,
  // Children are started from the spawn server (overriding NodeContext's executor).
  SpawnServer.layer.pipe(Layer.provide(NodeContext.layer)),
  Output.layerConsole,
  ParallelCoordinator.layer.pipe(Layer.provide(Output.layerConsole))
)
const output = Output.makeConsole()

let ended = false
// The program ends through its result (a run through its summary): a process that runs out of work
// before that is a wait left without a timer, never a success.
process.on("beforeExit", () => {
  if (ended) return
  Effect.runSync(output.lines("stderr", ["agentos-parallel: internal error: stalled with work unfinished"]))
  process.exit(70)
})
Effect.runFork(program.pipe(Effect.provide(layer))).addObserver((exit) => {
  ended = true
  const code = Exit.match(exit, {
    onSuccess: (code) => code,
    onFailure: (cause) => {
      const failure = Cause.failureOption(cause)
      const message = Option.isSome(failure)
        ? exitCodeOf.message(failure.value)
        : Cause.isInterruptedOnly(cause)
        ? Option.none()
        : Option.some(`unexpected error: ${Cause.pretty(cause)}`)
      if (Option.isSome(message)) Effect.runSync(output.lines("stderr", [`agentos-parallel: ${message.value}`]))
      return Option.isSome(failure) ? exitCodeOf.failure(failure.value) : Cause.isInterruptedOnly(cause) ? 130 : 1
    }
  })
  // process.stdout/stderr are asynchronous on pipes: exit once what was written has been handed
  // to the OS, or a slow reader (| less, | slow-consumer) loses the end of the output.
  let unflushed = 2
  const flushed = () => {
    if (--unflushed === 0) process.exit(code)
  }
  process.stdout.write("", flushed)
  process.stderr.write("", flushed)
})
