import * as Args from "@effect/cli/Args"
import * as Command from "@effect/cli/Command"
import * as HelpDoc from "@effect/cli/HelpDoc"
import * as Options from "@effect/cli/Options"
import * as ValidationError from "@effect/cli/ValidationError"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import * as Ref from "effect/Ref"
import { parseDurationText } from "../internal/durationText.js"
import type { Shutdown } from "../Shutdown.js"
import { demoCommand } from "./DemoCommand.js"
import type { JournalFor } from "./JournalAccess.js"
import { mockProviderCommand } from "./MockProviderCommand.js"
import { runCommand } from "./RunCommand.js"
import { statusCommand } from "./StatusCommand.js"

const invalid = (message: string) => ValidationError.invalidValue(HelpDoc.p(message))

const duration = (name: string) =>
  Options.text(name).pipe(
    Options.withPseudoName("DURATION"),
    Options.mapEffect((text) =>
      Either.match(parseDurationText(text), {
        onLeft: (message) => Effect.fail(invalid(`--${name}: ${message}`)),
        onRight: Effect.succeed
      })
    )
  )

const wholeNumber = (name: string, min: number) =>
  Options.text(name).pipe(
    Options.withPseudoName("N"),
    Options.mapEffect((text) => {
      const n = Number(text)
      return /^\s*\d+\s*$/.test(text) && n >= min
        ? Effect.succeed(n)
        : Effect.fail(
          invalid(`--${name}: expected a whole number of at least ${min}, received ${JSON.stringify(text)}`)
        )
    })
  )

const runOptions = {
  itemsFile: Options.text("items").pipe(
    Options.withPseudoName("FILE"),
    Options.withDescription("One id per line ('-' reads stdin); blank lines and # comments are skipped."),
    Options.optional
  ),
  items: Options.text("item").pipe(
    Options.withPseudoName("ID"),
    Options.withDescription("An item id; repeatable, may be combined with --items."),
    Options.repeated
  ),
  parallel: wholeNumber("parallel", 1).pipe(
    Options.withAlias("p"),
    Options.withDescription("Items in flight (over 10 is capped unless --max-parallel raises the cap)."),
    Options.withDefault(3)
  ),
  maxParallel: wholeNumber("max-parallel", 1).pipe(
    Options.withDescription("Raise the cap on --parallel (default 10)."),
    Options.optional
  ),
  dryRun: Options.boolean("dry-run").pipe(
    Options.withDescription("Print the ids that would run, one per line, and run nothing.")
  ),
  credentialsFile: Options.text("credentials-file").pipe(
    Options.withPseudoName("FILE"),
    Options.withDescription("One credential per line, optionally label=secret."),
    Options.optional
  ),
  credentialsEnv: Options.text("credentials-env").pipe(
    Options.withPseudoName("VAR"),
    Options.withDescription("Credentials in this environment variable, separated by commas or newlines."),
    Options.optional
  ),
  credentialVar: Options.text("credential-var").pipe(
    Options.withPseudoName("NAME"),
    Options.withDescription("The variable each child gets its credential in."),
    Options.withDefault("AGENTOS_CREDENTIAL")
  ),
  perCredential: wholeNumber("per-credential", 1).pipe(
    Options.withDescription(
      "Items that may share one credential at once (default 1); with --gateway, requests in flight per key (default: no bound)."
    ),
    Options.optional
  ),
  gateway: Options.text("gateway").pipe(
    Options.withPseudoName("[openai=|anthropic=]URL"),
    Options.withDescription(
      "Run a local rate-limit gateway to this upstream API (repeatable, one per API); children call it with a token."
    ),
    Options.repeated
  ),
  gatewayMaxWait: duration("gateway-max-wait").pipe(
    Options.withDescription("The longest a gateway request is held waiting for an eligible key."),
    Options.withDefault(Duration.minutes(10))
  ),
  backoff: duration("backoff").pipe(
    Options.withDescription("Cooldown after a 429 that came without a retry-after."),
    Options.withDefault(Duration.seconds(60))
  ),
  retries: wholeNumber("retries", 0).pipe(
    Options.withDescription("Extra attempts for a failed item."),
    Options.withDefault(0)
  ),
  timeout: duration("timeout").pipe(
    Options.withDescription("Per-item limit; the item's process group is stopped (TERM, then KILL after --grace)."),
    Options.optional
  ),
  grace: duration("grace").pipe(
    Options.withDescription("Shutdown grace for running items."),
    Options.withDefault(Duration.seconds(5))
  ),
  stateDir: Options.text("state-dir").pipe(
    Options.withPseudoName("DIR"),
    Options.withDescription("State directory (default $AGENTOS_STATE_DIR, else .agentos)."),
    Options.optional
  ),
  name: Options.text("name").pipe(
    Options.withDescription("The run's identity for resuming (default: derived from the command and items source)."),
    Options.optional
  ),
  fresh: Options.boolean("fresh").pipe(Options.withDescription("Forget earlier progress of this run and start over.")),
  json: Options.boolean("json").pipe(
    Options.withDescription("Print the final summary as JSON on stdout (items' output then goes to stderr).")
  ),
  command: Args.text({ name: "command" }).pipe(
    Args.withDescription("The workflow command after --; {id} is replaced by the item id."),
    Args.atLeast(1)
  )
}

