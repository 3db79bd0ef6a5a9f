/**
 * Core library benchmark: 100k no-op items at concurrency 64, in one process, interleaved.
 *
 *   npm run build && node --expose-gc --import tsx bench/core.ts [--rounds 5] [--warmup 2] [--items 100000] [--label name]
 *
 * The library is loaded from the built package, `dist/index.js` (see `bench/core-lib.ts`; `BENCH_LIB`
 * picks another build). This file itself runs through tsx.
 *
 * Variants (each round runs all of them, in a rotated order, with a GC between runs when
 * `--expose-gc` is given):
 *   effect-forEach    raw `Effect.forEach(items, () => Effect.void, { concurrency: 64, discard: true })`
 *   p-limit           `Promise.all(items.map((i) => limit(noop)))` with `pLimit(64)`
 *   p-queue           `queue.addAll(items.map(() => noop))` then `onIdle()` with `new PQueue({ concurrency: 64 })`
 *   coordinator       `ParallelCoordinator.run(items, () => Effect.void, { concurrency: 64, maxParallel: 64, keepResults: false })`
 *   coordinator+pool  the same with `CredentialPool.layer({ credentials: 8, perCredential: 8 })` (64 leases at once)
 *   coordinator+pool-exclusive  the same with `perCredential: 1` (at most 8 items run at once; information only)
 *
 * Layers (coordinator, `Output.layerSilent`, pool) are built once per variant before timing; a
 * timed run is one `runPromise` of the run effect. Results go to stdout (markdown) and to
 * `bench/results/core.json`.
 */
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as ManagedRuntime from "effect/ManagedRuntime"
import { mkdirSync, readFileSync, writeFileSync } from "node:fs"
import { cpus, loadavg } from "node:os"
import { dirname, resolve } from "node:path"
import { performance } from "node:perf_hooks"
import pLimit from "p-limit"
import PQueue from "p-queue"
import type { CredentialPool as CredentialPoolService } from "../src/CredentialPool.js"
import { lib, libraryPath } from "./core-lib.js"

const { CredentialPool, Output, ParallelCoordinator } = lib

const argValue = (name: string, fallback: number): number => {
  const i = process.argv.indexOf(`--${name}`)
  if (i === -1) return fallback
  const n = Number(process.argv[i + 1])
  if (!Number.isInteger(n) || n < 0) throw new Error(`--${name} expects a whole number`)
  return n
}

const ITEMS = argValue("items", 100_000)
const CONCURRENCY = 64
const ROUNDS = argValue("rounds", 5)
const WARMUP = argValue("warmup", 2)
const CREDENTIALS = Array.from({ length: 8 }, (_, i) => `secret-${i + 1}`)

const items: ReadonlyArray<string> = Array.from({ length: ITEMS }, (_, i) => `item-${i}`)

const gc = (globalThis as { gc?: () => void }).gc

interface Variant {
  readonly name: string
  readonly description: string
  /** Runs once; returns how many items it ran, to check the variant did the work. */
  readonly run: () => Promise<number>
  readonly dispose?: () => Promise<void>
}

const noopAsync = async (): Promise<void> => {}

const coordinatorVariant = (
  name: string,
  description: string,
  pool: Layer.Layer<never> | Layer.Layer<CredentialPoolService>
): Variant => {
  const runtime = ManagedRuntime.make(
    Layer.mergeAll(ParallelCoordinator.layer.pipe(Layer.provide(Output.layerSilent)), pool)
  )
  const program = Effect.flatMap(ParallelCoordinator, (coordinator) =>
    coordinator.run(items, () => Effect.void, {
      concurrency: CONCURRENCY,
      maxParallel: CONCURRENCY,
      keepResults: false
    }))
  return {
    name,
    description,
    run: async () => {
      const summary = await runtime.runPromise(program)
      return summary.stats.succeeded
    },
    dispose: () => runtime.dispose()
  }
}

