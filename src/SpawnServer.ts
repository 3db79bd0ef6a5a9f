/**
 * A `CommandExecutor` that starts children from a small helper process, the spawn server, instead
 * of from the runner itself.
 *
 * Node starts a child with fork() and waits, blocked, until the child has called exec. fork() copies
 * the page tables of the whole parent, so the bigger the parent the longer every start blocks it, and
 * afterwards each page the parent writes faults once more. A runner holding a journal, a CLI and
 * thousands of results is several times the size of a bare Node process: starting children from a
 * bare Node process that does nothing else makes each start cheaper, and takes it off the runner's
 * thread, so that the runner goes on with its own work on the other core meanwhile.
 *
 * The server is started on the first command and stops when the layer's scope closes or the runner
 * exits (it then leaves its children alone: a runner killed with kill -9 leaves them as it would
 * have left its own). Children keep the semantics of `@effect/platform-node`'s executor: each leads
 * its own process group, closing the scope of a running one sends SIGTERM to its group and waits
 * for it, `exitCode` fails when it died of a signal. Piped commands (`a | b`) are run by that
 * executor.
 *
 * @since 0.1.0
 */
import * as NodeCommandExecutor from "@effect/platform-node/NodeCommandExecutor"
import * as Command from "@effect/platform/Command"
import * as CommandExecutor from "@effect/platform/CommandExecutor"
import { SystemError, type SystemErrorReason } from "@effect/platform/Error"
import type * as FileSystem from "@effect/platform/FileSystem"
import * as Channel from "effect/Channel"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Inspectable from "effect/Inspectable"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import type * as Scope from "effect/Scope"
import * as Sink from "effect/Sink"
import * as Stream from "effect/Stream"
import { type ChildProcess, spawn } from "node:child_process"

type StdioOption = "pipe" | "inherit" | "ignore"

/** What the runner asks of the server. Children are known by a number the runner gives them. */
type Request =
  | readonly ["spawn", number, string, ReadonlyArray<string>, {
    readonly cwd: string | undefined
    readonly env: Record<string, string | undefined>
    readonly stdio: readonly [StdioOption, StdioOption, StdioOption]
  }]
  | readonly ["stdin", number, Uint8Array]
  | readonly ["stdin-end", number]

/** What the server tells the runner; `1` and `2` name stdout and stderr. */
type Reply =
  | readonly ["spawned", number, number]
  | readonly ["failed", number, string, string | undefined, string | undefined]
  | readonly ["data", number, 1 | 2, Uint8Array]
  | readonly ["eof", number, 1 | 2]
  | readonly ["exit", number, number | null, string | null]

/**
 * The server's program. It runs in its own Node process (`node -e`), from its source text, so it
 * uses nothing but its arguments. Output waits in the children's pipes while too many replies are
 * queued for the runner.
 */
const serve = (childProcess: typeof import("node:child_process"), proc: NodeJS.Process): void => {
  // What `ps` shows instead of this program's source.
  proc.title = "agentos-parallel spawn server"
  const children = new Map<number, ChildProcess>()
  const paused = new Set<NodeJS.ReadableStream>()
  let queued = 0
  const send = (reply: Reply) => {
    queued++
    proc.send!(reply, undefined, undefined, () => {
      queued--
      if (queued === 0) {
        for (const stream of paused) stream.resume()
        paused.clear()
      }
    })
  }
  const relay = (id: number, fd: 1 | 2, stream: NodeJS.ReadableStream | null) => {
    if (stream === null) return
    stream.on("error", () => {})
    stream.on("data", (bytes: Uint8Array) => {
      send(["data", id, fd, bytes])
      if (queued > 64) {
        stream.pause()
        paused.add(stream)
      }
    })
    stream.on("end", () => send(["eof", id, fd]))
  }
  // A Ctrl+C reaches the whole foreground group, this server included: the runner decides.
  proc.on("SIGINT", () => {})
  proc.on("SIGTERM", () => {})
  proc.on("SIGHUP", () => {})
  proc.on("disconnect", () => proc.exit(0))
  proc.on("message", (request: Request) => {
    const id = request[1]
    switch (request[0]) {
      case "spawn": {
        const options = request[4]
        const child: ChildProcess = childProcess.spawn(request[2], [...request[3]], {
          cwd: options.cwd,
          env: options.env,
          stdio: [...options.stdio],
          detached: true
        })
        let started = false
        child.on("error", (error: NodeJS.ErrnoException) => {
          if (!started) send(["failed", id, error.message, error.code, error.syscall])
        })
        child.on("spawn", () => {
          started = true
          children.set(id, child)
          send(["spawned", id, child.pid!])
        })
        child.on("exit", (code: number | null, signal: string | null) => {
          children.delete(id)
          send(["exit", id, code, signal])
        })
        // A child gone before its input was written, or a pipe torn down: nothing to report.
        child.stdin?.on("error", () => {})
        relay(id, 1, child.stdout)
        relay(id, 2, child.stderr)
        return
      }
      case "stdin":
        children.get(id)?.stdin?.write(request[2])
        return
      case "stdin-end":
        children.get(id)?.stdin?.end()
        return
    }
  })
}

