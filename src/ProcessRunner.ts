/**
 * A workflow that runs an external command for an item: the runner's side of the child protocol
 * (environment in, exit code and rate-limit line out), output relayed as prefixed whole lines, and
 * the child's process group stopped with TERM, a grace period, then KILL.
 *
 * @since 0.1.0
 */
import * as Command from "@effect/platform/Command"
import type * as CommandExecutor from "@effect/platform/CommandExecutor"
import * as Path from "@effect/platform/Path"
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as Schema from "effect/Schema"
import type * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import { closeSync, constants, existsSync, openSync, rmSync, writeSync } from "node:fs"
import type { WorkflowId } from "./Identifier.js"
import { makeLineSplitter } from "./internal/lineSplitter.js"
import { groupHasMembers, signalGroup as signalProcessGroup } from "./internal/processes.js"
import { clampCooldownMillis, sleepLong } from "./internal/timers.js"
import { type Channel, Output } from "./Output.js"
import { RateLimited } from "./RateLimited.js"
import type { Workflow, WorkflowContext } from "./Workflow.js"

/**
 * The exit code a child uses to say "rate limited on my credential" (EX_TEMPFAIL).
 *
 * @since 0.1.0
 * @category constants
 */
export const EXIT_RATE_LIMITED = 75

const RATE_LIMIT_LINE = /^\s*::rate-limited(?:\s+retry-after=(\d+(?:\.\d+)?|\.\d+))?\s*::\s*$/

/**
 * Reads the `::rate-limited retry-after=SECONDS::` protocol line. `Some(None)` for the line without
 * a retry-after.
 *
 * @since 0.1.0
 * @category parsers
 */
export const parseRateLimitLine = (line: string): Option.Option<Option.Option<Duration.Duration>> => {
  const match = RATE_LIMIT_LINE.exec(line)
  if (match === null) return Option.none()
  const seconds = match[1]
  return Option.some(
    seconds === undefined
      ? Option.none()
      : Option.some(Duration.millis(clampCooldownMillis(Math.round(Number(seconds) * 1000))))
  )
}

/**
 * A start of a child process that did not succeed.
 *
 * - `Exited`: it exited with a code other than 0 and 75.
 * - `Signaled`: it died of a signal.
 * - `SpawnFailed`: it could not be started.
 *
 * @since 0.1.0
 * @category errors
 */
export class ProcessFailed extends Schema.TaggedError<ProcessFailed>()("ProcessFailed", {
  reason: Schema.Literal("Exited", "Signaled", "SpawnFailed"),
  exitCode: Schema.optional(Schema.Int),
  signal: Schema.optional(Schema.String),
  detail: Schema.String
}) {
  override get message(): string {
    return this.detail
  }
}

/**
 * @since 0.1.0
 * @category models
 */
export interface ProcessWorkflowOptions {
  /** The command and its arguments; `{id}` in any of them is replaced by the item id. */
  readonly command: ReadonlyArray<string>
  /** Absolute directory under which `checkpoints/<run>/<id>.db` is handed to the child. */
  readonly checkpointDir: string
  /** Directory of the item logs (`<id>.log`). */
  readonly logDir: string
  /** The variable the child gets its secret in. @default "AGENTOS_CREDENTIAL" */
  readonly credentialVar?: string | undefined
  /** Variables never passed on to children (e.g. the one holding every credential). */
  readonly withheldVars?: ReadonlyArray<string> | undefined
  /** Time between TERM and KILL when a child is stopped. @default "5 seconds" */
  readonly grace?: Duration.DurationInput | undefined
  /** Where the child's stdout lines go (stderr when stdout carries a JSON summary). @default "stdout" */
  readonly stdoutChannel?: Channel | undefined
  /** Called with the pid of each started child (for the journal). */
  readonly onSpawn?: ((id: WorkflowId, attempt: number, pid: number) => Effect.Effect<void>) | undefined
  /** Applied to every output line before it is logged or printed (e.g. masking secrets). */
  readonly mask?: ((line: string) => string) | undefined
  /**
   * More variables for one start, on top of the others (e.g. a gateway's URLs and token); the
   * scope is the start's, so what it hands out can end with the start.
   */
  readonly extraEnv?:
    | ((context: WorkflowContext) => Effect.Effect<Record<string, string>, never, Scope.Scope>)
    | undefined
}