/** What the entry point gives the commands. */
export interface CliContext {
  readonly shutdown: Shutdown
  readonly journalFor: JournalFor
  readonly exitCode: Ref.Ref<number>
  /** `--item ""` on the command line, which the parser drops. */
  readonly emptyItems: number
}

/** The command tree. */
export const makeCli = (context: CliContext) => {
  const run = Command.make("run", runOptions, (config) =>
    Effect.flatMap(
      runCommand(
        {
          ...config,
          perCredential: Option.getOrElse(config.perCredential, () => 1),
          gatewayPerCredential: config.perCredential,
          emptyItems: context.emptyItems
        },
        context.shutdown,
        context.journalFor
      ),
      (code) => Ref.set(context.exitCode, code)
    )).pipe(
      Command.withDescription(
        "Run a workflow command once per item, several at a time: agentos-parallel run [options] -- <command> [args...]"
      )
    )
  const status = Command.make("status", {
    stateDir: Options.text("state-dir").pipe(Options.withPseudoName("DIR"), Options.optional),
    name: Options.text("name").pipe(Options.optional),
    json: Options.boolean("json")
  }, (config) => Effect.flatMap(statusCommand(config, context.journalFor), (code) => Ref.set(context.exitCode, code)))
    .pipe(
      Command.withDescription("Show the latest run (or --name): counts, each item's state, and what a rerun would do.")
    )
  const demo = Command.make(
    "demo",
    {},
    () => Effect.flatMap(demoCommand(context.shutdown, context.journalFor), (code) => Ref.set(context.exitCode, code))
  ).pipe(
    Command.withDescription(
      "Run the main job on an embedded default: a mock LLM provider, the example workflow, 10 items, 3 keys."
    )
  )
  const mockProvider = Command.make(
    "mock-provider",
    {
      keys: Options.text("keys").pipe(
        Options.withDescription("Comma-separated API keys the provider accepts."),
        Options.mapEffect((text) => {
          const keys = text.split(",").map((k) => k.trim()).filter((k) => k !== "")
          return keys.length > 0
            ? Effect.succeed(keys)
            : Effect.fail(invalid(`--keys: expected comma-separated keys, received ${JSON.stringify(text)}`))
        })
      ),
      limit: wholeNumber("limit", 1).pipe(
        Options.withDescription("Requests per key per window."),
        Options.withDefault(5)
      ),
      window: duration("window").pipe(Options.withDefault(Duration.seconds(1))),
      algorithm: Options.choice("algorithm", ["fixed-window", "token-bucket"]).pipe(
        Options.withDefault("fixed-window")
      ),
      latency: duration("latency").pipe(Options.withDefault(Duration.zero)),
      port: wholeNumber("port", 0).pipe(Options.withDefault(0)),
      quota: Options.text("quota").pipe(
        Options.withPseudoName("KEY=N"),
        Options.withDescription("Requests KEY may have accepted before it answers insufficient_quota (repeatable)."),
        Options.repeated,
        Options.mapEffect((specs) => {
          const quotas: Record<string, number> = {}
          for (const spec of specs) {
            const m = /^(.+)=(\d+)$/.exec(spec)
            if (m === null) return Effect.fail(invalid("--quota: expected KEY=N (N a whole number)"))
            quotas[m[1]!] = Number(m[2])
          }
          return Effect.succeed(quotas)
        })
      ),
      streamInterval: duration("stream-interval").pipe(
        Options.withDescription("With stream: true, the time between two server-sent events."),
        Options.withDefault(Duration.zero)
      )
    },
    (config) => Effect.flatMap(mockProviderCommand(config, context.shutdown), (code) => Ref.set(context.exitCode, code))
  ).pipe(
    Command.withDescription("Serve the mock OpenAI-compatible API on 127.0.0.1 (prints its base URL) until Ctrl+C.")
  )
  const root = Command.make("agentos-parallel").pipe(
    Command.withDescription("Run long, rate-limited workflows many at a time."),
    Command.withSubcommands([run, status, demo, mockProvider])
  )
  return Command.run(root, { name: "agentos-parallel", version: "0.1.0" })
}
