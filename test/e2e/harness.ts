/**
 * Harness for the black-box end-to-end tests of the built CLI (`dist/bin.js`).
 *
 * Every test gets a sandbox: a fresh temp dir used as the runner's cwd, with `state/` as its
 * `--state-dir` and `work/` for what fixtures write (handed to them as `$FIXTURE_DIR`). After each
 * test, any runner still going is killed, every process that carries the sandbox in its environment
 * (children and grandchildren of the runner inherit it) must be gone — survivors fail the test and
 * are killed — and the dir is removed (kept when `E2E_KEEP=1`).
 */
import { type ChildProcess, spawn, spawnSync } from "node:child_process"
import { createHash } from "node:crypto"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { StringDecoder } from "node:string_decoder"
import { fileURLToPath } from "node:url"
import { afterEach, beforeAll, expect } from "vitest"

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..")
/** The built CLI; `E2E_CLI=/path/to/bin.js` points the suite at another build of it. */
export const cliPath = process.env.E2E_CLI !== undefined && process.env.E2E_CLI !== ""
  ? path.resolve(process.env.E2E_CLI)
  : path.join(repoRoot, "dist", "bin.js")
export const fixturesDir = path.join(repoRoot, "test", "fixtures")

/** Absolute path of a fixture in `test/fixtures/`. */
export const fixture = (name: string): string => path.join(fixturesDir, name)

/** A command line that runs a Node fixture with this Node. */
export const nodeFixture = (name: string, ...args: Array<string>): Array<string> => [
  process.execPath,
  fixture(name),
  ...args
]

/** Fails (does not skip) when the CLI has not been built. */
export const assertCliBuilt = (): void => {
  if (!fs.existsSync(cliPath)) {
    throw new Error(`${cliPath} does not exist: run \`npm run build\` first (the e2e tests drive the built CLI)`)
  }
}

// ---------------------------------------------------------------------------------------------
// Running the CLI
// ---------------------------------------------------------------------------------------------

export interface CliResult {
  /** exit code, or null when the runner died of a signal */
  readonly code: number | null
  readonly signal: NodeJS.Signals | null
  readonly stdout: string
  readonly stderr: string
  /** from spawn to exit */
  readonly durationMs: number
  /** `performance.now()` when the runner exited */
  readonly exitedAt: number
  /** the harness killed the runner after `timeoutMs` */
  readonly timedOut: boolean
}

export interface CliOptions {
  readonly env?: Record<string, string | undefined> | undefined
  readonly cwd?: string | undefined
  /** written to the runner's stdin, which is then closed (default: closed at once, empty) */
  readonly stdin?: string | undefined
  /** the harness SIGKILLs the runner after this long (default 30 s) */
  readonly timeoutMs?: number | undefined
  /** sees every stdout chunk as it arrives */
  readonly onStdout?: ((chunk: Buffer) => void) | undefined
  /** keep stdout in memory (default true; turn off for huge outputs and use onStdout) */
  readonly captureStdout?: boolean | undefined
}

export interface RunningCli {
  readonly child: ChildProcess
  readonly pid: number
  readonly startedAt: number
  /** stdout so far */
  stdout(): string
  /** stderr so far */
  stderr(): string
  /** resolves once the runner has exited and its pipes are closed */
  readonly result: Promise<CliResult>
  /** sends a signal to the runner's pid only (not its group) */
  signal(signal: NodeJS.Signals): void
  /** polls until the predicate holds; rejects after timeoutMs, or when the runner exits first */
  waitFor(
    predicate: (out: { stdout: string; stderr: string }) => boolean,
    what: string,
    timeoutMs?: number
  ): Promise<void>
  readonly hasExited: () => boolean
}

const running = new Set<RunningCli>()

/** The environment every runner starts from: ours, minus AGENTOS_* and colour forcing. */
export const baseEnv = (): Record<string, string> => {
  const env: Record<string, string> = {}
  for (const [key, value] of Object.entries(process.env)) {
    if (value === undefined) continue
    if (key.startsWith("AGENTOS_") || key === "FORCE_COLOR" || key === "NODE_OPTIONS") continue
    env[key] = value
  }
  env.NO_COLOR = "1"
  return env
}

const mergeEnv = (
  base: Record<string, string>,
  extra: Record<string, string | undefined> | undefined
): Record<string, string> => {
  const env = { ...base }
  for (const [key, value] of Object.entries(extra ?? {})) {
    if (value === undefined) delete env[key]
    else env[key] = value
  }
  return env
}