// Append, create 0600, and never through a symlink planted in the log directory.
const LOG_FLAGS = constants.O_WRONLY | constants.O_APPEND | constants.O_CREAT | constants.O_NOFOLLOW

const signalGroup = (pid: number, signal: NodeJS.Signals) => Effect.sync(() => signalProcessGroup(pid, signal))

/**
 * The environment a child gets for one start, on top of the runner's own (minus withheld variables).
 *
 * @since 0.1.0
 * @category constructors
 */
export const childEnvironment = (
  context: WorkflowContext,
  workflowDb: string,
  credentialVar: string
): Record<string, string> => {
  const env: Record<string, string> = {
    AGENTOS_ITEM_ID: context.id,
    AGENTOS_WORKFLOW_DB: workflowDb,
    AGENTOS_ATTEMPT: String(context.attempt),
    AGENTOS_RUN_ID: context.runId
  }
  if (Option.isSome(context.credential)) {
    env.AGENTOS_CREDENTIAL_LABEL = context.credential.value.label
    env[credentialVar] = Redacted.value(context.credential.value.secret)
  }
  return env
}

/**
 * The workflow that runs `options.command` once per start of an item.
 *
 * @since 0.1.0
 * @category constructors
 */
export const processWorkflow = (
  options: ProcessWorkflowOptions
): Workflow<
  ProcessFailed | RateLimited,
  CommandExecutor.CommandExecutor | Path.Path | Output
