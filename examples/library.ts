/**
 * Using agentos-parallel from an Effect program: three API keys in a pool, a workflow that calls an
 * OpenAI-compatible API and reports 429s as `RateLimited`, ten items three at a time.
 *
 *   npx tsx examples/library.ts      (starts its own mock provider; nothing leaves the machine)
 */
import { NodeRuntime } from "@effect/platform-node"
import {
  CredentialPool,
  Output,
  ParallelCoordinator,
  parseRetryAfter,
  RateLimited,
  type WorkflowContext
} from "agentos-parallel"
import { MockProvider } from "agentos-parallel/testing"
import { Effect, Layer, Redacted } from "effect"

const callModel = (baseUrl: string, context: WorkflowContext) =>
  Effect.gen(function*() {
    const key = context.credential.pipe((c) => (c._tag === "Some" ? Redacted.value(c.value.secret) : ""))
    const response = yield* Effect.promise(() =>
      fetch(`${baseUrl}/chat/completions`, {
        method: "POST",
        headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
        body: JSON.stringify({ model: "mock", messages: [{ role: "user", content: `Design ${context.id}` }] })
      })
    )
    if (response.status === 429) {
      // The pool cools this key for the retry-after and runs the item again on another key.
      const retryAfter = parseRetryAfter(response.headers)
      return yield* new RateLimited(retryAfter._tag === "Some" ? { retryAfter: retryAfter.value } : {})
    }
    if (!response.ok) return yield* Effect.fail(new Error(`HTTP ${response.status}`))
    return yield* Effect.promise(() => response.json())
  })

const program = Effect.gen(function*() {
  const provider = yield* MockProvider.serve({ keys: ["k1", "k2", "k3"], limit: 2, window: "1 second" })
  const coordinator = yield* ParallelCoordinator
  const items = Array.from({ length: 10 }, (_, i) => `LLD-${i + 1}`)
  const summary = yield* coordinator.run(items, (context) => callModel(provider.url, context), {
    concurrency: 3
  }).pipe(Effect.provide(CredentialPool.layer({ credentials: ["k1", "k2", "k3"] })))
  yield* Effect.log(
    `${summary.stats.succeeded}/${summary.stats.total} succeeded; 429s absorbed: ${
      summary.credentials.map((c) => `${c.label}=${c.rateLimits}`).join(" ")
    }`
  )
})

program.pipe(
  Effect.scoped,
  Effect.provide(ParallelCoordinator.layer.pipe(Layer.provide(Output.layerConsole))),
  NodeRuntime.runMain
)
