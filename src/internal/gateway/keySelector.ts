// The gateway's per-request key selector for one API: keys grouped in limit domains, a cooldown
// and request/token budgets per domain, the exhausted state per key, requests in flight per key,
// and a FIFO of held requests woken by timers and releases (never polled). Plain mutable state:
// it is only touched from the gateway's request handlers, on the event loop.
import type { RateLimitInfo } from "../../RateLimitHeaders.js"

/** Node's timers hold at most 2^31-1 ms: a longer wait is taken in steps. */
const MAX_TIMER = 2_147_483_647

export interface KeyEntry {
  readonly label: string
  readonly secret: string
  readonly domain: string
  inFlight: number
  lastUsed: number
  exhausted: boolean
  requests: number
  rateLimits: number
  tokens: number
  coolingMs: number
}

interface DomainState {
  coolUntil: number
  requestsRemaining: number | undefined
  requestsResetAt: number
  tokensRemaining: number | undefined
  tokensResetAt: number
}

export type AcquireResult =
  | { readonly _tag: "Leased"; readonly key: KeyEntry }
  | { readonly _tag: "TimedOut" }
  | { readonly _tag: "Exhausted" }
  | { readonly _tag: "Cancelled" }

interface Waiter {
  readonly estimate: number
  readonly resolve: (result: AcquireResult) => void
  timer: ReturnType<typeof setTimeout> | undefined
  done: boolean
}

export type SelectorEvent =
  | { readonly _tag: "Cooling"; readonly label: string; readonly domain: string; readonly ms: number }
  | { readonly _tag: "AllCooling"; readonly until: number; readonly held: number }
  | { readonly _tag: "Available" }
  | { readonly _tag: "Exhausted"; readonly label: string }
  | { readonly _tag: "AllExhausted" }

export interface SelectorOptions {
  readonly keys: ReadonlyArray<{ readonly label: string; readonly secret: string; readonly domain: string }>
  /** Requests in flight per key; `Infinity` for no bound. */
  readonly perKey: number
  readonly now: () => number
  readonly onEvent: (event: SelectorEvent) => void
}