/** A child's stdout or stderr as the runner receives it. */
interface Pipe {
  readonly chunks: Array<Uint8Array>
  ended: boolean
  wake: (() => void) | undefined
}

/** A child as the runner sees it. */
interface Child {
  readonly stdout: Pipe
  readonly stderr: Pipe
  /** Whether the server has answered the request to start it. */
  answered: boolean
  /** Exit code and signal once it has exited. */
  exit: readonly [number | null, string | null] | undefined
  readonly onExit: Array<() => void>
  readonly onStart: (reply: Reply) => void
}

const emptyPipe = (): Pipe => ({ chunks: [], ended: false, wake: undefined })

const endPipe = (pipe: Pipe) => {
  pipe.ended = true
  pipe.wake?.()
}

/** The runner's end of the server: started on first use, restarted if it dies. */
const makeClient = () => {
  let server: ChildProcess | undefined
  let nextId = 0
  const children = new Map<number, Child>()

  // The server keeps the runner alive only while it runs children for it.
  const holdRunner = (hold: boolean) => {
    if (server === undefined) return
    if (hold) server.ref()
    else server.unref()
    const channel = server.channel as { ref?: () => void; unref?: () => void } | null | undefined
    if (hold) channel?.ref?.()
    else channel?.unref?.()
  }

  const forget = (id: number) => {
    children.delete(id)
    if (children.size === 0) holdRunner(false)
  }
  const forgetIfDone = (id: number, child: Child) => {
    if (child.exit !== undefined && child.stdout.ended && child.stderr.ended) forget(id)
  }
  const answer = (child: Child, reply: Reply) => {
    if (child.answered) return
    child.answered = true
    child.onStart(reply)
  }

  const onReply = (reply: Reply) => {
    const id = reply[1]
    const child = children.get(id)
    if (child === undefined) return
    switch (reply[0]) {
      case "spawned":
      case "failed":
        answer(child, reply)
        if (reply[0] === "failed") forget(id)
        return
      case "data": {
        const pipe = reply[2] === 1 ? child.stdout : child.stderr
        pipe.chunks.push(reply[3])
        pipe.wake?.()
        return
      }
      case "eof":
        endPipe(reply[2] === 1 ? child.stdout : child.stderr)
        forgetIfDone(id, child)
        return
      case "exit":
        child.exit = [reply[2], reply[3]]
        for (const f of child.onExit.splice(0)) f()
        // Grandchildren may still write to its pipes: it is forgotten once they have ended too.
        forgetIfDone(id, child)
        return
    }
  }

  const onServerExit = () => {
    server = undefined
    const lost = [...children.values()]
    children.clear()
    for (const child of lost) {
      answer(child, ["failed", -1, "the spawn server exited", undefined, "spawn"])
      if (child.exit === undefined) child.exit = [null, "SIGKILL"]
      endPipe(child.stdout)
      endPipe(child.stderr)
      for (const f of child.onExit.splice(0)) f()
    }
  }

  const connect = (): ChildProcess => {
    if (server !== undefined) return server
    const started = spawn(process.execPath, ["-e", `(${serve.toString()})(require("node:child_process"), process)`], {
      stdio: ["inherit", "inherit", "inherit", "ipc"],
      serialization: "advanced",
      // Nothing of the runner's environment: each child gets its own in full with its request.
      env: process.env.LD_LIBRARY_PATH === undefined ? {} : { LD_LIBRARY_PATH: process.env.LD_LIBRARY_PATH }
    })
    started.on("message", onReply)
    started.on("exit", onServerExit)
    // A request sent while the server was going away: its "exit" settles what was waiting.
    started.on("error", () => {})
    server = started
    return started
  }

  const send = (request: Request) => {
    server?.send(request)
  }

  return {
    /** Starts a child; `onStart` gets its "spawned" or "failed" reply. */
    spawn: (
      file: string,
      args: ReadonlyArray<string>,
      options: Extract<Request, { 0: "spawn" }>[4],
      onStart: (reply: Reply) => void
    ): readonly [number, Child] => {
      const id = nextId++
      const child: Child = {
        stdout: emptyPipe(),
        stderr: emptyPipe(),
        answered: false,
        exit: undefined,
        onExit: [],
        onStart
      }
      if (options.stdio[1] !== "pipe") child.stdout.ended = true
      if (options.stdio[2] !== "pipe") child.stderr.ended = true
      children.set(id, child)
      connect().send(["spawn", id, file, args, options] satisfies Request)
      holdRunner(true)
      return [id, child]
    },
    send,
    /** Starts the server now, without holding the runner open for it. */
    prestart: () => {
      connect()
      holdRunner(children.size > 0)
    },
    /** Disconnects the server and waits for it to exit, so that no process of ours outlives the layer. */
    close: Effect.async<void>((resume) => {
      if (server === undefined) return resume(Effect.void)
      server.once("exit", () => resume(Effect.void))
      server.disconnect()
    })
  }
}

