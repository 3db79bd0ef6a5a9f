// Preloaded with `node --import` by bench/cli-compare.mjs: on exit, appends this process's own CPU
// time (user and system of all its threads, children not included) to $AGENTOS_BENCH_CPU_FILE.
import { appendFileSync } from "node:fs"

const file = process.env.AGENTOS_BENCH_CPU_FILE
if (file) {
  process.on("exit", () => {
    const { user, system } = process.cpuUsage()
    appendFileSync(file, `${user / 1e6} ${system / 1e6}\n`)
  })
}