const variants: ReadonlyArray<Variant> = [
  {
    name: "effect-forEach",
    description: "raw `Effect.forEach(items, () => Effect.void, { concurrency: 64, discard: true })`",
    run: async () => {
      // Exactly the form in the issue; it cannot skip items, so the count is not checked.
      await Effect.runPromise(Effect.forEach(items, () => Effect.void, { concurrency: CONCURRENCY, discard: true }))
      return ITEMS
    }
  },
  {
    name: "p-limit",
    description: "`pLimit(64)`, `Promise.all(items.map(() => limit(async () => {})))`",
    run: async () => {
      const limit = pLimit(CONCURRENCY)
      let n = 0
      await Promise.all(items.map(() => limit(() => (n++, noopAsync()))))
      return n
    }
  },
  {
    name: "p-queue",
    description: "`new PQueue({ concurrency: 64 })`, `addAll(items.map(() => async () => {}))`, `onIdle()`",
    run: async () => {
      const queue = new PQueue({ concurrency: CONCURRENCY })
      let n = 0
      void queue.addAll(items.map(() => () => (n++, noopAsync())))
      await queue.onIdle()
      return n
    }
  },
  coordinatorVariant(
    "coordinator",
    "`ParallelCoordinator.run(items, () => Effect.void, { concurrency: 64, maxParallel: 64, keepResults: false })`, no pool",
    Layer.empty
  ),
  coordinatorVariant(
    "coordinator+pool",
    "the same with `CredentialPool.layer({ credentials: 8 secrets, perCredential: 8 })`",
    CredentialPool.layer({ credentials: CREDENTIALS, perCredential: 8 })
  ),
  coordinatorVariant(
    "coordinator+pool-exclusive",
    "the same with `perCredential: 1` (at most 8 at once; information only)",
    CredentialPool.layer({ credentials: CREDENTIALS, perCredential: 1 })
  )
]

const median = (xs: ReadonlyArray<number>) => {
  const s = [...xs].sort((a, b) => a - b)
  const m = s.length >> 1
  return s.length % 2 === 1 ? s[m]! : (s[m - 1]! + s[m]!) / 2
}

/** Wall time, and CPU time of the process (user + system, all threads, GC helpers included). */
const timeOnce = async (variant: Variant): Promise<{ ms: number; cpuMs: number }> => {
  gc?.()
  const c0 = process.cpuUsage()
  const t0 = performance.now()
  const n = await variant.run()
  const ms = performance.now() - t0
  const cpu = process.cpuUsage(c0)
  if (n !== ITEMS) throw new Error(`${variant.name}: ran ${n} items, expected ${ITEMS}`)
  return { ms, cpuMs: (cpu.user + cpu.system) / 1000 }
}

