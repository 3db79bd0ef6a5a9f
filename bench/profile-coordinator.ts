/**
 * Runs one coordinator variant a few times, for `node --cpu-prof` / `--heap-prof`:
 *
 *   node --cpu-prof --cpu-prof-dir bench/results/prof --import tsx bench/profile-coordinator.ts [pool|nopool|exclusive] [items] [runs]
 *
 * The library is loaded as in `bench/core-lib.ts` (`dist/index.js`, or `BENCH_LIB`). Then
 * `node bench/prof-summary.mjs bench/results/prof/<largest file>.cpuprofile [top] [filter]` lists the
 * hottest functions (self and inclusive time) with file:line:column.
 */
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as ManagedRuntime from "effect/ManagedRuntime"
import { performance } from "node:perf_hooks"
import { lib } from "./core-lib.js"

const { CredentialPool, Output, ParallelCoordinator } = lib
const mode = process.argv[2] ?? "pool"
const count = Number(process.argv[3] ?? 20_000)
const runs = Number(process.argv[4] ?? 3)
const credentials = Array.from({ length: 8 }, (_, i) => `secret-${i + 1}`)
const runtime = ManagedRuntime.make(
  Layer.mergeAll(
    ParallelCoordinator.layer.pipe(Layer.provide(Output.layerSilent)),
    mode === "nopool"
      ? Layer.empty
      : CredentialPool.layer({ credentials, perCredential: mode === "exclusive" ? 1 : 8 })
  )
)
const items = Array.from({ length: count }, (_, i) => `item-${i}`)
const program = Effect.flatMap(
  ParallelCoordinator,
  (c) => c.run(items, () => Effect.void, { concurrency: 64, maxParallel: 64, keepResults: false })
)
for (let r = 0; r < runs; r++) {
  const t0 = performance.now()
  const summary = await runtime.runPromise(program)
  process.stdout.write(
    `${mode} run ${r + 1}: ${(performance.now() - t0).toFixed(1)} ms, succeeded ${summary.stats.succeeded}\n`
  )
}
await runtime.dispose()