export const makeKeySelector = (options: SelectorOptions) => {
  const keys: Array<KeyEntry> = options.keys.map((k) => ({
    ...k,
    inFlight: 0,
    lastUsed: Number.NEGATIVE_INFINITY,
    exhausted: false,
    requests: 0,
    rateLimits: 0,
    tokens: 0,
    coolingMs: 0
  }))
  const domains = new Map<string, DomainState>()
  for (const key of keys) {
    if (!domains.has(key.domain)) {
      domains.set(key.domain, {
        coolUntil: 0,
        requestsRemaining: undefined,
        requestsResetAt: 0,
        tokensRemaining: undefined,
        tokensResetAt: 0
      })
    }
  }
  const waiters: Array<Waiter> = []
  let wakeTimer: ReturnType<typeof setTimeout> | undefined
  let allCoolingSaid = false
  let allExhaustedSaid = false

  const domainOf = (key: KeyEntry) => domains.get(key.domain)!

  /** The time from which the key may take a request of `estimate` tokens (ignoring in-flight). */
  const readyAt = (key: KeyEntry, estimate: number, now: number): number => {
    const d = domainOf(key)
    let at = d.coolUntil
    if (d.requestsRemaining !== undefined && d.requestsRemaining <= 0 && d.requestsResetAt > now) {
      at = Math.max(at, d.requestsResetAt)
    }
    if (d.tokensRemaining !== undefined && d.tokensRemaining < estimate && d.tokensResetAt > now) {
      at = Math.max(at, d.tokensResetAt)
    }
    return at
  }

  const pick = (estimate: number, now: number): KeyEntry | undefined => {
    let best: KeyEntry | undefined
    for (const key of keys) {
      if (key.exhausted || key.inFlight >= options.perKey || readyAt(key, estimate, now) > now) continue
      if (best === undefined || key.lastUsed < best.lastUsed) best = key
    }
    return best
  }

  const lease = (key: KeyEntry, estimate: number, now: number): KeyEntry => {
    key.inFlight++
    key.lastUsed = now
    key.requests++
    const d = domainOf(key)
    // Spend the budget at once, so that requests sent together do not all count on the same rest.
    if (d.requestsRemaining !== undefined) d.requestsRemaining--
    if (d.tokensRemaining !== undefined) d.tokensRemaining -= estimate
    return key
  }

  const live = () => keys.filter((k) => !k.exhausted)

  const finish = (waiter: Waiter, result: AcquireResult) => {
    waiter.done = true
    if (waiter.timer !== undefined) clearTimeout(waiter.timer)
    const i = waiters.indexOf(waiter)
    if (i !== -1) waiters.splice(i, 1)
    waiter.resolve(result)
  }

  /** Hands keys to held requests in order, then sets one timer for the next change. */
  const pump = () => {
    const now = options.now()
    if (live().length === 0) {
      for (const waiter of [...waiters]) finish(waiter, { _tag: "Exhausted" })
      return
    }
    while (waiters.length > 0) {
      const head = waiters[0]!
      const key = pick(head.estimate, now)
      if (key === undefined) break
      finish(head, { _tag: "Leased", key: lease(key, head.estimate, now) })
    }
    if (wakeTimer !== undefined) clearTimeout(wakeTimer)
    wakeTimer = undefined
    if (waiters.length === 0) {
      if (allCoolingSaid) {
        allCoolingSaid = false
        options.onEvent({ _tag: "Available" })
      }
      return
    }
    // The next moment a key becomes ready by time (a release wakes the queue by itself).
    const estimate = waiters[0]!.estimate
    const times = live().map((k) => readyAt(k, estimate, now)).filter((t) => t > now)
    if (times.length === 0) return
    const next = Math.min(...times)
    if (!allCoolingSaid && times.length === live().length) {
      allCoolingSaid = true
      options.onEvent({ _tag: "AllCooling", until: next, held: waiters.length })
    }
    wakeTimer = setTimeout(pump, Math.min(MAX_TIMER, Math.max(1, next - now)))
  }

  const acquire = (estimate: number, maxWaitMs: number, signal?: AbortSignal): Promise<AcquireResult> => {
    const now = options.now()
    if (live().length === 0) return Promise.resolve({ _tag: "Exhausted" })
    if (waiters.length === 0) {
      const key = pick(estimate, now)
      if (key !== undefined) return Promise.resolve({ _tag: "Leased", key: lease(key, estimate, now) })
    }
    return new Promise((resolve) => {
      const waiter: Waiter = { estimate, resolve, timer: undefined, done: false }
      waiter.timer = setTimeout(() => {
        finish(waiter, { _tag: "TimedOut" })
        pump()
      }, Math.min(MAX_TIMER, Math.max(0, maxWaitMs)))
      signal?.addEventListener("abort", () => {
        if (!waiter.done) {
          finish(waiter, { _tag: "Cancelled" })
          pump()
        }
      }, { once: true })
      waiters.push(waiter)
      pump()
    })
  }

  const release = (key: KeyEntry) => {
    key.inFlight--
    pump()
  }

  const learn = (key: KeyEntry, info: RateLimitInfo) => {
    const d = domainOf(key)
    if (info.requests.remaining !== undefined) {
      d.requestsRemaining = info.requests.remaining
      d.requestsResetAt = info.requests.resetAt ?? options.now() + 1000
    }
    if (info.tokens.remaining !== undefined) {
      d.tokensRemaining = info.tokens.remaining
      d.tokensResetAt = info.tokens.resetAt ?? options.now() + 1000
    }
  }

  const cool = (key: KeyEntry, ms: number) => {
    const now = options.now()
    const d = domainOf(key)
    key.rateLimits++
    const until = now + ms
    if (until > d.coolUntil) {
      const wasCooling = d.coolUntil > now
      key.coolingMs += until - Math.max(now, d.coolUntil)
      d.coolUntil = until
      if (!wasCooling) options.onEvent({ _tag: "Cooling", label: key.label, domain: key.domain, ms })
    }
  }

  const retire = (key: KeyEntry) => {
    if (key.exhausted) return
    key.exhausted = true
    options.onEvent({ _tag: "Exhausted", label: key.label })
    if (live().length === 0 && !allExhaustedSaid) {
      allExhaustedSaid = true
      options.onEvent({ _tag: "AllExhausted" })
    }
  }

  const state = (key: KeyEntry): "ok" | "cooling" | "exhausted" =>
    key.exhausted ? "exhausted" : domainOf(key).coolUntil > options.now() ? "cooling" : "ok"

  const close = () => {
    if (wakeTimer !== undefined) clearTimeout(wakeTimer)
    for (const waiter of [...waiters]) finish(waiter, { _tag: "Cancelled" })
  }

  return { keys, acquire, release, learn, cool, retire, state, close, held: () => waiters.length }
}

export type KeySelector = ReturnType<typeof makeKeySelector>
