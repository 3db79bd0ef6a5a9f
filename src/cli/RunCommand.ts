import type * as CommandExecutor from "@effect/platform/CommandExecutor"
import * as FileSystem from "@effect/platform/FileSystem"
import * as Path from "@effect/platform/Path"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Option from "effect/Option"
import * as Queue from "effect/Queue"
import * as Schedule from "effect/Schedule"
import * as Schema from "effect/Schema"
import { createHash } from "node:crypto"
import { CredentialPool, type CredentialPoolShape } from "../CredentialPool.js"
import { sanitizeIdentifier } from "../Identifier.js"
import { makeSecretMask } from "../internal/redact.js"
import { Output } from "../Output.js"
import { ParallelCoordinator } from "../ParallelCoordinator.js"
import { processWorkflow } from "../ProcessRunner.js"
import { JournalError, RunJournal } from "../RunJournal.js"
import { RunSummary } from "../RunSummary.js"
import type { Shutdown } from "../Shutdown.js"
import * as SpawnServer from "../SpawnServer.js"
import { makeAuditLog } from "./AuditLog.js"
import { checkCredentialVar, loadCredentials } from "./Credentials.js"
import { signalExitCode } from "./ExitCode.js"
import { startGateway } from "./GatewayRun.js"
import { readItems } from "./Items.js"
import { type JournalFor, readStatus } from "./JournalAccess.js"
import { clearProgress, drawProgress, emptyProgress, foldProgress, makePoolNarrator, runMessage } from "./Reporter.js"
import { makeLayout, makeSafeDirectory, prepareStateDir, resolveStateDir } from "./RunLayout.js"
import { renderSummary } from "./SummaryReport.js"
import { UsageError } from "./UsageError.js"

/** Everything `agentos-parallel run` was asked to do, parsed. */
export interface RunConfig {
  readonly itemsFile: Option.Option<string>
  readonly items: ReadonlyArray<string>
  readonly parallel: number
  readonly maxParallel: Option.Option<number>
  readonly dryRun: boolean
  readonly credentialsFile: Option.Option<string>
  readonly credentialsEnv: Option.Option<string>
  readonly credentialVar: string
  readonly perCredential: number
  /** `--per-credential` as given: with `--gateway`, requests in flight per key (none: no bound). */
  readonly gatewayPerCredential?: Option.Option<number> | undefined
  /** `--gateway` values: `[openai=|anthropic=]URL`. */
  readonly gateway?: ReadonlyArray<string> | undefined
  /** `--gateway-max-wait` */
  readonly gatewayMaxWait?: Duration.Duration | undefined
  readonly backoff: Duration.Duration
  readonly retries: number
  readonly timeout: Option.Option<Duration.Duration>
  readonly grace: Duration.Duration
  readonly stateDir: Option.Option<string>
  readonly name: Option.Option<string>
  readonly fresh: boolean
  readonly json: boolean
  readonly command: ReadonlyArray<string>
  /** `--item ""` given on the command line (the parser drops them; they are reported as invalid). */
  readonly emptyItems: number
}

/** The run's default identity: the command's base name and a hash of the template and item source. */
export const deriveRunName = (command: ReadonlyArray<string>, itemsSource: string): string => {
  const executable = command[0]?.split(/[\\/]/).pop() ?? "run"
  const base = executable.replace(/[^A-Za-z0-9_-]+/g, "-").replace(/^-+|-+$/g, "").slice(0, 48) || "run"
  const hash = createHash("sha256").update(JSON.stringify([command, itemsSource])).digest("hex").slice(0, 10)
  return `${base}-${hash}`
}

const itemsSourceOf = (config: RunConfig, path: Path.Path) =>
  JSON.stringify([
    Option.match(config.itemsFile, { onNone: () => null, onSome: (f) => (f === "-" ? "stdin" : path.resolve(f)) }),
    config.items
  ])

/**
 * `agentos-parallel run`: returns the process exit code (0, 1, 129, 130, 143), or fails with a usage
 * or journal error (exit 2).
 */
export const runCommand = (config: RunConfig, shutdown: Shutdown, journalFor: JournalFor): Effect.Effect<
  number,
  UsageError | JournalError,
  FileSystem.FileSystem | Path.Path | CommandExecutor.CommandExecutor | Output | ParallelCoordinator