/** Starts `node dist/bin.js ...args` and returns at once. */
export const startCli = (args: ReadonlyArray<string>, options: CliOptions = {}): RunningCli => {
  assertCliBuilt()
  const startedAt = performance.now()
  const child = spawn(process.execPath, [cliPath, ...args], {
    cwd: options.cwd ?? process.cwd(),
    env: mergeEnv(baseEnv(), options.env),
    stdio: ["pipe", "pipe", "pipe"]
  })
  if (child.pid === undefined) throw new Error("could not start the CLI")
  const pid = child.pid

  const capture = options.captureStdout ?? true
  const outDecoder = new StringDecoder("utf8")
  const errDecoder = new StringDecoder("utf8")
  let stdout = ""
  let stderr = ""
  child.stdout.on("data", (chunk: Buffer) => {
    options.onStdout?.(chunk)
    if (capture) stdout += outDecoder.write(chunk)
  })
  child.stderr.on("data", (chunk: Buffer) => {
    stderr += errDecoder.write(chunk)
  })
  child.stdin.on("error", () => {}) // the runner may never read its stdin
  if (options.stdin !== undefined) child.stdin.end(options.stdin)
  else child.stdin.end()

  let exited = false
  let timedOut = false
  const timeoutMs = options.timeoutMs ?? 30_000
  const timer = setTimeout(() => {
    timedOut = true
    child.kill("SIGKILL")
  }, timeoutMs)

  const result = new Promise<CliResult>((resolve, reject) => {
    let exit: { code: number | null; signal: NodeJS.Signals | null; at: number } | undefined
    let closed = false
    const finish = () => {
      if (exit === undefined) return
      clearTimeout(timer)
      if (capture) stdout += outDecoder.end()
      stderr += errDecoder.end()
      resolve({
        code: exit.code,
        signal: exit.signal,
        stdout,
        stderr,
        durationMs: exit.at - startedAt,
        exitedAt: exit.at,
        timedOut
      })
    }
    child.on("error", reject)
    child.on("exit", (code, signal) => {
      exited = true
      exit = { code, signal, at: performance.now() }
      // A leaked grandchild holding our pipe must not hang the test: give the pipes 2 s.
      setTimeout(() => {
        if (!closed) {
          child.stdout.destroy()
          child.stderr.destroy()
          closed = true
          finish()
        }
      }, 2_000).unref()
    })
    child.on("close", () => {
      if (closed) return
      closed = true
      finish()
    })
  })

  const handle: RunningCli = {
    child,
    pid,
    startedAt,
    stdout: () => stdout,
    stderr: () => stderr,
    result,
    hasExited: () => exited,
    signal: (signal) => {
      process.kill(pid, signal)
    },
    waitFor: async (predicate, what, waitMs = 15_000) => {
      const deadline = performance.now() + waitMs
      for (;;) {
        if (predicate({ stdout, stderr })) return
        if (exited) {
          throw new Error(
            `the runner exited before ${what}\n--- stdout ---\n${tail(stdout)}\n--- stderr ---\n${tail(stderr)}`
          )
        }
        if (performance.now() > deadline) {
          throw new Error(
            `timed out after ${waitMs} ms waiting for ${what}\n--- stdout ---\n${tail(stdout)}\n--- stderr ---\n${
              tail(stderr)
            }`
          )
        }
        await sleep(20)
      }
    }
  }
  running.add(handle)
  void result.then(() => running.delete(handle), () => running.delete(handle))
  return handle
}

/** Runs `node dist/bin.js ...args` to the end. */
export const runCli = (args: ReadonlyArray<string>, options: CliOptions = {}): Promise<CliResult> =>
  startCli(args, options).result

// ---------------------------------------------------------------------------------------------
// Sandboxes
// ---------------------------------------------------------------------------------------------

export interface Sandbox {
  /** temp dir, the runner's cwd */
  readonly dir: string
  /** `<dir>/state`, passed as --state-dir */
  readonly stateDir: string
  /** `<dir>/work`, handed to fixtures as $FIXTURE_DIR */
  readonly work: string
  /** the env added to every runner started from this sandbox */
  readonly env: Record<string, string>
  /** writes a file into the sandbox dir and returns its path */
  file(name: string, content: string): string
  /** `run --state-dir <stateDir> ...runArgs -- ...command` */
  runArgs(runArgs: ReadonlyArray<string>, command: ReadonlyArray<string>): Array<string>
  run(runArgs: ReadonlyArray<string>, command: ReadonlyArray<string>, options?: CliOptions): Promise<CliResult>
  start(runArgs: ReadonlyArray<string>, command: ReadonlyArray<string>, options?: CliOptions): RunningCli
  /** any CLI invocation, with the sandbox's cwd and env */
  cli(args: ReadonlyArray<string>, options?: CliOptions): Promise<CliResult>
  startCli(args: ReadonlyArray<string>, options?: CliOptions): RunningCli
}

