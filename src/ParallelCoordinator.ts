/**
 * Runs a workflow once per item, several at a time, each on its own credential when a pool is
 * provided; isolates failures, retries, times out, and shuts down gracefully.
 *
 * @since 0.1.0
 */
import * as Cause from "effect/Cause"
import * as Context from "effect/Context"
import * as Data from "effect/Data"
import * as DateTime from "effect/DateTime"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as PubSub from "effect/PubSub"
import type * as Queue from "effect/Queue"
import * as Schedule from "effect/Schedule"
import type * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import { randomUUID } from "node:crypto"
import {
  type Credential,
  CredentialPool,
  type CredentialPoolShape,
  type LeaseHolder,
  leaseStepsOf
} from "./CredentialPool.js"
import { sanitizeIdentifier, validatePathComponent, type WorkflowId } from "./Identifier.js"
import { forEachStream } from "./internal/forEachStream.js"
import { clampCooldownMillis, keepAlive, MAX_COOLDOWN_MILLIS, MAX_TIMER_MILLIS, sleepLong } from "./internal/timers.js"
import { Output } from "./Output.js"
import { ProgressStats } from "./ProgressStats.js"
import { isRateLimited, RateLimited } from "./RateLimited.js"
import { type JournalError, type OpenedRun, RunJournal, type RunJournalShape } from "./RunJournal.js"
import { CredentialUse, RunSummary } from "./RunSummary.js"
import * as Shutdown from "./Shutdown.js"
import { CoordinatorEvent, type RunOptions, type Workflow, type WorkflowContext } from "./Workflow.js"
import { type ItemStatus, WorkflowResult } from "./WorkflowResult.js"

/** A field of an error object, if it has one. */
const fieldOf = (error: unknown, name: string): unknown =>
  typeof error === "object" && error !== null ? (error as Record<string, unknown>)[name] : undefined

/**
 * @since 0.1.0
 * @category models
 */
export interface ParallelCoordinatorShape {
  /**
   * Runs `workflow` for every item and returns the summary. One item's failure never stops the
   * others. Interrupting the returned effect starts a graceful shutdown and waits for it. Fails
   * only when the item stream fails, or when a provided `RunJournal` cannot open the run (for
   * example because another runner holds it).
   */
  readonly run: <E, R, EI = never, RI = never>(
    items: Iterable<string> | Stream.Stream<string, EI, RI>,
    workflow: Workflow<E, R>,
    options?: RunOptions
  ) => Effect.Effect<RunSummary, EI | JournalError, R | RI>
  /** Subscribes to events for the life of the scope. */
  readonly subscribe: Effect.Effect<Queue.Dequeue<CoordinatorEvent>, never, Scope.Scope>
  /** The events as a stream (subscribes when the stream starts). */
  readonly events: Stream.Stream<CoordinatorEvent>
}

/** The end of a start cut short by a shutdown: the item is reported `interrupted`. */
class Stopped extends Data.TaggedError("Stopped")<{}> {}

class TimedOut extends Data.TaggedError("TimedOut")<{ readonly after: Duration.Duration }> {
  override get message() {
    return `timed out after ${Duration.format(this.after)}`
  }
}

// Results are built from values the coordinator made itself, so their Schema validation is
// skipped (`new WorkflowResult(props, true)`): it would cost more than the no-op items it wraps.
const DEFAULT_CONCURRENCY = 3
const DEFAULT_MAX_PARALLEL = 10
const MAX_RATE_LIMIT_RESTARTS = 20

