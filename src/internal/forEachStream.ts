import * as Effect from "effect/Effect"
import * as Queue from "effect/Queue"
import * as Stream from "effect/Stream"

/**
 * `Effect.forEach` for a `Stream`: runs `f` on every element with at most `concurrency` at once.
 * Elements are pulled into a small bounded queue that `concurrency` worker fibers drain, so memory
 * stays flat however many elements pass and each costs little more than `f` itself
 * (`Stream.mapEffect` with `unordered` cost far more per element here). `f` must not fail; the
 * stream's own failure ends the whole.
 */
export const forEachStream = <A, EI, RI, R>(
  stream: Stream.Stream<A, EI, RI>,
  f: (element: A, index: number) => Effect.Effect<void, never, R>,
  concurrency: number
): Effect.Effect<void, EI, R | RI> =>
  Effect.gen(function*() {
    const queue = yield* Queue.bounded<readonly [A, number] | undefined>(concurrency * 2)
    // One `undefined` per worker after the last element tells the workers to stop.
    const feed = Stream.runForEach(Stream.zipWithIndex(stream), (entry) => Queue.offer(queue, entry)).pipe(
      Effect.zipRight(Queue.offerAll(queue, Array.from({ length: concurrency }, () => undefined)))
    )
    const worker: Effect.Effect<void, never, R> = Effect.flatMap(
      Queue.take(queue),
      (entry) => (entry === undefined ? Effect.void : Effect.zipRight(f(entry[0], entry[1]), worker))
    )
    yield* Effect.all([
      feed,
      Effect.all(Array.from({ length: concurrency }, () => worker), { concurrency: "unbounded", discard: true })
    ], { concurrency: 2, discard: true })
  })