const SANDBOX_VAR = "E2E_SANDBOX"

/**
 * Call once at the top of a test file. Registers the "CLI is built" check and the per-test
 * cleanup, and returns a function that makes a sandbox for the current test.
 */
export const useSandboxes = (): () => Sandbox => {
  let sandboxes: Array<Sandbox> = []

  beforeAll(() => {
    assertCliBuilt()
  })

  afterEach(async () => {
    const current = sandboxes
    sandboxes = []
    // A runner still going here means the test failed already: stop it.
    for (const cli of running) {
      try {
        cli.child.kill("SIGKILL")
      } catch {
        // gone
      }
    }
    const problems: Array<string> = []
    for (const sandbox of current) {
      const survivors = await waitForNoProcessesWithEnv(`${SANDBOX_VAR}=${sandbox.dir}`, 1_500)
      if (survivors.length > 0) {
        for (const p of survivors) {
          try {
            process.kill(p.pid, "SIGKILL")
          } catch {
            // gone
          }
        }
        problems.push(
          `processes outlived the runner (killed now):\n${survivors.map((p) => `  ${p.pid} ${p.args}`).join("\n")}`
        )
      }
      if (process.env.E2E_KEEP === "1") {
        console.log(`e2e sandbox kept: ${sandbox.dir}`)
      } else {
        fs.rmSync(sandbox.dir, { recursive: true, force: true })
      }
    }
    if (problems.length > 0) throw new Error(problems.join("\n"))
  })

  return () => {
    const dir = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), "agentos-e2e-")))
    const stateDir = path.join(dir, "state")
    const work = path.join(dir, "work")
    fs.mkdirSync(work)
    const env: Record<string, string> = { [SANDBOX_VAR]: dir, FIXTURE_DIR: work }
    const withSandbox = (options: CliOptions = {}): CliOptions => ({
      ...options,
      cwd: options.cwd ?? dir,
      env: { ...env, ...options.env }
    })
    const runArgs = (args: ReadonlyArray<string>, command: ReadonlyArray<string>) => [
      "run",
      "--state-dir",
      stateDir,
      ...args,
      "--",
      ...command
    ]
    const sandbox: Sandbox = {
      dir,
      stateDir,
      work,
      env,
      file: (name, content) => {
        const file = path.join(dir, name)
        fs.writeFileSync(file, content)
        return file
      },
      runArgs,
      run: (args, command, options) => runCli(runArgs(args, command), withSandbox(options)),
      start: (args, command, options) => startCli(runArgs(args, command), withSandbox(options)),
      cli: (args, options) => runCli(args, withSandbox(options)),
      startCli: (args, options) => startCli(args, withSandbox(options))
    }
    sandboxes.push(sandbox)
    return sandbox
  }
}

// ---------------------------------------------------------------------------------------------
// Processes
// ---------------------------------------------------------------------------------------------

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))

/** Polls until cond() holds; throws with `what` after timeoutMs. */
export const waitUntil = async (cond: () => boolean, what: string, timeoutMs = 10_000): Promise<void> => {
  const deadline = performance.now() + timeoutMs
  while (!cond()) {
    if (performance.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)
    await sleep(20)
  }
}

const procState = (pid: number): string | undefined => {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8")
    // "pid (comm) S ..." — comm may contain spaces and parentheses
    return stat.slice(stat.lastIndexOf(")") + 2).split(" ")[0]
  } catch {
    return undefined
  }
}

/**
 * Whether a pid is a live process: `kill(pid, 0)` says ESRCH → dead. A zombie (exited, not yet
 * reaped by whoever adopted it) counts as dead too.
 */
export const isAlive = (pid: number): boolean => {
  try {
    process.kill(pid, 0)
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ESRCH") return false
  }
  const state = procState(pid)
  if (state === undefined) return fs.existsSync("/proc/self") ? false : true
  return state !== "Z"
}