type Client = ReturnType<typeof makeClient>

const describe = (command: Command.StandardCommand) => `${command.command} ${command.args.join(" ")}`

const systemError = (
  command: Command.StandardCommand,
  method: string,
  description: string,
  code?: string,
  syscall?: string
) => {
  const reasons: Record<string, SystemErrorReason> = {
    ENOENT: "NotFound",
    EACCES: "PermissionDenied",
    EEXIST: "AlreadyExists",
    ENOTDIR: "BadResource",
    EISDIR: "BadResource",
    ELOOP: "BadResource",
    EBUSY: "Busy"
  }
  return new SystemError({
    reason: (code === undefined ? undefined : reasons[code]) ?? "Unknown",
    module: "Command",
    method,
    pathOrDescriptor: describe(command),
    ...(syscall === undefined ? {} : { syscall }),
    description
  })
}

/**
 * A pipe as a stream: each pull takes every chunk that has arrived, or waits for the next. Written
 * as a channel loop, which costs a third less per run than `Stream.repeatEffectChunkOption`, and
 * most children write little or nothing.
 */
const pipeStream = (pipe: Pipe): Stream.Stream<Uint8Array> => {
  const next = Effect.async<Chunk.Chunk<Uint8Array> | undefined>((resume) => {
    const pull = () => {
      pipe.wake = undefined
      if (pipe.chunks.length > 0) resume(Effect.succeed(Chunk.unsafeFromArray(pipe.chunks.splice(0))))
      else if (pipe.ended) resume(Effect.succeed(undefined))
      else pipe.wake = pull
    }
    pull()
    return Effect.sync(() => {
      pipe.wake = undefined
    })
  })
  const loop: Channel.Channel<Chunk.Chunk<Uint8Array>> = Channel.flatMap(
    Channel.fromEffect(next),
    (chunk) => chunk === undefined ? Channel.void : Channel.zipRight(Channel.write(chunk), Channel.suspend(() => loop))
  )
  return Stream.fromChannel(loop)
}

const ProcessProto = {
  [CommandExecutor.ProcessTypeId]: CommandExecutor.ProcessTypeId,
  ...Inspectable.BaseProto,
  toJSON(this: CommandExecutor.Process) {
    return { _id: "@effect/platform/CommandExecutor/Process", pid: this.pid }
  }
}

/** Signals the child's process group, or the child alone if it leads none; throws if neither is there. */
const signal = (pid: number, name: CommandExecutor.Signal) => {
  try {
    process.kill(-pid, name)
  } catch {
    process.kill(pid, name)
  }
}

