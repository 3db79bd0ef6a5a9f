import type * as CommandExecutor from "@effect/platform/CommandExecutor"
import * as FileSystem from "@effect/platform/FileSystem"
import type * as Path from "@effect/platform/Path"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import { fileURLToPath } from "node:url"
import * as MockProvider from "../MockProvider.js"
import { Output } from "../Output.js"
import type { ParallelCoordinator } from "../ParallelCoordinator.js"
import type { JournalError } from "../RunJournal.js"
import type { Shutdown } from "../Shutdown.js"
import type { JournalFor } from "./JournalAccess.js"
import { runCommand } from "./RunCommand.js"
import type { UsageError } from "./UsageError.js"

/** The demo's batch: ten design tasks, one of them marked to fail on purpose. */
export const DEMO_ITEMS = [
  "LLD-101",
  "LLD-102",
  "LLD-103",
  "LLD-104",
  "LLD-105",
  "LLD-106-invalid",
  "LLD-107",
  "LLD-108",
  "LLD-109",
  "LLD-110"
] as const

const DEMO_KEYS = ["demo-key-alpha", "demo-key-bravo", "demo-key-charlie"]

/** The bundled example workflow, next to the built CLI (`dist/../examples`) or the sources. */
const exampleWorkflow = () => fileURLToPath(new URL("../examples/llm-workflow.mjs", import.meta.url))

/**
 * `agentos-parallel demo`: the main job on an embedded default. A mock OpenAI-compatible provider
 * with three keys of 3 requests per 2 s each (so some requests meet a 429 and are absorbed by key
 * rotation), the example three-step workflow, ten items at `--parallel 3`, state in a temporary
 * directory. Exits 0: the one failing item is part of the show.
 */
export const demoCommand = (shutdown: Shutdown, journalFor: JournalFor): Effect.Effect<
  number,
  UsageError | JournalError | MockProvider.MockProviderError,
  FileSystem.FileSystem | Path.Path | CommandExecutor.CommandExecutor | Output | ParallelCoordinator
> =>
  Effect.scoped(Effect.gen(function*() {
    const output = yield* Output
    const fs = yield* FileSystem.FileSystem
    const stateDir = yield* Effect.orDie(fs.makeTempDirectory({ prefix: "agentos-parallel-demo-" }))
    const provider = yield* MockProvider.serve({
      keys: DEMO_KEYS,
      limit: 3,
      window: "2 seconds",
      algorithm: "fixed-window",
      latency: "250 millis"
    })
    const keysFile = `${stateDir}/demo-keys.txt`
    yield* Effect.orDie(fs.writeFileString(keysFile, DEMO_KEYS.map((k, i) => `key-${i + 1}=${k}`).join("\n") + "\n"))
    process.env.AGENTOS_PROVIDER_URL = provider.url
    process.env.AGENTOS_STEP_DELAY_MS ??= "300"
    // The example paces itself on the rate-limit headers; the demo turns that off to show 429s
    // being absorbed by key rotation.
    process.env.AGENTOS_PACE ??= "0"

    yield* output.coordinator(
      `Demo: a mock LLM provider on ${provider.url} (3 keys, 3 requests per 2s each), the example workflow ` +
        `(3 checkpointed steps per item), ${DEMO_ITEMS.length} items at --parallel 3. State: ${stateDir}`
    )
    const code = yield* runCommand(
      {
        itemsFile: Option.none(),
        items: DEMO_ITEMS,
        parallel: 3,
        maxParallel: Option.none(),
        dryRun: false,
        credentialsFile: Option.some(keysFile),
        credentialsEnv: Option.none(),
        credentialVar: "AGENTOS_CREDENTIAL",
        perCredential: 1,
        backoff: Duration.seconds(2),
        retries: 0,
        timeout: Option.some(Duration.seconds(30)),
        grace: Duration.seconds(5),
        stateDir: Option.some(stateDir),
        name: Option.some("demo"),
        fresh: true,
        json: false,
        command: [process.execPath, exampleWorkflow(), "{id}"],
        emptyItems: 0
      },
      shutdown,
      journalFor
    )
    const stats = yield* provider.stats
    yield* output.lines("stderr", [
      "",
      `Demo done. The provider answered ${stats.totals.accepted} requests and ${stats.totals.rateLimited} 429s; ` +
      `each 429 cooled that key for its retry-after while the item went on with another key, from its checkpoint.`,
      `LLD-106-invalid failed on purpose (the example workflow refuses ids marked invalid): one item's failure ` +
      `never stops the others, and it is reported in the summary. That is why the demo still exits 0.`,
      `Journal, logs, audit trail and summary.json are in ${stateDir}; try: agentos-parallel status --state-dir ${stateDir}`
    ])
    return code === 1 ? 0 : code
  }))