export const alivePids = (pids: ReadonlyArray<number>): Array<number> => pids.filter(isAlive)

export interface PsEntry {
  readonly pid: number
  readonly pgid: number
  readonly args: string
}

/** Live processes (not zombies) whose command line contains `marker`, from `ps -eo pid,pgid,args`. */
export const findByMarker = (marker: string): Array<PsEntry> => {
  const ps = spawnSync("ps", ["-eo", "pid=,pgid=,stat=,args="], { encoding: "utf8" })
  if (ps.status !== 0) throw new Error(`ps failed: ${ps.stderr}`)
  const found: Array<PsEntry> = []
  for (const line of ps.stdout.split("\n")) {
    const m = /^\s*(\d+)\s+(\d+)\s+(\S+)\s+(.*)$/.exec(line)
    if (m === null) continue
    const [, pid, pgid, stat, args] = m as unknown as [string, string, string, string, string]
    if (stat.startsWith("Z") || !args.includes(marker)) continue
    if (Number(pid) === process.pid) continue
    found.push({ pid: Number(pid), pgid: Number(pgid), args })
  }
  return found
}

/** Live processes whose environment contains `entry` (e.g. "E2E_SANDBOX=/tmp/..."), from /proc. */
export const findProcessesWithEnv = (entry: string): Array<{ pid: number; args: string }> => {
  const found: Array<{ pid: number; args: string }> = []
  let pids: Array<string>
  try {
    pids = fs.readdirSync("/proc").filter((name) => /^\d+$/.test(name))
  } catch {
    return found
  }
  for (const name of pids) {
    const pid = Number(name)
    if (pid === process.pid) continue
    try {
      const environ = fs.readFileSync(`/proc/${name}/environ`, "latin1")
      if (!environ.split("\0").includes(entry)) continue
      if (procState(pid) === "Z") continue
      const args = fs.readFileSync(`/proc/${name}/cmdline`, "latin1").split("\0").join(" ").trim()
      found.push({ pid, args })
    } catch {
      // gone, or not ours
    }
  }
  return found
}

const waitForNoProcessesWithEnv = async (entry: string, timeoutMs: number) => {
  const deadline = performance.now() + timeoutMs
  for (;;) {
    const found = findProcessesWithEnv(entry)
    if (found.length === 0 || performance.now() > deadline) return found
    await sleep(50)
  }
}

/** Waits (briefly) until none of the pids is alive; returns those still alive. */
export const waitForDeath = async (pids: ReadonlyArray<number>, timeoutMs = 1_000): Promise<Array<number>> => {
  const deadline = performance.now() + timeoutMs
  for (;;) {
    const alive = alivePids(pids)
    if (alive.length === 0 || performance.now() > deadline) return alive
    await sleep(25)
  }
}

/** Waits (briefly) until no live process carries the marker; returns the ones still there. */
export const waitForNoMarker = async (marker: string, timeoutMs = 1_000): Promise<Array<PsEntry>> => {
  const deadline = performance.now() + timeoutMs
  for (;;) {
    const found = findByMarker(marker)
    if (found.length === 0 || performance.now() > deadline) return found
    await sleep(25)
  }
}

// ---------------------------------------------------------------------------------------------
// Output
// ---------------------------------------------------------------------------------------------

const ANSI = /\u001b\[[0-9;?]*[ -/]*[@-~]|\u001b\][^\u0007]*\u0007/g
export const stripAnsi = (text: string): string => text.replace(ANSI, "")

/** Lines of a text; a final newline does not make an extra empty line. `\r` before `\n` dropped. */
export const lines = (text: string): Array<string> => {
  if (text === "") return []
  const parts = text.split("\n").map((line) => line.replace(/\r$/, ""))
  if (parts[parts.length - 1] === "") parts.pop()
  return parts
}

/**
 * Parses a line printed as `[<id>] <line>`. A blank child line may be printed as `[<id>] ` or
 * `[<id>]`; both give "". Returns undefined for a line that is not prefixed.
 */
export const parsePrefixed = (line: string): { id: string; text: string } | undefined => {
  const m = /^\[([A-Za-z0-9_-]{1,128})\](?: (.*))?$/.exec(line)
  if (m === null) return undefined
  return { id: m[1]!, text: m[2] ?? "" }
}

/** The lines item `id` wrote, in order, as the runner printed them in `text`. */
export const linesOf = (text: string, id: string): Array<string> => {
  const out: Array<string> = []
  for (const line of lines(text)) {
    const parsed = parsePrefixed(line)
    if (parsed !== undefined && parsed.id === id) out.push(parsed.text)
  }
  return out
}