const main = async () => {
  const load: Array<ReturnType<typeof loadavg>> = [loadavg()]
  const samples = new Map<string, Array<number>>(variants.map((v) => [v.name, []]))
  const cpuSamples = new Map<string, Array<number>>(variants.map((v) => [v.name, []]))
  const total = WARMUP + ROUNDS
  for (let round = 0; round < total; round++) {
    const measured = round >= WARMUP
    // Rotate the order each round so no variant always runs first (or right after another).
    const order = variants.map((_, i) => variants[(i + round) % variants.length]!)
    for (const variant of order) {
      const { cpuMs, ms } = await timeOnce(variant)
      if (measured) {
        samples.get(variant.name)!.push(ms)
        cpuSamples.get(variant.name)!.push(cpuMs)
      }
    }
    load.push(loadavg())
    process.stderr.write(
      `${measured ? "round" : "warm-up"} ${measured ? round - WARMUP + 1 : round + 1}/${
        measured ? ROUNDS : WARMUP
      } done\n`
    )
  }
  for (const v of variants) await v.dispose?.()

  const baseline = median(samples.get("effect-forEach")!)
  const cpuBaseline = median(cpuSamples.get("effect-forEach")!)
  const rows = variants.map((v) => {
    const xs = samples.get(v.name)!
    const med = median(xs)
    const cpuMed = median(cpuSamples.get(v.name)!)
    return {
      name: v.name,
      description: v.description,
      samplesMs: xs.map((x) => Math.round(x * 10) / 10),
      medianMs: Math.round(med * 10) / 10,
      minMs: Math.round(Math.min(...xs) * 10) / 10,
      maxMs: Math.round(Math.max(...xs) * 10) / 10,
      vsForEach: Math.round((med / baseline) * 100) / 100,
      cpuMedianMs: Math.round(cpuMed * 10) / 10,
      cpuVsForEach: Math.round((cpuMed / cpuBaseline) * 100) / 100,
      itemsPerSecond: Math.round(ITEMS / (med / 1000))
    }
  })
  const byName = (n: string) => rows.find((r) => r.name === n)!
  const withPool = byName("coordinator+pool")
  const pQueue = byName("p-queue")
  const targets = {
    poolWithin3xOfForEach: { ratio: withPool.vsForEach, limit: 3, met: withPool.vsForEach <= 3 },
    poolFasterThanPQueue: {
      poolMedianMs: withPool.medianMs,
      pQueueMedianMs: pQueue.medianMs,
      ratio: Math.round((withPool.medianMs / pQueue.medianMs) * 100) / 100,
      met: withPool.medianMs < pQueue.medianMs
    }
  }
  const cpuModel = (() => {
    try {
      return /model name\s*:\s*(.*)/.exec(readFileSync("/proc/cpuinfo", "utf8"))?.[1] ?? cpus()[0]?.model ?? "unknown"
    } catch {
      return cpus()[0]?.model ?? "unknown"
    }
  })()
  const result = {
    date: new Date().toISOString(),
    machine: { nproc: cpus().length, cpu: cpuModel, node: process.version, loadavgSamples: load },
    library: libraryPath,
    items: ITEMS,
    concurrency: CONCURRENCY,
    warmupRounds: WARMUP,
    rounds: ROUNDS,
    gcBetweenRuns: gc !== undefined,
    rows,
    targets
  }

  const label = process.argv.includes("--label") ? process.argv[process.argv.indexOf("--label") + 1] : undefined
  const out = resolve(`bench/results/core${label === undefined ? "" : `-${label}`}.json`)
  mkdirSync(dirname(out), { recursive: true })
  writeFileSync(out, JSON.stringify(result, null, 2) + "\n")

  const lines = [
    `${ITEMS} no-op items, concurrency ${CONCURRENCY}; ${ROUNDS} rounds after ${WARMUP} warm-up, order rotated each round${
      gc ? ", GC between runs" : ""
    }.`,
    `library: ${libraryPath}`,
    `node ${process.version}, ${cpus().length} CPU (${cpuModel}), load average 1-min during the run: ${
      load.map((l) => l[0].toFixed(2)).join(" ")
    }`,
    "",
    "| variant | median ms | min ms | max ms | × raw forEach (median) | items/s (median) | CPU ms (median) | CPU × raw forEach |",
    "|---|---:|---:|---:|---:|---:|---:|---:|",
    ...rows.map((r) =>
      `| ${r.name} | ${r.medianMs.toFixed(1)} | ${r.minMs.toFixed(1)} | ${r.maxMs.toFixed(1)} | ${
        r.vsForEach.toFixed(2)
      } | ${r.itemsPerSecond.toLocaleString("en-US")} | ${r.cpuMedianMs.toFixed(1)} | ${r.cpuVsForEach.toFixed(2)} |`
    ),
    "",
    `Target "coordinator+pool within 3x of raw Effect.forEach": ${targets.poolWithin3xOfForEach.ratio.toFixed(2)}x — ${
      targets.poolWithin3xOfForEach.met ? "MET" : "NOT MET"
    }`,
    `Target "coordinator+pool faster than p-queue": ${withPool.medianMs.toFixed(1)} ms vs ${
      pQueue.medianMs.toFixed(1)
    } ms (${targets.poolFasterThanPQueue.ratio.toFixed(2)}x) — ${targets.poolFasterThanPQueue.met ? "MET" : "NOT MET"}`,
    `JSON: ${out}`
  ]
  process.stdout.write(lines.join("\n") + "\n")
}

await main()