> =>
  Effect.scoped(Effect.gen(function*() {
    const output = yield* Output
    const fs = yield* FileSystem.FileSystem
    const path = yield* Path.Path

    // A signal while the items are read (a FIFO with no writer blocks) ends the run before it starts.
    const read = yield* Effect.raceFirst(
      Effect.map(readItems(config.itemsFile, [...config.items, ...Array(config.emptyItems).fill("")]), Option.some),
      Effect.as(shutdown.requested, Option.none())
    )
    if (Option.isNone(read)) return Option.getOrUndefined(yield* shutdown.reason) === "SIGTERM" ? 143 : 130
    const checked = read.value
    if (checked.invalidCount > 0) {
      const more = checked.invalidCount - checked.invalid.length
      yield* output.lines(
        "stderr",
        [
          ...checked.invalid.map(({ error, origin }) => `[COORDINATOR] ${origin}: ${error.message} (${error.reason})`),
          ...(more > 0 ? [`[COORDINATOR] ... and ${more} more invalid id${more === 1 ? "" : "s"}`] : [])
        ]
      )
      return yield* new UsageError({
        detail: `${checked.invalidCount} invalid id${checked.invalidCount === 1 ? "" : "s"}; nothing ran`
      })
    }
    if (checked.ids.length === 0) {
      return yield* new UsageError({
        detail: "expected at least one item (--items FILE, --items - for stdin, or --item ID), received none"
      })
    }
    // The children's spawn server boots while the run is set up.
    if (!config.dryRun) yield* SpawnServer.prestart
    for (const duplicate of checked.duplicates) {
      yield* output.coordinator(`${duplicate.origin}: duplicate id ${duplicate.raw} ignored (it runs once)`)
    }

    const runId = Option.isSome(config.name)
      ? yield* sanitizeIdentifier(config.name.value).pipe(
        Effect.mapError((e) => new UsageError({ detail: `--name: ${e.message}` }))
      )
      : deriveRunName(config.command, itemsSourceOf(config, path))
    const stateDir = yield* resolveStateDir(Option.getOrUndefined(config.stateDir))
    const credentials = yield* loadCredentials(config.credentialsFile, config.credentialsEnv)
    yield* checkCredentialVar(config.credentialVar)
    const mask = makeSecretMask(credentials.map((c, i) => ({ label: c.label ?? `key-${i + 1}`, secret: c.secret })))

    if (config.dryRun) {
      // A dry run reads the journal if there is one, and creates nothing.
      const status = config.fresh ? Option.none() : yield* readStatus(journalFor, stateDir, Option.some(runId))
      const done = new Set(
        Option.match(status, {
          onNone: () => [],
          onSome: (s) => s.items.filter((i) => i.status === "succeeded").map((i) => i.id)
        })
      )
      yield* output.lines("stdout", checked.ids.filter((id) => !done.has(id)))
      return 0
    }

    yield* prepareStateDir(stateDir)
    const journal = yield* journalFor(stateDir)
    // A run another live runner holds is refused before anything is created; the journal's lock,
    // taken when the run opens, still settles any race between two runners starting together.
    const current = yield* journal.status(Option.some(runId))
    if (Option.isSome(current) && current.value.active) {
      return yield* new JournalError({
        reason: "RunLocked",
        detail: `run ${runId} is being run by another runner${
          Option.match(current.value.holder, { onNone: () => "", onSome: (h) => ` (pid ${h.pid} on ${h.host})` })
        }; nothing ran. Wait for it to finish or stop it, then run again.`
      })
    }
    const startedAt = new Date()
    const layout = yield* makeLayout(stateDir, runId, startedAt)
    yield* makeSafeDirectory(stateDir, layout.checkpointDir, { empty: config.fresh })
    yield* makeSafeDirectory(stateDir, layout.logDir)

    const gatewayRun = yield* startGateway(
      {
        gateway: config.gateway ?? [],
        gatewayMaxWait: config.gatewayMaxWait ?? Duration.minutes(10),
        gatewayPerCredential: config.gatewayPerCredential ?? Option.none(),
        backoff: config.backoff
      },
      credentials,
      output
    )
    // With a gateway, items hold no key: the gateway leases one per request.
    const pool: Option.Option<CredentialPoolShape> = credentials.length === 0 || Option.isSome(gatewayRun)
      ? Option.none()
      : Option.some(
        yield* CredentialPool.make({
          credentials,
          perCredential: config.perCredential,
          backoff: config.backoff
        })
      )

    const coordinator = yield* ParallelCoordinator
    const events = yield* coordinator.subscribe
    const progress = emptyProgress()
    const audit = yield* makeAuditLog(layout, mask.apply)
    const consumeRunEvents = Effect.gen(function*() {
      while (true) {
        const event = yield* Queue.take(events)
        yield* audit(event)
        foldProgress(progress, event)
        const message = runMessage(event)
        if (Option.isSome(message)) yield* output.coordinator(message.value)
        if (output.interactive) yield* drawProgress(progress, pool)
        if (event._tag === "RunFinished") return
      }
    })
    const runConsumer = yield* Effect.fork(consumeRunEvents)
    if (Option.isSome(pool)) {
      const poolEvents = yield* pool.value.subscribe
      const narrate = makePoolNarrator(pool.value.labels.length)
      yield* Effect.forkScoped(Effect.forever(Effect.gen(function*() {
        const event = yield* Queue.take(poolEvents)
        const message = narrate(event, Date.now())
        if (Option.isSome(message)) yield* output.coordinator(message.value)
        yield* drawProgress(progress, pool)
      })))
    }
    if (output.interactive) {
      yield* Effect.forkScoped(Effect.repeat(drawProgress(progress, pool), Schedule.spaced("1 second")))
    }

    const processes = processWorkflow({
      command: config.command,
      checkpointDir: layout.checkpointDir,
      logDir: layout.logDir,
      credentialVar: config.credentialVar,
      withheldVars: Option.toArray(config.credentialsEnv),
      grace: config.grace,
      stdoutChannel: config.json ? "stderr" : "stdout",
      mask: mask.active ? mask.apply : undefined,
      onSpawn: (id, attempt, pid) => Effect.ignore(journal.attemptProcess(runId, id, attempt, pid)),
      extraEnv: Option.isSome(gatewayRun)
        ? (context) => gatewayRun.value.gateway.childEnv(context, [config.credentialVar])
        : undefined
    })
    const workflow = Option.isSome(gatewayRun) ? gatewayRun.value.wrap(processes) : processes

    const run = coordinator.run(checked.ids, workflow, {
      concurrency: config.parallel,
      maxParallel: Option.getOrUndefined(config.maxParallel),
      retries: config.retries,
      timeout: Option.getOrUndefined(config.timeout),
      grace: config.grace,
      shutdown,
      runId,
      description: `${config.command.join(" ")}`,
      fresh: config.fresh,
      backoff: config.backoff
    }).pipe(Effect.provideService(RunJournal, journal))
    const finished = yield* (Option.isSome(pool) ? Effect.provideService(run, CredentialPool, pool.value) : run).pipe(
      Effect.tapError(() => Fiber.interrupt(runConsumer))
    )
    yield* Fiber.join(runConsumer)
    yield* clearProgress
    const summary = Option.isSome(gatewayRun) ? yield* gatewayRun.value.summarize(finished) : finished

    const encoded = {
      ...Schema.encodeSync(RunSummary)(summary),
      stateDir: layout.stateDir,
      logDir: layout.logDir
    }
    const json = mask.apply(JSON.stringify(encoded, null, 2))
    // Written whole or not at all: a runner killed meanwhile leaves no half summary.
    const temporary = `${layout.summary}.${process.pid}.tmp`
    yield* Effect.ignore(Effect.zipRight(
      fs.writeFileString(temporary, json + "\n", { flag: "wx", mode: 0o600 }),
      fs.rename(temporary, layout.summary)
    ))
    yield* output.lines(
      "stderr",
      renderSummary(summary, { logDir: layout.logDir, color: output.color }).map(mask.apply)
    )
    if (config.json) yield* output.lines("stdout", [json])

    if (summary.interrupted) {
      const reason = yield* shutdown.reason
      yield* output.coordinator(
        `Stopped: ${summary.stats.interrupted} item(s) interrupted; run the same command again to resume`
      )
      return signalExitCode(Option.getOrUndefined(reason))
    }
    return summary.stats.failed > 0 ? 1 : 0
  }))