/** The runner's own lines: those starting with `[COORDINATOR]`. */
export const coordinatorLines = (stderr: string): Array<string> =>
  lines(stripAnsi(stderr)).filter((line) => line.includes("[COORDINATOR]"))

/** `KEY=value` lines an item printed (env-dump.sh). */
export const keyValues = (itemLines: ReadonlyArray<string>): Record<string, string> => {
  const record: Record<string, string> = {}
  for (const line of itemLines) {
    const at = line.indexOf("=")
    if (at > 0) record[line.slice(0, at)] = line.slice(at + 1)
  }
  return record
}

/** A readable account of a run, for assertion messages. */
export const explain = (r: CliResult): string =>
  `exit code ${r.code}, signal ${r.signal}, ${Math.round(r.durationMs)} ms${
    r.timedOut ? " (killed by the harness after its timeout)" : ""
  }\n--- stdout (tail) ---\n${tail(r.stdout)}\n--- stderr (tail) ---\n${tail(r.stderr)}`

export const tail = (text: string, max = 3_000): string => text.length > max ? `…${text.slice(-max)}` : text

export const expectExit = (r: CliResult, code: number): void => {
  expect(r.timedOut, explain(r)).toBe(false)
  expect(r.code, explain(r)).toBe(code)
}

// ---------------------------------------------------------------------------------------------
// Summaries and state files (shapes SPEC leaves open are read tolerantly)
// ---------------------------------------------------------------------------------------------

type Json = null | boolean | number | string | Array<Json> | { [key: string]: Json }

/**
 * Every `{ id, status }` pair found anywhere in a JSON value (SPEC fixes ids and statuses, not
 * the layout). The id may be named `id`, `itemId` or `workflowId`.
 */
export const statusesIn = (value: unknown): Map<string, string> => {
  const found = new Map<string, string>()
  const visit = (v: unknown) => {
    if (Array.isArray(v)) {
      v.forEach(visit)
      return
    }
    if (v === null || typeof v !== "object") return
    const o = v as Record<string, unknown>
    const id = [o.id, o.itemId, o.workflowId].find((x) => typeof x === "string")
    if (typeof id === "string" && typeof o.status === "string") found.set(id, o.status)
    Object.values(o).forEach(visit)
  }
  visit(value)
  return found
}

export const parseJson = (text: string, what: string): Json => {
  try {
    return JSON.parse(text) as Json
  } catch (error) {
    throw new Error(`${what} is not JSON (${String(error)}):\n${tail(text)}`)
  }
}

/** Directories `<state>/logs/parallel/<timestamp>/`, oldest first. */
export const runLogDirs = (stateDir: string): Array<string> => {
  const root = path.join(stateDir, "logs", "parallel")
  if (!fs.existsSync(root)) return []
  return fs.readdirSync(root)
    .map((name) => path.join(root, name))
    .filter((p) => fs.statSync(p).isDirectory())
    .sort((a, b) => fs.statSync(a).mtimeMs - fs.statSync(b).mtimeMs || a.localeCompare(b))
}

export const latestRunLogDir = (stateDir: string): string => {
  const dirs = runLogDirs(stateDir)
  if (dirs.length === 0) throw new Error(`no run log dir under ${path.join(stateDir, "logs", "parallel")}`)
  return dirs[dirs.length - 1]!
}

export const readSummaryStatuses = (stateDir: string): Map<string, string> => {
  const file = path.join(latestRunLogDir(stateDir), "summary.json")
  return statusesIn(parseJson(fs.readFileSync(file, "utf8"), file))
}

/** The events of `workflow-audit-<id>.jsonl` in the latest run log dir; every line must be JSON. */
export const readAudit = (stateDir: string, id: string): Array<Record<string, unknown>> => {
  const file = path.join(latestRunLogDir(stateDir), `workflow-audit-${id}.jsonl`)
  return lines(fs.readFileSync(file, "utf8"))
    .filter((line) => line.trim() !== "")
    .map((line, i) => {
      const value = parseJson(line, `${file} line ${i + 1}`)
      if (value === null || typeof value !== "object" || Array.isArray(value)) {
        throw new Error(`${file} line ${i + 1} is not a JSON object: ${line}`)
      }
      return value as Record<string, unknown>
    })
}

