import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import { readFileSync } from "node:fs"

/**
 * The kernel's start time of a process (field 22 of /proc/<pid>/stat), which together with the pid
 * identifies it even after the pid is reused. `undefined` where /proc is not available.
 */
export const processStartTime = (pid: number): string | undefined => {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8")
    // The command name (field 2) is in parentheses and may contain spaces: count from its end.
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ")
    return fields[19]
  } catch {
    return undefined
  }
}

/** Whether the process with this pid is alive and, when a start time is known, is still the same process. */
export const isSameProcessAlive = (pid: number, startTime: string | null | undefined): boolean => {
  try {
    process.kill(pid, 0)
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM"
  }
  if (startTime === null || startTime === undefined) return true
  const current = processStartTime(pid)
  return current === undefined || current === startTime
}

const signalGroup = (pid: number, signal: NodeJS.Signals) => {
  try {
    process.kill(-pid, signal)
  } catch {
    // The group is gone.
  }
}

const groupAlive = (pid: number) => {
  try {
    process.kill(-pid, 0)
    return true
  } catch {
    return false
  }
}

/**
 * Stops the process group led by `pid` if its leader is still the recorded process: TERM, up to
 * `grace` for it to go, then KILL.
 */
export const stopProcessGroup = (pid: number, startTime: string | null | undefined, grace: Duration.DurationInput) =>
  Effect.gen(function*() {
    if (!isSameProcessAlive(pid, startTime) && !(startTime === null && groupAlive(pid))) return false
    signalGroup(pid, "SIGTERM")
    const deadline = Date.now() + Duration.toMillis(grace)
    while (groupAlive(pid) && Date.now() < deadline) yield* Effect.sleep("50 millis")
    signalGroup(pid, "SIGKILL")
    return true
  })