const start = (
  client: Client,
  command: Command.StandardCommand
): Effect.Effect<CommandExecutor.Process, SystemError, Scope.Scope> => {
  // An empty input stream is the child's stdin at its end from the start: /dev/null, with nothing to feed.
  const emptyInput = command.stdin === Stream.empty
  const stdio = [emptyInput ? "ignore" : command.stdin, command.stdout, command.stderr].map((s) =>
    s === "inherit" || s === "ignore" ? s : "pipe"
  ) as [StdioOption, StdioOption, StdioOption]
  const env: Record<string, string | undefined> = command.extendEnv
    ? { ...process.env, ...Object.fromEntries(command.env) }
    : Object.fromEntries(command.env)
  const spawned = Effect.async<readonly [number, number, Child], SystemError>((resume) => {
    const [id, child] = client.spawn(command.command, command.args, {
      cwd: Option.getOrUndefined(command.cwd),
      env,
      stdio
    }, (reply) => {
      if (reply[0] === "spawned") resume(Effect.succeed([id, reply[2], child]))
      else if (reply[0] === "failed") {
        resume(Effect.fail(systemError(command, "spawn", reply[2], reply[3], reply[4])))
      }
    })
  })
  const exited = (child: Child) =>
    Effect.async<readonly [number | null, string | null]>((resume) => {
      if (child.exit !== undefined) return resume(Effect.succeed(child.exit))
      const done = () => resume(Effect.succeed(child.exit!))
      child.onExit.push(done)
      return Effect.sync(() => {
        const at = child.onExit.indexOf(done)
        if (at !== -1) child.onExit.splice(at, 1)
      })
    })
  return Effect.acquireRelease(
    spawned,
    ([, pid, child]) => {
      if (child.exit === undefined) {
        // Gone already (its exit is on its way): nothing to signal.
        return Effect.ignore(Effect.try(() => signal(pid, "SIGTERM"))).pipe(Effect.zipRight(exited(child)))
      }
      // Exited with a failure: its group may live on.
      return child.exit[0] !== 0 && child.exit[0] !== null
        ? Effect.ignore(Effect.try(() => process.kill(-pid, "SIGTERM")))
        : Effect.void
    }
  ).pipe(Effect.flatMap(([id, pid, child]) => {
    const stdout = pipeStream(child.stdout)
    const handle: CommandExecutor.Process = Object.assign(Object.create(ProcessProto), {
      pid: CommandExecutor.ProcessId(pid),
      exitCode: Effect.flatMap(exited(child), ([code, signalName]) =>
        code !== null
          ? Effect.succeed(CommandExecutor.ExitCode(code))
          : Effect.fail(
            systemError(command, "exitCode", `Process interrupted due to receipt of signal: ${signalName}`)
          )),
      isRunning: Effect.sync(() => child.exit === undefined),
      kill: (name: CommandExecutor.Signal = "SIGTERM") =>
        Effect.try({
          try: () => signal(pid, name),
          catch: (error) => systemError(command, "kill", String(error))
        }).pipe(Effect.zipRight(exited(child)), Effect.asVoid),
      stdin: stdio[0] === "pipe"
        ? Sink.forEachChunk((chunk: Chunk.Chunk<Uint8Array>) =>
          Effect.sync(() => {
            for (const bytes of chunk) client.send(["stdin", id, bytes])
          })
        ).pipe(Sink.mapEffect(() => Effect.sync(() => client.send(["stdin-end", id]))))
        : Sink.drain,
      stdout: typeof command.stdout === "string" ? stdout : Stream.transduce(stdout, command.stdout),
      stderr: pipeStream(child.stderr)
    })
    // As @effect/platform-node does: a stream given as stdin is fed in the background.
    return typeof command.stdin === "string" || emptyInput
      ? Effect.succeed(handle)
      : Effect.as(Effect.forkDaemon(Stream.run(command.stdin, handle.stdin)), handle)
  }))
}

/**
 * The spawn server's `CommandExecutor`, for the life of the layer.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer: Layer.Layer<CommandExecutor.CommandExecutor, never, FileSystem.FileSystem> = Layer.scoped(
  CommandExecutor.CommandExecutor,
  Effect.gen(function*() {
    const piped = yield* Effect.provide(CommandExecutor.CommandExecutor, NodeCommandExecutor.layer)
    const client = yield* Effect.acquireRelease(
      Effect.sync(makeClient),
      (c) => Effect.ignore(Effect.timeout(c.close, "2 seconds"))
    )
    const executor = CommandExecutor.makeExecutor((command) => {
      const flat = Command.flatten(command)
      return flat.length === 1 ? start(client, flat[0]) : piped.start(command)
    })
    clients.set(executor, client)
    return executor
  })
)

const clients = new WeakMap<CommandExecutor.CommandExecutor, Client>()

/**
 * Starts the spawn server of the provided executor now (when it is one), so that the first child
 * does not wait for the server to boot. Any other executor is left alone.
 *
 * @since 0.1.0
 * @category utils
 */
export const prestart: Effect.Effect<void, never, CommandExecutor.CommandExecutor> = Effect.flatMap(
  CommandExecutor.CommandExecutor,
  (executor) => Effect.sync(() => clients.get(executor)?.prestart())
)