const normalise = (s: string) => s.toLowerCase().replace(/[^a-z]/g, "")

/** Whether an audit event names `kind` (e.g. "started", "rate-limited") in one of its string fields. */
export const eventIs = (event: Record<string, unknown>, kind: string): boolean =>
  Object.values(event).some((v) => typeof v === "string" && normalise(v).endsWith(normalise(kind)))

/** The attempt number an audit event carries, if any (a key containing "attempt"). */
export const eventAttempt = (event: Record<string, unknown>): number | undefined => {
  for (const [key, value] of Object.entries(event)) {
    if (!/attempt/i.test(key)) continue
    if (typeof value === "number") return value
    if (typeof value === "string" && /^\d+$/.test(value)) return Number(value)
  }
  return undefined
}

/** Every file under dir (recursively). */
export const filesUnder = (dir: string): Array<string> => {
  if (!fs.existsSync(dir)) return []
  const out: Array<string> = []
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, entry.name)
    if (entry.isDirectory()) out.push(...filesUnder(p))
    else if (entry.isFile()) out.push(p)
  }
  return out
}

/** Where any of the needles occurs in the bytes of any file under dir. */
export const scanFilesFor = (dir: string, needles: ReadonlyArray<string>): Array<string> => {
  const hits: Array<string> = []
  for (const file of filesUnder(dir)) {
    let bytes: Buffer
    try {
      bytes = fs.readFileSync(file)
    } catch {
      continue
    }
    for (const needle of needles) {
      // utf8 and utf16le (SQLite may store text as either)
      if (bytes.includes(Buffer.from(needle, "utf8")) || bytes.includes(Buffer.from(needle, "utf16le"))) {
        hits.push(`${file} contains ${JSON.stringify(needle)}`)
      }
    }
  }
  return hits
}

export const sha256 = (text: string): string => createHash("sha256").update(text).digest("hex")

/** A string unlikely to appear anywhere by chance. */
export const uniqueToken = (prefix: string): string =>
  `${prefix}${
    createHash("sha256").update(`${process.pid}-${performance.now()}-${Math.random()}`).digest("hex").slice(0, 24)
  }`

// ---------------------------------------------------------------------------------------------
// Fixture records
// ---------------------------------------------------------------------------------------------

export interface Span {
  readonly id: string
  readonly start: number
  readonly end: number
}

/** The spans sleep-then-echo.sh recorded in $FIXTURE_DIR. */
export const readSpans = (work: string): Array<Span> =>
  fs.readdirSync(work)
    .filter((name) => name.endsWith(".span"))
    .map((name) => {
      const [id, start, end] = fs.readFileSync(path.join(work, name), "utf8").trim().split(" ")
      return { id: id!, start: Number(start), end: Number(end) }
    })

/** The most spans open at one time. */
export const maxOverlap = (spans: ReadonlyArray<Span>): number => {
  const points = spans.flatMap((s) => [{ t: s.start, d: 1 }, { t: s.end, d: -1 }])
  // at equal times, an end before a start
  points.sort((a, b) => a.t - b.t || a.d - b.d)
  let open = 0
  let max = 0
  for (const p of points) {
    open += p.d
    max = Math.max(max, open)
  }
  return max
}

export interface FixtureEvent {
  readonly kind: "start" | "exit"
  readonly id: string
  readonly attempt: string
  readonly label: string
  readonly at: number
  readonly code?: number | undefined
}

/** The events.log rate-limit-once.sh appends to. */
export const readFixtureEvents = (work: string): Array<FixtureEvent> => {
  const file = path.join(work, "events.log")
  if (!fs.existsSync(file)) return []
  return lines(fs.readFileSync(file, "utf8")).map((line) => {
    const [kind, id, attempt, label, at, code] = line.split(" ")
    return {
      kind: kind as "start" | "exit",
      id: id!,
      attempt: attempt!,
      label: label!,
      at: Number(at),
      code: code === undefined ? undefined : Number(code)
    }
  })
}

/** Item ids fail-if.sh saw (it writes `<id>.ran`, one line per start). */
export const ranIds = (work: string): Array<string> =>
  fs.readdirSync(work).filter((name) => name.endsWith(".ran")).map((name) => name.slice(0, -4)).sort()

export const startsOf = (work: string, id: string, suffix = ".ran"): number => {
  const file = path.join(work, `${id}${suffix}`)
  return fs.existsSync(file) ? lines(fs.readFileSync(file, "utf8")).length : 0
}
