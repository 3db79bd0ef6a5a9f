import * as FileSystem from "@effect/platform/FileSystem"
import * as Path from "@effect/platform/Path"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import type * as Scope from "effect/Scope"
import type { JournalError, RunJournalShape, RunStatus } from "../RunJournal.js"

/** The journal to keep runs in, by state directory. Provided by the entry point. */
export type JournalFor = (
  stateDir: string,
  options?: { readonly readOnly?: boolean }
) => Effect.Effect<RunJournalShape, JournalError, Scope.Scope | FileSystem.FileSystem | Path.Path>

/** The journal file of a state directory. */
export const journalFile = (path: Path.Path, stateDir: string): string => path.join(stateDir, "journal.db")

/**
 * A run's status (or the latest run's) for commands that only read: with no journal file there are
 * no runs, and none is created; an existing journal is opened read-only and left as it is.
 */
export const readStatus = (
  journalFor: JournalFor,
  stateDir: string,
  runId: Option.Option<string>
): Effect.Effect<Option.Option<RunStatus>, JournalError, Scope.Scope | FileSystem.FileSystem | Path.Path> =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const path = yield* Path.Path
    const known = yield* Effect.orElseSucceed(fs.exists(journalFile(path, stateDir)), () => false)
    return known
      ? yield* Effect.flatMap(journalFor(stateDir, { readOnly: true }), (journal) => journal.status(runId))
      : Option.none()
  })