/** One item's progress through its starts, within a run. */
class ItemRun implements LeaseHolder {
  /** Starts so far, earlier runs of the same name included. */
  starts: number
  rateLimits = 0
  /** When the last start ended (or the item began), for the time spent waiting between starts. */
  lastEnd: bigint
  readonly labels: Array<string> = []
  /** When the running start began; cleared once its time is counted. */
  begun: bigint | undefined = undefined
  /** A start is running or has succeeded: a shutdown leaves the item its grace, not a retry wait. */
  keepsGrace = false
  /** The credential this item holds, when it was leased without `withCredential`. */
  leased: number | undefined = undefined
  failures = 0
  recorded = false
  constructor(readonly id: WorkflowId, readonly index: number, starts: number, readonly slotStart: bigint) {
    this.starts = starts
    this.lastEnd = slotStart
  }
}

const describeCause = (cause: Cause.Cause<unknown>): string =>
  Option.match(Cause.failureOption(cause), {
    onSome: (error) =>
      error instanceof Error || (typeof error === "object" && error !== null && "message" in error)
        ? String((error as { message: unknown }).message)
        : String(error),
    onNone: () => Cause.pretty(cause).split("\n")[0] ?? "defect"
  })

const wholeNumber = (name: string, value: number | undefined, fallback: number, min: number) => {
  const n = value ?? fallback
  return Number.isInteger(n) && n >= min
    ? Effect.succeed(n)
    : Effect.dieMessage(
      `ParallelCoordinator: ${name} must be a whole number of at least ${min}, received ${String(value)}`
    )
}

const isStream = <EI, RI>(
  items: Iterable<string> | Stream.Stream<string, EI, RI>
): items is Stream.Stream<string, EI, RI> => typeof items === "object" && items !== null && Stream.StreamTypeId in items

const labelOf = (credential: Option.Option<Credential>) => Option.map(credential, (c) => c.label)

const nanosToMillis = (nanos: bigint) => Number(nanos) / 1e6

