import * as Path from "@effect/platform/Path"
import * as Effect from "effect/Effect"
import * as fs from "node:fs"
import * as nodePath from "node:path"
import { timestampForPath } from "../internal/timestamp.js"
import { UsageError } from "./UsageError.js"

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

const refuse = (detail: string) => new UsageError({ detail })

const lstatOrUndefined = (path: string): fs.Stats | undefined => {
  try {
    return fs.lstatSync(path)
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined
    throw error
  }
}

const ownerCheck = (stateDir: string, stats: fs.Stats) => {
  const uid = process.getuid?.()
  if (uid !== undefined && stats.uid !== uid) {
    throw refuse(
      `state dir ${stateDir}: expected a directory owned by you (uid ${uid}), received one owned by uid ${stats.uid}; nothing ran`
    )
  }
}

/**
 * Creates (0700) the state directory if needed and checks it: owned by this user. Then checks that
 * `journal.db` and its WAL files, when present, are not symlinks, and creates the journal file 0600
 * (SQLite gives its WAL files the journal's mode).
 */
export const prepareStateDir = (stateDir: string): Effect.Effect<void, UsageError> =>
  guarded(() => {
    fs.mkdirSync(stateDir, { recursive: true, mode: 0o700 })
    const stats = fs.statSync(stateDir)
    if (!stats.isDirectory()) throw refuse(`state dir: expected a directory, received ${JSON.stringify(stateDir)}`)
    ownerCheck(stateDir, stats)
    const journal = nodePath.join(stateDir, "journal.db")
    for (const suffix of ["", "-wal", "-shm"]) refuseLink(stateDir, journal + suffix)
    fs.closeSync(fs.openSync(journal, fs.constants.O_RDWR | fs.constants.O_CREAT | fs.constants.O_NOFOLLOW, 0o600))
  })

const refuseLink = (stateDir: string, path: string) => {
  const stats = lstatOrUndefined(path)
  if (stats?.isSymbolicLink() === true) {
    throw refuse(
      `state dir ${stateDir}: expected no symlink below it, received one at ${path}; remove it, nothing ran`
    )
  }
  return stats
}

/**
 * Creates `target` (0700), a directory below `stateDir`, one component at a time, refusing any
 * component that is a symlink or not a directory. With `empty`, what `target` held is removed first
 * (without following any link inside it).
 */
export const makeSafeDirectory = (
  stateDir: string,
  target: string,
  options: { readonly empty?: boolean } = {}
): Effect.Effect<void, UsageError> =>
  guarded(() => {
    const relative = nodePath.relative(stateDir, target)
    if (relative.startsWith("..") || nodePath.isAbsolute(relative)) {
      throw refuse(`state dir: expected ${target} below ${stateDir}`)
    }
    let current = stateDir
    for (const component of relative.split(nodePath.sep).filter((c) => c !== "")) {
      current = nodePath.join(current, component)
      const stats = refuseLink(stateDir, current)
      if (stats === undefined) {
        makeDirectory(stateDir, current)
      } else if (!stats.isDirectory()) {
        throw refuse(`state dir ${stateDir}: expected a directory at ${current}, received another kind of file`)
      }
    }
    if (options.empty === true) {
      for (const entry of fs.readdirSync(target)) {
        fs.rmSync(nodePath.join(target, entry), { recursive: true, force: true })
      }
    }
  })

const makeDirectory = (stateDir: string, path: string) => {
  try {
    fs.mkdirSync(path, { mode: 0o700 })
  } catch (error) {
    // Another runner made it in the meantime: it must still be a real directory.
    if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error
    if (refuseLink(stateDir, path)?.isDirectory() !== true) {
      throw refuse(`state dir ${stateDir}: expected a directory at ${path}, received another kind of file`)
    }
  }
}

const guarded = (f: () => void): Effect.Effect<void, UsageError> =>
  Effect.try({
    try: f,
    catch: (error) =>
      error instanceof UsageError
        ? error
        : refuse(`state dir: expected a usable directory, received an error (${(error as Error).message})`)
  })
