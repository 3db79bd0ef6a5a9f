/**
 * Memory benchmark: a million items as a `Stream` through the coordinator, in a process of its own.
 *
 *   npm run build
 *   npx esbuild bench/memory.ts --bundle --platform=node --format=esm --packages=external --outfile=bench/results/memory.mjs
 *   node bench/results/memory.mjs [--items 1000000] [--variant coordinator|raw-stream|workers] [--label name]
 *
 * Run it as plain node (bundled as above), not through tsx: tsx's loader thread alone adds about
 * 65 MB of RSS here. The library is loaded from `dist/index.js` (see `bench/core-lib.ts`).
 *
 * - `coordinator` (the default, the target): `Stream.range(0, n - 1)` mapped to `item-<n>` ids,
 *   through `ParallelCoordinator.run(stream, () => Effect.void, { concurrency: 64, maxParallel: 64, keepResults: false })`
 *   with `Output.layerSilent` and no pool.
 * - `raw-stream` (reference): the same stream through
 *   `Stream.mapEffect(() => Effect.void, { concurrency: 64, unordered: true })` — what the coordinator
 *   uses to dispatch a stream.
 * - `workers` (reference): the same stream fed into a bounded `Queue` drained by 64 worker fibers
 *   — a cheaper way to dispatch a stream.
 *
 * Peak RSS is the kernel's high-water mark (`VmHWM` in /proc/self/status) at the end, so no peak
 * between samples is missed. RSS is also sampled every 16384 items from the id stream for the
 * trace: a timer cannot sample, because the Effect scheduler here keeps the event loop in
 * microtasks for the whole run and a `setInterval` never fires. Results go to stdout and to
 * `bench/results/memory-<variant>.json`. Target: peak RSS under 200 MB.
 */
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as ManagedRuntime from "effect/ManagedRuntime"
import * as Option from "effect/Option"
import * as Queue from "effect/Queue"
import * as Stream from "effect/Stream"
import { mkdirSync, readFileSync, writeFileSync } from "node:fs"
import { loadavg } from "node:os"
import { dirname, resolve } from "node:path"
import { performance } from "node:perf_hooks"
import { lib, libraryPath } from "./core-lib.js"

const { Output, ParallelCoordinator } = lib

const argOf = (name: string): string | undefined => {
  const i = process.argv.indexOf(`--${name}`)
  return i === -1 ? undefined : process.argv[i + 1]
}
const ITEMS = Number(argOf("items") ?? 1_000_000)
const VARIANT = argOf("variant") ?? "coordinator"
if (!["coordinator", "raw-stream", "workers"].includes(VARIANT)) throw new Error(`unknown --variant ${VARIANT}`)
const CONCURRENCY = 64
const LIMIT_MB = 200
const MB = 1024 * 1024
const SAMPLE_EVERY = 16384

/** Kernel figures for this process, in MB: current RSS and its high-water mark. */
const procStatus = () => {
  const text = readFileSync("/proc/self/status", "utf8")
  const kb = (field: string) => Number(new RegExp(`${field}:\\s+(\\d+) kB`).exec(text)?.[1] ?? NaN)
  return { rssMB: kb("VmRSS") / 1024, hwmMB: kb("VmHWM") / 1024 }
}

const trace: Array<{ items: number; ms: number; rssMB: number; heapUsedMB: number }> = []
let t0 = 0
const sample = (items: number) => {
  const m = process.memoryUsage()
  trace.push({
    items,
    ms: Math.round(performance.now() - t0),
    rssMB: Math.round((m.rss / MB) * 10) / 10,
    heapUsedMB: Math.round((m.heapUsed / MB) * 10) / 10
  })
}

const ids = Stream.map(Stream.range(0, ITEMS - 1), (n) => {
  if (n % SAMPLE_EVERY === 0) sample(n)
  return `item-${n}`
})

const runtime = ManagedRuntime.make(ParallelCoordinator.layer.pipe(Layer.provide(Output.layerSilent)))
await runtime.runPromise(Effect.void) // build the layer before measuring

const start = procStatus()
const load = [loadavg()]
t0 = performance.now()
let completed = 0
if (VARIANT === "coordinator") {
  const summary = await runtime.runPromise(
    Effect.flatMap(ParallelCoordinator, (coordinator) =>
      coordinator.run(ids, () => Effect.void, {
        concurrency: CONCURRENCY,
        maxParallel: CONCURRENCY,
        keepResults: false
      }))
  )
  completed = summary.stats.succeeded
} else if (VARIANT === "raw-stream") {
  await Effect.runPromise(
    Stream.runDrain(
      Stream.mapEffect(ids, () => Effect.sync(() => void completed++), { concurrency: CONCURRENCY, unordered: true })
    )
  )
} else {
  await Effect.runPromise(Effect.scoped(Effect.gen(function*() {
    const queue = yield* Queue.bounded<Option.Option<string>>(CONCURRENCY * 4)
    const end = Effect.forEach(Array.from({ length: CONCURRENCY }), () => Queue.offer(queue, Option.none()), {
      discard: true
    })
    yield* Effect.forkScoped(Effect.zipRight(Stream.runForEach(ids, (id) => Queue.offer(queue, Option.some(id))), end))
    const worker: Effect.Effect<void> = Effect.flatMap(
      Queue.take(queue),
      Option.match({
        onNone: () => Effect.void,
        onSome: () => Effect.zipRight(Effect.sync(() => void completed++), worker)
      })
    )
    yield* Effect.forEach(Array.from({ length: CONCURRENCY }), () => worker, {
      concurrency: CONCURRENCY,
      discard: true
    })
  })))
}
const elapsedMs = performance.now() - t0
sample(ITEMS)
const end = procStatus()
load.push(loadavg())
await runtime.dispose()

if (completed !== ITEMS) throw new Error(`ran ${completed} items, expected ${ITEMS}`)

const round1 = (x: number) => Math.round(x * 10) / 10
const result = {
  date: new Date().toISOString(),
  node: process.version,
  library: libraryPath,
  variant: VARIANT,
  items: ITEMS,
  concurrency: CONCURRENCY,
  elapsedMs: Math.round(elapsedMs),
  microsPerItem: round1((elapsedMs * 1000) / ITEMS),
  rssStartMB: round1(start.rssMB),
  rssEndMB: round1(end.rssMB),
  peakRssMB: round1(end.hwmMB),
  peakSampledHeapUsedMB: Math.max(...trace.map((t) => t.heapUsedMB)),
  limitMB: LIMIT_MB,
  met: end.hwmMB < LIMIT_MB,
  loadavg: load,
  trace
}
const LABEL = argOf("label")
const out = resolve(`bench/results/memory-${VARIANT}${LABEL === undefined ? "" : `-${LABEL}`}.json`)
mkdirSync(dirname(out), { recursive: true })
writeFileSync(out, JSON.stringify(result, null, 2) + "\n")
process.stdout.write(
  `${VARIANT}: ${ITEMS} streamed items, concurrency ${CONCURRENCY}: ${(elapsedMs / 1000).toFixed(2)} s ` +
    `(${result.microsPerItem} µs/item), peak RSS ${result.peakRssMB} MB (RSS ${result.rssStartMB} MB before the run, ` +
    `${result.rssEndMB} MB after), peak sampled heap used ${result.peakSampledHeapUsedMB} MB; load average ` +
    `${load.map((l) => l[0].toFixed(2)).join(" → ")} — target < ${LIMIT_MB} MB ${result.met ? "MET" : "NOT MET"}\n` +
    `JSON: ${out}\n`
)
