import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import { readdirSync, readFileSync } from "node:fs"

/** Fields 3.. of /proc/<pid>/stat (state first), or `undefined` when the process is gone or /proc is missing. */
const statFields = (pid: number): Array<string> | undefined => {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8")
    // The command name (field 2) is in parentheses and may contain spaces: count from its end.
    return stat.slice(stat.lastIndexOf(")") + 2).split(" ")
  } catch {
    return undefined
  }
}

/** A zombie (exited, not yet reaped) or dead process: nothing is running any more. */
const isZombie = (pid: number): boolean => {
  const state = statFields(pid)?.[0]
  return state === "Z" || state === "X"
}

/**
 * The kernel's start time of a process (field 22 of /proc/<pid>/stat), which together with the pid
 * identifies it even after the pid is reused. `undefined` where /proc is not available.
 */
export const processStartTime = (pid: number): string | undefined => statFields(pid)?.[19]

/** Whether a process with this pid exists and is not a zombie. */
const processRuns = (pid: number): boolean => {
  try {
    process.kill(pid, 0)
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "EPERM") return false
  }
  return !isZombie(pid)
}

/**
 * Whether the process with this pid is alive (a zombie is not) and, when a start time is known, is
 * still the same process.
 */
export const isSameProcessAlive = (pid: number, startTime: string | null | undefined): boolean => {
  if (!processRuns(pid)) return false
  if (startTime === null || startTime === undefined) return true
  const current = processStartTime(pid)
  return current === undefined || current === startTime
}

/** Sends `signal` to the process group led by `pid`; a group already gone is not an error. */
export const signalGroup = (pid: number, signal: NodeJS.Signals): void => {
  try {
    process.kill(-pid, signal)
  } catch {
    // ESRCH: the group is gone.
  }
}

/** Whether any process (a zombie included) is still in the group led by `pid`: one syscall. */
export const groupHasMembers = (pid: number): boolean => {
  try {
    process.kill(-pid, 0)
    return true
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM"
  }
}

/** Whether the group has a member that is not a zombie (zombies wait for a reaper that may be slow or absent). */
const groupAlive = (pgid: number) => {
  try {
    process.kill(-pgid, 0)
  } catch {
    return false
  }
  let names: Array<string>
  try {
    names = readdirSync("/proc")
  } catch {
    return true
  }
  for (const name of names) {
    if (!/^\d+$/.test(name)) continue
    const fields = statFields(Number(name))
    if (fields !== undefined && Number(fields[2]) === pgid && fields[0] !== "Z" && fields[0] !== "X") return true
  }
  return false
}

/**
 * Stops the process group led by `pid` if it is still the recorded one: TERM, up to `grace` for it
 * to go, then KILL. The group is the recorded one when its leader is the recorded process, or when
 * the leader is gone but members remain (a pid in use as a group id is never given to a new process).
 */
export const stopProcessGroup = (pid: number, startTime: string | null | undefined, grace: Duration.DurationInput) =>
  Effect.gen(function*() {
    const leaderIsOurs = isSameProcessAlive(pid, startTime)
    const orphanedGroup = !processRuns(pid) && groupAlive(pid)
    if (!leaderIsOurs && !orphanedGroup) return false
    signalGroup(pid, "SIGTERM")
    const deadline = Date.now() + Duration.toMillis(grace)
    while (groupAlive(pid) && Date.now() < deadline) yield* Effect.sleep("50 millis")
    signalGroup(pid, "SIGKILL")
    return true
  })

/**
 * Process groups of live processes whose environment holds every one of `entries` ("NAME=value"),
 * and whose value of `prefixed[0]` starts with `prefixed[1]`. Linux only (empty elsewhere).
 */
export const groupsWithEnvironment = (
  entries: ReadonlyArray<string>,
  prefixed: readonly [string, string]
): Array<number> => {
  const groups = new Set<number>()
  let names: Array<string>
  try {
    names = readdirSync("/proc")
  } catch {
    return []
  }
  for (const name of names) {
    if (!/^\d+$/.test(name) || Number(name) === process.pid) continue
    try {
      const environ = readFileSync(`/proc/${name}/environ`, "utf8").split("\0")
      if (!entries.every((entry) => environ.includes(entry))) continue
      if (!environ.some((entry) => entry.startsWith(`${prefixed[0]}=${prefixed[1]}`))) continue
      const fields = statFields(Number(name))
      if (fields === undefined || fields[0] === "Z") continue
      groups.add(Number(fields[2]))
    } catch {
      // gone, or not ours to read
    }
  }
  return [...groups]
}
