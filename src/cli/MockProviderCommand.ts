import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as MockProvider from "../MockProvider.js"
import { Output } from "../Output.js"
import type { Shutdown } from "../Shutdown.js"

/** What `mock-provider` was asked. */
export interface MockProviderConfig {
  readonly keys: ReadonlyArray<string>
  readonly limit: number
  readonly window: Duration.DurationInput
  readonly algorithm: "fixed-window" | "token-bucket"
  readonly latency: Duration.DurationInput
  readonly port: number
  readonly quota?: Readonly<Record<string, number>> | undefined
  readonly streamInterval?: Duration.DurationInput | undefined
}

/**
 * `agentos-parallel mock-provider`: serves the mock OpenAI-compatible API on 127.0.0.1 until
 * interrupted, printing its base URL on stdout first.
 */
export const mockProviderCommand = (
  config: MockProviderConfig,
  shutdown: Shutdown
): Effect.Effect<number, MockProvider.MockProviderError, Output> =>
  Effect.scoped(Effect.gen(function*() {
    const output = yield* Output
    const provider = yield* MockProvider.serve({
      keys: config.keys,
      limit: config.limit,
      window: config.window,
      algorithm: config.algorithm,
      latency: config.latency,
      port: config.port,
      ...(config.quota === undefined ? {} : { quotas: config.quota }),
      ...(config.streamInterval === undefined ? {} : { streamInterval: config.streamInterval })
    })
    yield* output.lines("stdout", [provider.url])
    yield* output.coordinator(
      `Mock provider listening on ${provider.url} (port ${provider.port}); ${config.keys.length} keys, ` +
        `${config.limit} requests per window, ${config.algorithm}. Ctrl+C stops it.`
    )
    yield* shutdown.requested
    const stats = yield* provider.stats
    yield* output.coordinator(
      `Served ${stats.totals.requests} requests: ${stats.totals.accepted} accepted, ${stats.totals.rateLimited} rate limited`
    )
    return 0
  }))
