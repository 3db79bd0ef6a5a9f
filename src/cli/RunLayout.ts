import * as Path from "@effect/platform/Path"
import * as Effect from "effect/Effect"
import { timestampForPath } from "../internal/timestamp.js"

/** Where a run keeps its files under the state directory (see SPEC "Files"). */
export interface RunLayout {
  readonly stateDir: string
  /** `checkpoints/<run>`: the directory of the per-item checkpoint databases. */
  readonly checkpointDir: string
  /** `logs/parallel/<timestamp>`: this invocation's logs. */
  readonly logDir: string
  readonly summary: string
  readonly auditFile: (id: string) => string
}

/** The state directory: `--state-dir`, else `$AGENTOS_STATE_DIR`, else `.agentos` in the working directory. */
export const resolveStateDir = (flag: string | undefined): Effect.Effect<string, never, Path.Path> =>
  Effect.map(Path.Path, (path) => path.resolve(flag ?? process.env.AGENTOS_STATE_DIR ?? ".agentos"))

export const makeLayout = (
  stateDir: string,
  runId: string,
  startedAt: Date
): Effect.Effect<RunLayout, never, Path.Path> =>
  Effect.map(Path.Path, (path) => {
    const logDir = path.join(stateDir, "logs", "parallel", timestampForPath(startedAt))
    return {
      stateDir,
      checkpointDir: path.join(stateDir, "checkpoints", runId),
      logDir,
      summary: path.join(logDir, "summary.json"),
      auditFile: (id) => path.join(logDir, `workflow-audit-${id}.jsonl`)
    }
  })
