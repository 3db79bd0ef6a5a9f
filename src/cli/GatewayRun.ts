import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Queue from "effect/Queue"
import type * as Scope from "effect/Scope"
import type { CredentialInput } from "../CredentialPool.js"
import * as Gateway from "../Gateway.js"
import type { Output } from "../Output.js"
import { isRateLimited, RateLimited } from "../RateLimited.js"
import { CredentialUse, RunSummary } from "../RunSummary.js"
import type { Workflow } from "../Workflow.js"
import { WorkflowResult } from "../WorkflowResult.js"
import { UsageError } from "./UsageError.js"

/** `--gateway [openai=|anthropic=]URL`: which API, and its upstream base. */
export const parseGatewaySpec = (spec: string): Gateway.GatewayUpstream | UsageError => {
  const named = /^(openai|anthropic)=(.*)$/s.exec(spec.trim())
  const text = named === null ? spec.trim() : named[2]!.trim()
  let url: URL
  try {
    url = new URL(text)
  } catch {
    return new UsageError({
      detail: `--gateway: expected [openai=|anthropic=]URL with an http(s) URL, received ${JSON.stringify(spec)}`
    })
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    return new UsageError({ detail: `--gateway: expected an http(s) URL, received ${JSON.stringify(spec)}` })
  }
  if (url.username !== "" || url.password !== "") {
    return new UsageError({ detail: "--gateway: expected a URL without user info (keys come from the credentials)" })
  }
  const api = named !== null ? (named[1] as "openai" | "anthropic") : url.hostname === "api.anthropic.com"
    ? "anthropic"
    : "openai"
  return { api, url: text }
}

/** What `run` needs of a started gateway. */
export interface GatewayRun {
  readonly gateway: Gateway.GatewayShape
  /** The workflow with exit 75 cooling the key of the item's last request instead of waiting itself. */
  readonly wrap: <E, R>(workflow: Workflow<E, R>) => Workflow<E, R>
  /** The summary with the gateway's per-key and per-item figures. */
  readonly summarize: (summary: RunSummary) => Effect.Effect<RunSummary>
}

/**
 * Starts the gateway of a run when `--gateway` is given (it needs credentials), and narrates its
 * changes as `[COORDINATOR]` lines.
 */
export const startGateway = (
  config: {
    readonly gateway: ReadonlyArray<string>
    readonly gatewayMaxWait: Duration.Duration
    readonly gatewayPerCredential: Option.Option<number>
    readonly backoff: Duration.Duration
  },
  credentials: ReadonlyArray<CredentialInput>,
  output: typeof Output.Service
): Effect.Effect<
  Option.Option<GatewayRun>,
  UsageError,
  Scope.Scope
> =>
  Effect.gen(function*() {
    if (config.gateway.length === 0) return Option.none()
    const upstreams: Array<Gateway.GatewayUpstream> = []
    for (const spec of config.gateway) {
      const parsed = parseGatewaySpec(spec)
      if (parsed instanceof UsageError) return yield* parsed
      if (upstreams.some((u) => u.api === parsed.api)) {
        return yield* new UsageError({ detail: `--gateway: expected one URL per API, received two for ${parsed.api}` })
      }
      upstreams.push(parsed)
    }
    if (credentials.length === 0) {
      return yield* new UsageError({
        detail: "--gateway: expected credentials (--credentials-file or --credentials-env), received none"
      })
    }
    const gateway = yield* Gateway.make({
      upstreams,
      credentials,
      perCredential: Option.getOrUndefined(config.gatewayPerCredential),
      maxWait: config.gatewayMaxWait,
      backoff: config.backoff
    }).pipe(Effect.mapError((e) => new UsageError({ detail: e.message })))
    yield* Effect.forkScoped(Effect.forever(Effect.flatMap(Queue.take(gateway.messages), output.coordinator)))
    yield* output.coordinator(
      `gateway on ${gateway.url}: ${
        upstreams.map((u) => `/${u.api} -> ${u.url}`).join(", ")
      }; ${credentials.length} key(s)`
    )
    // The gateway holds the next requests until a key is free: the item restarts at once.
    const wrap = <E, R>(workflow: Workflow<E, R>): Workflow<E, R> => (context) =>
      Effect.catchIf(
        workflow(context),
        (error): error is E & RateLimited => isRateLimited(error),
        (error) =>
          Effect.zipRight(
            gateway.coolLastKey(context.id, error.retryAfter),
            Effect.fail(new RateLimited({ retryAfter: Duration.zero }) as unknown as E)
          )
      ) as Effect.Effect<unknown, E, R>
    const summarize = (summary: RunSummary) =>
      Effect.map(gateway.stats, (stats) => {
        const byLabel = new Map<string, CredentialUse>()
        for (const k of stats.keys) {
          const before = byLabel.get(k.label)
          byLabel.set(
            k.label,
            new CredentialUse({
              label: k.label,
              leases: 0,
              rateLimits: (before?.rateLimits ?? 0) + k.rateLimits,
              cooling: Duration.millis(
                (before === undefined ? 0 : Duration.toMillis(before.cooling)) + k.coolingMillis
              ),
              requests: (before?.requests ?? 0) + k.requests,
              tokens: (before?.tokens ?? 0) + k.tokens,
              state: before?.state === "exhausted" ? "exhausted" : k.state
            })
          )
        }
        return new RunSummary({
          ...summary,
          credentials: [...byLabel.values()],
          results: summary.results.map((r) => {
            const item = stats.items.get(r.id)
            return new WorkflowResult({ ...r, requests: item?.requests ?? 0, tokens: item?.tokens ?? 0 })
          })
        })
      })
    return Option.some({ gateway, wrap, summarize })
  })
