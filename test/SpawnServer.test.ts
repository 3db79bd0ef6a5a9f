// The spawn server's CommandExecutor on real processes: output and exit codes, a death by signal,
// a command that cannot start, stdin, process groups stopped when the scope closes, and piped
// commands (run by @effect/platform-node's executor).
import * as NodeContext from "@effect/platform-node/NodeContext"
import * as Command from "@effect/platform/Command"
import { assert, layer } from "@effect/vitest"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import * as Stream from "effect/Stream"
import * as fs from "node:fs"
import * as SpawnServer from "../src/SpawnServer.js"

const text = (stream: Stream.Stream<Uint8Array, unknown>) =>
  Stream.runCollect(Stream.decodeText(stream)).pipe(Effect.map((chunks) => Chunk.join(chunks, "")))

/** Whether the process runs (a zombie, dead and not yet reaped, does not). */
const alive = (pid: number) => {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8")
    return !/^[ZX]/.test(stat.slice(stat.lastIndexOf(")") + 2))
  } catch {
    return false
  }
}

const executor = Layer.provideMerge(SpawnServer.layer, NodeContext.layer)

layer(executor, { excludeTestServices: true })("SpawnServer", (it) => {
  it.scoped("relays stdout and stderr and reports the exit code", () =>
    Effect.gen(function*() {
      const child = yield* Command.start(Command.make("sh", "-c", "echo out; echo err >&2; exit 3"))
      const [out, err, code] = yield* Effect.all([text(child.stdout), text(child.stderr), child.exitCode], {
        concurrency: 3
      })
      assert.strictEqual(out, "out\n")
      assert.strictEqual(err, "err\n")
      assert.strictEqual(code, 3)
    }))

  it.scoped("passes the environment, extended or not, and the working directory", () =>
    Effect.gen(function*() {
      const own = yield* Command.string(
        Command.make("sh", "-c", "echo \"$ONLY-${HOME:-none}\"; pwd").pipe(
          Command.env({ ONLY: "x", PATH: process.env.PATH }, { extendEnv: false }),
          Command.workingDirectory("/")
        )
      )
      assert.strictEqual(own, "x-none\n/\n")
      const extended = yield* Command.string(Command.make("sh", "-c", "echo $ADDED").pipe(Command.env({ ADDED: "y" })))
      assert.strictEqual(extended, "y\n")
    }))

  it.scoped("fails exitCode with the signal when the child died of one", () =>
    Effect.gen(function*() {
      const child = yield* Command.start(Command.make("sh", "-c", "kill -9 $$"))
      const exit = yield* Effect.exit(child.exitCode)
      assert.isTrue(Exit.isFailure(exit))
      if (Exit.isFailure(exit)) assert.match(String(exit.cause), /signal: SIGKILL/)
    }))

  it.scoped("fails to start a command that does not exist, with NotFound", () =>
    Effect.gen(function*() {
      const exit = yield* Effect.exit(Command.start(Command.make("agentos-no-such-command")))
      assert.isTrue(Exit.isFailure(exit))
      if (Exit.isFailure(exit)) assert.match(String(exit.cause), /NotFound/)
    }))

  it.scoped("feeds stdin", () =>
    Effect.gen(function*() {
      const out = yield* Command.string(Command.make("cat").pipe(Command.feed("fed\n")))
      assert.strictEqual(out, "fed\n")
    }))

  it.scoped("gives an empty input stream as /dev/null", () =>
    Effect.gen(function*() {
      const out = yield* Command.string(
        Command.make("sh", "-c", "readlink /proc/self/fd/0; cat").pipe(
          Command.stdin(Stream.empty)
        )
      )
      assert.strictEqual(out, "/dev/null\n")
    }))

  it.effect("closing the scope of a running child stops its whole process group", () =>
    Effect.gen(function*() {
      const pids = yield* Effect.scoped(Effect.gen(function*() {
        const child = yield* Command.start(Command.make("sh", "-c", "sleep 30 & echo $!; wait"))
        const grandchild = yield* text(Stream.take(child.stdout, 1))
        return [child.pid as number, Number(grandchild.trim())] as const
      }))
      yield* Effect.sleep("100 millis")
      assert.isFalse(alive(pids[0]))
      assert.isFalse(alive(pids[1]))
    }))

  it.scoped("runs piped commands", () =>
    Effect.gen(function*() {
      const out = yield* Command.string(Command.pipeTo(Command.make("echo", "a b"), Command.make("tr", " ", "-")))
      assert.strictEqual(out, "a-b\n")
    }))
})