/**
 * Builds a coordinator.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make: Effect.Effect<ParallelCoordinatorShape, never, Output> = Effect.gen(function*() {
  const output = yield* Output
  const events = yield* PubSub.unbounded<CoordinatorEvent>()
  // Events are built and published only while someone listens: a run of a million items with
  // nobody subscribed pays nothing for them.
  let subscribers = 0
  const publish = (event: () => CoordinatorEvent) =>
    subscribers === 0 ? Effect.void : Effect.suspend(() => PubSub.publish(events, event()))
  const subscribe = Effect.zipRight(
    Effect.acquireRelease(Effect.sync(() => subscribers++), () => Effect.sync(() => subscribers--)),
    PubSub.subscribe(events)
  )

  const runInner = <E, R, EI, RI>(
    items: Iterable<string> | Stream.Stream<string, EI, RI>,
    workflow: Workflow<E, R>,
    options: RunOptions,
    shutdown: Shutdown.Shutdown
  ): Effect.Effect<RunSummary, EI | JournalError, R | RI> =>
    Effect.gen(function*() {
      const requested = yield* wholeNumber("concurrency", options.concurrency, DEFAULT_CONCURRENCY, 1)
      const cap = yield* wholeNumber("maxParallel", options.maxParallel, DEFAULT_MAX_PARALLEL, 1)
      const retries = yield* wholeNumber("retries", options.retries, 0, 0)
      const concurrency = Math.min(requested, cap)
      if (requested > cap) {
        yield* output.coordinator(
          `Warning: requested parallelism ${requested} exceeds the cap of ${cap}; running ${cap} at a time (raise the cap with --max-parallel)`
        )
      }
      const grace = Duration.decode(options.grace ?? "5 seconds")
      const timeout = options.timeout === undefined ? undefined : Duration.decode(options.timeout)
      const backoff = Duration.decode(options.backoff ?? "60 seconds")
      const keepResults = options.keepResults ?? true
      const pool: CredentialPoolShape | undefined = Option.getOrUndefined(yield* Effect.serviceOption(CredentialPool))
      const journalService: Option.Option<RunJournalShape> = yield* Effect.serviceOption(RunJournal)
      const runId = options.runId ?? `run-${Date.now().toString(36)}-${randomUUID().slice(0, 8)}`
      const materialized = isStream(items) ? undefined : Array.from(items)
      const opened: Option.Option<OpenedRun> = yield* Option.match(journalService, {
        onNone: () => Effect.succeedNone,
        onSome: (journal) =>
          Effect.map(
            journal.open({
              runId,
              description: options.description ?? runId,
              fresh: options.fresh ?? false,
              items: materialized
            }),
            Option.some
          )
      })
      const journal = Option.getOrUndefined(journalService)
      const journaled = <A>(f: (j: RunJournalShape) => Effect.Effect<A, unknown>) =>
        journal === undefined ? Effect.void : Effect.orDie(Effect.asVoid(f(journal)))
      const previous = Option.match(opened, { onNone: () => new Map(), onSome: (run) => run.items })

      // Whatever wait is left without a timer, the process does not end before the run does.
      yield* keepAlive
      const startedAt = yield* DateTime.now
      const clock = yield* Effect.clock
      const nowNanos = () => clock.unsafeCurrentTimeNanos()
      const runStart = nowNanos()
      let stopping = false
      const counters = { total: 0, completed: 0, succeeded: 0, failed: 0, interrupted: 0, skipped: 0, running: 0 }
      const timing = { slotMillis: 0, workMillis: 0, waitMillis: 0 }
      const results: Array<WorkflowResult> = []
      const finished = materialized === undefined ? undefined : new Uint8Array(materialized.length)
      if (materialized !== undefined) counters.total = materialized.length

      // Results are built only when something keeps or hears of them: counters are enough otherwise.
      const wantsResults = () => keepResults || journal !== undefined || subscribers > 0
      /** Counts an item's end; `result` is called only when the result is wanted. Call lazily. */
      const record = (index: number, status: ItemStatus, result: () => WorkflowResult): Effect.Effect<void> => {
        if (finished !== undefined) finished[index] = 1
        counters.completed++
        counters[status]++
        if (!wantsResults()) return Effect.void
        const built = result()
        if (keepResults) {
          if (finished === undefined) results.push(built)
          else results[index] = built
        }
        const announce = publish(() => CoordinatorEvent.ItemFinished({ result: built }))
        return journal === undefined
          ? announce
          : Effect.zipRight(journaled((j) => j.itemFinished(runId, built)), announce)
      }
      const recordUnstarted = (rawId: string, index: number, status: ItemStatus, error?: string) =>
        record(index, status, () =>
          new WorkflowResult({
            id: rawId,
            status,
            attempts: 0,
            rateLimits: 0,
            duration: Duration.zero,
            credentialLabels: [],
            ...(error === undefined ? {} : { error })
          }, true))

      /**
       * Counts the items a shutdown kept from starting, in one pass: no journal write (the journal
       * has them `pending` since the run opened, and a rerun runs them) and no event (nothing to
       * audit: they never started), so the shutdown takes no longer for a million of them.
       */
      const recordNeverStarted = (ids: ReadonlyArray<string>, done: Uint8Array) => {
        for (let index = 0; index < ids.length; index++) {
          if (done[index] !== 0) continue
          done[index] = 1
          counters.completed++
          counters.interrupted++
          if (keepResults) {
            results[index] = new WorkflowResult({
              id: ids[index]!,
              status: "interrupted",
              attempts: 0,
              rateLimits: 0,
              duration: Duration.zero,
              credentialLabels: [],
              error: "not started: shutting down"
            }, true)
          }
        }
      }

      // Items started and not yet recorded. An item stopped by interrupting the dispatch runs no
      // handler of its own: the sweep after the dispatch records these as interrupted.
      const inFlight = new Map<number, ItemRun>()
      const steps = pool === undefined ? undefined : leaseStepsOf(pool)

      /** Records an item's end, giving back the credential it may still hold (after an interruption). */
      const finish = (item: ItemRun, status: ItemStatus, error: string | undefined): Effect.Effect<void> => {
        if (item.recorded) return Effect.void
        item.recorded = true
        inFlight.delete(item.index)
        counters.running--
        const now = nowNanos()
        if (item.begun !== undefined) timing.workMillis += nanosToMillis(now - item.begun)
        const slotMillis = nanosToMillis(now - item.slotStart)
        timing.slotMillis += slotMillis
        const recorded = record(item.index, status, () =>
          new WorkflowResult({
            id: item.id,
            status,
            attempts: item.starts,
            rateLimits: item.rateLimits,
            duration: Duration.millis(slotMillis),
            credentialLabels: item.labels,
            ...(error === undefined ? {} : { error })
          }, true))
        return item.leased !== undefined && steps !== undefined
          ? Effect.zipRight(steps.release(item), recorded)
          : recorded
      }

      /** Bookkeeping at the end of one start; the journal hears of every outcome. */
      const attemptEnded = (
        item: ItemRun,
        attempt: number,
        credential: Option.Option<Credential>,
        exit: Exit.Exit<unknown, unknown>
      ): Effect.Effect<void> => {
        if (Exit.isFailure(exit)) item.keepsGrace = false
        const ended = nowNanos()
        if (item.begun !== undefined) timing.workMillis += nanosToMillis(ended - item.begun)
        item.lastEnd = ended
        item.begun = undefined
        // The common case, a success with no journal, needs nothing more.
        if (Exit.isSuccess(exit) && journal === undefined) return Effect.void
        const failure = Exit.isFailure(exit) ? Cause.failureOption(exit.cause) : Option.none()
        const limitedBy = Option.filter(failure, isRateLimited)
        if (Option.isSome(limitedBy)) item.rateLimits++
        const announce = Option.isNone(limitedBy) ? Effect.void : publish(() =>
          CoordinatorEvent.ItemRateLimited({
            id: item.id,
            attempt,
            label: labelOf(credential),
            retryAfter: Option.fromNullable(limitedBy.value.retryAfter)
          })
        )
        return Effect.zipRight(
          announce,
          journaled((j) =>
            j.attemptFinished(runId, {
              id: item.id,
              attempt,
              outcome: Exit.isSuccess(exit)
                ? "succeeded"
                : Option.isSome(limitedBy)
                ? "rate-limited"
                : Exit.isInterrupted(exit) || stopping
                ? "interrupted"
                : "failed",
              error: Exit.isFailure(exit) ? Option.some(describeCause(exit.cause)) : Option.none(),
              // A process workflow's failure (ProcessFailed) says how the child ended.
              exitCode: Option.filter(
                Option.flatMap(failure, (e) => Option.fromNullable(fieldOf(e, "exitCode"))),
                (v): v is number => typeof v === "number"
              ),
              signal: Option.filter(
                Option.flatMap(failure, (e) => Option.fromNullable(fieldOf(e, "signal"))),
                (v): v is string => typeof v === "string"
              ),
              at: Date.now()
            })
          )
        )
      }

      /** One start of an item's workflow, begun when this is called: call it when the start runs. */
      const startNow = (
        item: ItemRun,
        credential: Option.Option<Credential>
      ): Effect.Effect<unknown, E | Stopped | TimedOut, R> => {
        if (stopping) return Effect.fail(new Stopped())
        const id = item.id
        const attempt = ++item.starts
        if (Option.isSome(credential)) item.labels.push(credential.value.label)
        const begun = nowNanos()
        timing.waitMillis += nanosToMillis(begun - item.lastEnd)
        const context: WorkflowContext = {
          id,
          attempt,
          credential,
          runId,
          stopping: shutdown.requested,
          forced: shutdown.forced
        }
        item.keepsGrace = true
        item.begun = begun
        const body = timeout === undefined
          ? workflow(context)
          : Duration.toMillis(timeout) <= MAX_TIMER_MILLIS
          ? Effect.timeoutFail(workflow(context), {
            duration: timeout,
            onTimeout: () => new TimedOut({ after: timeout })
          })
          : Effect.raceFirst(workflow(context), Effect.zipRight(sleepLong(timeout), new TimedOut({ after: timeout })))
        // The journal must hear of every end, an interrupted one too, which only `onExit`
        // guarantees. Without it, a failed start is counted here and a successful one (the item's
        // last) by `finish`.
        const watched: Effect.Effect<unknown, E | TimedOut, R> = journal === undefined
          ? Effect.catchAllCause(body, (cause) =>
            Effect.zipRight(attemptEnded(item, attempt, credential, Exit.failCause(cause)), Effect.failCause(cause)))
          : Effect.onExit(body, (exit) =>
            attemptEnded(item, attempt, credential, exit))
        if (journal === undefined && subscribers === 0) {
          return watched
        }
        const announced = publish(() =>
          CoordinatorEvent.ItemStarted({ id, attempt, label: labelOf(credential) })
        )
        const before = journal === undefined
          ? announced
          : Effect.zipRight(
            journaled((j) => j.attemptStarted(runId, { id, attempt, label: labelOf(credential), at: Date.now() })),
            announced
          )
        return Effect.zipRight(before, watched)
      }
      const startItem = (item: ItemRun, credential: Option.Option<Credential>) =>
        Effect.suspend(() => startNow(item, credential))

      const withoutPool = (
        item: ItemRun,
        restarts: number
      ): Effect.Effect<unknown, E | Stopped | TimedOut | RateLimited, R> =>
        Effect.catchIf(
          startItem(item, Option.none()),
          (e): e is Extract<E, RateLimited> => isRateLimited(e) && restarts < MAX_RATE_LIMIT_RESTARTS,
          (e) =>
            Effect.zipRight(
              Effect.raceFirst(
                Effect.sleep(Duration.millis(clampCooldownMillis(Duration.toMillis(e.retryAfter ?? backoff)))),
                Effect.zipRight(shutdown.requested, new Stopped())
              ),
              withoutPool(item, restarts + 1)
            )
        )

      // A shutdown ends at once a wait for a credential; a workflow already running keeps its grace.
      const credentialOptions = { stopWaitingWhen: shutdown.requested }
      const startWith = (item: ItemRun) => (credential: Credential) => startNow(item, Option.some(credential))
      // A credential free at once is leased without an uninterruptible region of its own: the item
      // holds it, and if it is interrupted before giving it back, `finish` does. Waiting for one,
      // and restarts after a 429, go through `withCredential`.
      const onCredential = (item: ItemRun): Effect.Effect<unknown, unknown, R> =>
        steps === undefined
          ? pool!.withCredential(startWith(item), credentialOptions)
          : Effect.flatMap(steps.tryLease(item), (leased) =>
            leased
              ? Effect.matchCauseEffect(startNow(item, Option.some(steps.credentials[item.leased!]!)), {
                onSuccess: () => steps.release(item),
                onFailure: (cause): Effect.Effect<unknown, unknown, R> => {
                  const limited = Option.filter(Cause.failureOption(cause), isRateLimited)
                  return Option.isNone(limited)
                    ? Effect.zipRight(steps.release(item), Effect.failCause(cause))
                    : Effect.zipRight(
                      steps.releaseRateLimited(item, limited.value.retryAfter),
                      steps.restartAfterFirstRateLimit(startWith(item), credentialOptions)
                    )
                }
              })
              : pool!.withCredential(startWith(item), credentialOptions))
      const once = (item: ItemRun): Effect.Effect<unknown, unknown, R> =>
        pool === undefined ? withoutPool(item, 0) : onCredential(item)

      const retryPolicy = (item: ItemRun) =>
        Schedule.exponential(options.retryDelay ?? "1 second").pipe(
          Schedule.jittered,
          // Whole milliseconds: a fractional delay moves a TestClock to an instant where
          // Clock.currentTimeNanos throws (BigInt of a fraction).
          // and at most a day, or a long series of retries would outgrow Node's timers.
          Schedule.modifyDelay((_, delay) =>
            Duration.millis(Math.min(MAX_COOLDOWN_MILLIS, Math.round(Duration.toMillis(delay))))
          ),
          Schedule.whileInput((error: unknown) => willRetry(item, error))
        )
      const willRetry = (item: ItemRun, error: unknown) =>
        item.failures <= retries && !stopping && !(error instanceof Stopped)

      /** Every start of an item, failed ones retried with backoff when `retries` allows. */
      const attempts = (item: ItemRun): Effect.Effect<void, unknown, R> => {
        if (retries === 0) return once(item)
        // A shutdown also ends a retry backoff at once (not a running workflow).
        const stopWhileWaiting = Effect.zipRight(
          shutdown.requested,
          Effect.suspend(() => (item.keepsGrace ? Effect.never : Effect.fail(new Stopped())))
        )
        return once(item).pipe(
          Effect.tapError((error) => {
            item.failures++
            return willRetry(item, error)
              ? publish(() =>
                CoordinatorEvent.ItemRetrying({
                  id: item.id,
                  attempt: item.starts + 1,
                  error: describeCause(Cause.fail(error))
                })
              )
              : Effect.void
          }),
          Effect.retry(retryPolicy(item)),
          (retried) => Effect.raceFirst(retried, stopWhileWaiting)
        )
      }

      const runItem = (rawId: string, index: number): Effect.Effect<void, never, R> =>
        Effect.suspend((): Effect.Effect<void, never, R> => {
          if (materialized === undefined) counters.total++
          if (!validatePathComponent(rawId)) {
            // Same rule as validatePathComponent: this only ever fails, with the reason.
            return Effect.matchEffect(sanitizeIdentifier(rawId), {
              onFailure: (error) => recordUnstarted(rawId, index, "failed", error.message),
              onSuccess: () => Effect.void
            })
          }
          const id = rawId as WorkflowId
          const earlier = previous.get(id)
          if (earlier?.status === "succeeded") return recordUnstarted(rawId, index, "skipped")
          // Left to the sweep after the dispatch, which counts every never-started item at once.
          if (stopping && finished !== undefined) return Effect.void
          if (stopping) return recordUnstarted(rawId, index, "interrupted", "not started: shutting down")
          // Attempt numbers go on from earlier runs of the same name.
          const item = new ItemRun(id, index, earlier?.attempts ?? 0, nowNanos())
          counters.running++
          inFlight.set(index, item)
          return Effect.matchCauseEffect(attempts(item), {
            onSuccess: () => finish(item, "succeeded", undefined),
            onFailure: (cause) => {
              const stoppedByShutdown = stopping ||
                Option.exists(Cause.failureOption(cause), (e) => e instanceof Stopped) ||
                Cause.isInterruptedOnly(cause)
              return stoppedByShutdown
                ? finish(item, "interrupted", "stopped by shutdown")
                : finish(item, "failed", describeCause(cause))
            }
          })
        })

      yield* publish(() =>
        CoordinatorEvent.RunStarted({
          runId,
          concurrency,
          total: materialized === undefined ? Option.none() : Option.some(materialized.length),
          alreadySucceeded: [...previous.values()].filter((item) => item.status === "succeeded").length,
          recovered: Option.match(opened, { onNone: () => [], onSome: (run) => run.recovered.map((item) => item.id) })
        })
      )

      const dispatch: Effect.Effect<void, EI, R | RI> = materialized !== undefined
        ? Effect.forEach(materialized, runItem, { concurrency, discard: true })
        : forEachStream(items as Stream.Stream<string, EI, RI>, runItem, concurrency)

      const dispatcher = yield* Effect.fork(dispatch)
      const gracefulStop = Effect.gen(function*() {
        stopping = true
        yield* publish(() => CoordinatorEvent.ShutdownStarted({ running: counters.running, grace }))
        const forced = Effect.zipRight(shutdown.forced, publish(() => CoordinatorEvent.ShutdownForced()))
        yield* Effect.raceFirst(Effect.raceFirst(Fiber.await(dispatcher), sleepLong(grace)), forced)
        if (counters.running > 0) yield* publish(() => CoordinatorEvent.ShutdownStopping({ running: counters.running }))
        yield* Effect.uninterruptible(Fiber.interrupt(dispatcher))
      })
      const dispatchExit = yield* Effect.raceFirst(
        Fiber.await(dispatcher),
        Effect.zipRight(shutdown.requested, Effect.zipRight(gracefulStop, Fiber.await(dispatcher)))
      )
      if (Exit.isFailure(dispatchExit) && !Cause.isInterruptedOnly(dispatchExit.cause)) {
        return yield* Effect.failCause(dispatchExit.cause)
      }

      for (const item of [...inFlight.values()]) yield* finish(item, "interrupted", "stopped by shutdown")
      if (materialized !== undefined && finished !== undefined) recordNeverStarted(materialized, finished)

      const usage = pool === undefined ? [] : yield* pool.usage
      const runEnd = nowNanos()
      const summary = new RunSummary({
        runId,
        stats: new ProgressStats({ ...counters, running: 0 }),
        results: keepResults ? results.filter((r) => r !== undefined) : [],
        credentials: usage.map((u) =>
          new CredentialUse({
            label: u.label,
            leases: u.leases,
            rateLimits: u.rateLimits,
            cooling: Duration.millis(u.coolingMillis)
          })
        ),
        startedAt,
        duration: Duration.millis(nanosToMillis(runEnd - runStart)),
        interrupted: stopping,
        overhead: timing.slotMillis > 0
          ? Math.max(0, timing.slotMillis - timing.workMillis - timing.waitMillis) / timing.slotMillis
          : 0
      })
      yield* journaled((j) => j.runFinished(runId, summary))
      yield* publish(() => CoordinatorEvent.RunFinished({ summary }))
      return summary
    }).pipe(Effect.scoped)

  const run = <E, R, EI = never, RI = never>(
    items: Iterable<string> | Stream.Stream<string, EI, RI>,
    workflow: Workflow<E, R>,
    options?: RunOptions
  ): Effect.Effect<RunSummary, EI | JournalError, R | RI> =>
    Effect.gen(function*() {
      const shutdown = options?.shutdown ?? (yield* Shutdown.make)
      const fiber = yield* Effect.forkDaemon(runInner(items, workflow, options ?? {}, shutdown))
      return yield* Fiber.join(fiber).pipe(
        Effect.onInterrupt(() => Effect.zipRight(shutdown.requestGraceful("interrupted"), Fiber.await(fiber)))
      )
    })

  return {
    run,
    subscribe,
    events: Stream.unwrapScoped(Effect.map(subscribe, (queue) => Stream.fromQueue(queue)))
  } satisfies ParallelCoordinatorShape
})

/**
 * The coordinator service.
 *
 * @since 0.1.0
 * @category tags
 */
export class ParallelCoordinator extends Context.Tag("agentos-parallel/ParallelCoordinator")<
  ParallelCoordinator,
  ParallelCoordinatorShape
>() {
  /**
   * The coordinator, writing its warnings to the provided `Output`.
   *
   * @since 0.1.0
   */
  static readonly layer: Layer.Layer<ParallelCoordinator, never, Output> = Layer.effect(ParallelCoordinator, make)

  /**
   * The coordinator with console output.
   *
   * @since 0.1.0
   */
  static readonly Default: Layer.Layer<ParallelCoordinator> = ParallelCoordinator.layer.pipe(
    Layer.provide(Output.layerConsole)
  )
}