> => {
  const credentialVar = options.credentialVar ?? "AGENTOS_CREDENTIAL"
  const graceMillis = Duration.toMillis(options.grace ?? "5 seconds")
  const stdoutChannel = options.stdoutChannel ?? "stdout"
  const mask = options.mask
  const withheld = new Set(options.withheldVars ?? [])
  const baseEnv = Object.fromEntries(
    Object.entries(process.env).filter((entry): entry is [string, string] =>
      entry[1] !== undefined && !withheld.has(entry[0])
    )
  )

  return (context) =>
    Effect.scoped(Effect.gen(function*() {
      const path = yield* Path.Path
      const output = yield* Output
      const workflowDb = path.join(options.checkpointDir, `${context.id}.db`)
      const [file, ...args] = options.command.map((part) => part.replaceAll("{id}", context.id))
      const extra = options.extraEnv === undefined ? {} : yield* options.extraEnv(context)
      const command = Command.make(file!, ...args).pipe(
        Command.env({ ...baseEnv, ...childEnvironment(context, workflowDb, credentialVar), ...extra }, {
          extendEnv: false
        }),
        // Nothing is fed to workflows: their stdin ends at once.
        Command.stdin(Stream.empty),
        Command.runInShell(false)
      )
      // The item's log is opened, written and closed synchronously: small writes cost less so than
      // through the thread pool, whose wake-ups compete with the runner when many short items run.
      const log = yield* Effect.acquireRelease(
        Effect.sync(() => openSync(path.join(options.logDir, `${context.id}.log`), LOG_FLAGS, 0o600)),
        (fd) => Effect.sync(() => closeSync(fd))
      )
      const child = yield* Command.start(command).pipe(
        Effect.mapError((error) =>
          new ProcessFailed({ reason: "SpawnFailed", detail: `could not start ${file}: ${error.message}` })
        )
      )
      const pid = child.pid as number
      if (options.onSpawn !== undefined) yield* options.onSpawn(context.id, context.attempt, pid)

      let retryAfter: Option.Option<Option.Option<Duration.Duration>> = Option.none()
      const prefix = `[${context.id}] `
      const relay = (channel: Channel, stream: Stream.Stream<Uint8Array, unknown>) => {
        const splitter = makeLineSplitter()
        const emit = (raw: ReadonlyArray<string>) => {
          if (raw.length === 0) return Effect.void
          const lines = mask === undefined ? raw : raw.map(mask)
          const prefixed: Array<string> = []
          for (const line of lines) {
            const limited = parseRateLimitLine(line)
            if (Option.isSome(limited)) retryAfter = limited
            prefixed.push(prefix + line)
          }
          try {
            writeSync(log, lines.join("\n") + "\n")
          } catch {
            // A full disk loses the log, not the item.
          }
          return output.lines(channel, prefixed)
        }
        return Stream.runForEachChunk(stream, (chunk) => Effect.suspend(() => emit(splitter.push(chunk)))).pipe(
          Effect.ignore,
          Effect.zipRight(Effect.suspend(() => emit(splitter.end())))
        )
      }
      // Forked into the scope, so that what a child writes while it is being stopped is still relayed.
      const relays = Fiber.zip(
        yield* Effect.forkScoped(relay(stdoutChannel, child.stdout)),
        yield* Effect.forkScoped(relay("stderr", child.stderr))
      )

      // TERM is sent once: at shutdown (so the child can checkpoint) or when the start is stopped.
      let termSentAt: number | undefined
      const term = Effect.flatMap(Clock.currentTimeMillis, (now) => {
        if (termSentAt !== undefined) return Effect.void
        termSentAt = now
        return signalGroup(pid, "SIGTERM")
      })
      yield* Effect.forkScoped(Effect.zipRight(context.stopping, term))

      yield* Effect.addFinalizer(() =>
        Effect.gen(function*() {
          const running = yield* Effect.orElseSucceed(child.isRunning, () => false)
          if (running || termSentAt !== undefined) {
            yield* term
            const now = yield* Clock.currentTimeMillis
            const remaining = Math.max(0, graceMillis - (now - termSentAt!))
            // Forked so the sleep can be interrupted: finalizers themselves are uninterruptible.
            const killer = yield* Effect.forkDaemon(Effect.interruptible(
              Effect.raceFirst(Effect.sleep(Duration.millis(remaining)), context.forced).pipe(
                Effect.zipRight(signalGroup(pid, "SIGKILL"))
              )
            ))
            yield* Effect.ignore(child.exitCode)
            yield* Fiber.interrupt(killer)
            // Grandchildren that ignored TERM must not outlive the item.
            yield* signalGroup(pid, "SIGKILL")
          }
          // Every writer is gone now, so the pipes reach their end: relay what is left.
          yield* Fiber.await(relays)
        })
      )

      const exit = yield* Effect.either(child.exitCode)
      // The leader is gone. Whatever it left in its group (a background grandchild, or what it
      // started after a first TERM) must not outlive the item: TERM the group, KILL it after the
      // grace (the scope's finalizer does the same should the item be interrupted meanwhile).
      if (termSentAt !== undefined || groupHasMembers(pid)) {
        yield* term
        yield* signalGroup(pid, "SIGTERM")
        const remaining = Math.max(0, graceMillis - ((yield* Clock.currentTimeMillis) - termSentAt!))
        yield* Effect.forkScoped(
          Effect.raceFirst(sleepLong(Duration.millis(remaining)), context.forced).pipe(
            Effect.zipRight(signalGroup(pid, "SIGKILL"))
          )
        )
      }
      yield* Fiber.join(relays)
      if (exit._tag === "Left") {
        const signal = /signal: (\w+)/.exec(exit.left.message)?.[1] ?? "unknown"
        return yield* new ProcessFailed({ reason: "Signaled", signal, detail: `killed by signal ${signal}` })
      }
      const code = exit.right as number
      if (code === 0) {
        // Most workflows never create their checkpoint: look once before removing four paths.
        if (existsSync(workflowDb)) {
          for (const suffix of ["", "-wal", "-shm", "-journal"]) {
            try {
              rmSync(workflowDb + suffix, { force: true })
            } catch {
              // Left for the next run to overwrite.
            }
          }
        }
        return
      }
      if (code === EXIT_RATE_LIMITED) {
        const after = Option.flatten(retryAfter)
        return yield* new RateLimited(Option.isSome(after) ? { retryAfter: after.value } : {})
      }
      return yield* new ProcessFailed({ reason: "Exited", exitCode: code, detail: `exited with code ${code}` })
    }))
}
