import type * as FileSystem from "@effect/platform/FileSystem"
import type * as Path from "@effect/platform/Path"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import { Output } from "../Output.js"
import type { JournalError, JournalItemStatus } from "../RunJournal.js"
import { type JournalFor, readStatus } from "./JournalAccess.js"
import { resolveStateDir } from "./RunLayout.js"
import { UsageError } from "./UsageError.js"

/** What `status` was asked. */
export interface StatusConfig {
  readonly stateDir: Option.Option<string>
  readonly name: Option.Option<string>
  readonly json: boolean
}

const STATUSES: ReadonlyArray<JournalItemStatus> = ["succeeded", "failed", "interrupted", "running", "pending"]

/**
 * `agentos-parallel status`: the latest run (or `--name`), its counts, each item's state and what a
 * rerun would run. Exits 0; 2 when `--name` names no run.
 */
export const statusCommand = (
  config: StatusConfig,
  journalFor: JournalFor
): Effect.Effect<number, UsageError | JournalError, Output | FileSystem.FileSystem | Path.Path> =>
  Effect.scoped(Effect.gen(function*() {
    const output = yield* Output
    const stateDir = yield* resolveStateDir(Option.getOrUndefined(config.stateDir))
    const found = yield* readStatus(journalFor, stateDir, config.name)
    if (Option.isNone(found)) {
      if (Option.isSome(config.name)) {
        return yield* new UsageError({
          detail: `status: expected the name of a run recorded in ${stateDir}, received ${
            JSON.stringify(config.name.value)
          }`
        })
      }
      yield* output.lines(config.json ? "stdout" : "stderr", [
        config.json ? JSON.stringify({ stateDir, run: null }) : `No runs recorded in ${stateDir}`
      ])
      return 0
    }
    const run = found.value
    const counts = Object.fromEntries(STATUSES.map((s) => [s, run.items.filter((i) => i.status === s).length]))
    const rerun = run.items.filter((i) => i.status !== "succeeded").map((i) => i.id)
    if (config.json) {
      yield* output.lines("stdout", [JSON.stringify(
        {
          stateDir,
          run: {
            runId: run.runId,
            description: run.description,
            active: run.active,
            createdAt: new Date(run.createdAt).toISOString(),
            updatedAt: new Date(run.updatedAt).toISOString(),
            total: run.items.length,
            counts,
            items: run.items.map((i) => ({
              id: i.id,
              status: i.status,
              attempts: i.attempts,
              error: Option.getOrNull(i.error)
            })),
            rerun
          }
        },
        null,
        2
      )])
      return 0
    }
    const width = Math.max(2, ...run.items.map((i) => i.id.length))
    yield* output.lines("stdout", [
      `Run ${run.runId}: ${run.description}`,
      `${run.active ? "Running now" : "Not running"}; last update ${new Date(run.updatedAt).toISOString()}`,
      `${run.items.length} items: ${STATUSES.map((s) => `${counts[s]} ${s}`).join(", ")}`,
      "",
      `${"ID".padEnd(width)}  STATUS       ATTEMPTS  ERROR`,
      ...run.items.map((i) =>
        `${i.id.padEnd(width)}  ${i.status.padEnd(11)}  ${String(i.attempts).padEnd(8)}  ${
          Option.getOrElse(i.error, () => "")
        }`
          .trimEnd()
      ),
      "",
      rerun.length === 0
        ? "A rerun would run nothing: every item succeeded."
        : `A rerun would run ${rerun.length} item${rerun.length === 1 ? "" : "s"} (succeeded ones are skipped): ${
          rerun.join(" ")
        }`
    ])
    return 0
  }))
