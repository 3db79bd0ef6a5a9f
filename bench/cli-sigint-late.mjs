// Ctrl+C with a child that, on TERM, starts a helper (same process group, sharing its output pipes)
// and exits at once: time from SIGINT to the runner's exit, and processes left behind.
//   node bench/cli-sigint-late.mjs [bundle=dist/bin.js] [reps=5]
import { execFileSync, spawn } from "node:child_process"
import { rmSync } from "node:fs"
const [bundle = new URL("../dist/bin.js", import.meta.url).pathname, repsArg] = process.argv.slice(2)
const marker = 4700 + Math.floor(Math.random() * 200)
const childSrc =
  `const { spawn } = require("node:child_process"); process.on("SIGTERM", () => { spawn("sleep", ["${marker}"], { stdio: "inherit" }); process.exit(0) }); console.log("ready"); setTimeout(() => {}, 1e9)`
const times = []
for (let i = 0; i < Number(repsArg ?? 5); i++) {
  const sd = `/tmp/late-gc-${i}`
  rmSync(sd, { recursive: true, force: true })
  const t = await new Promise((res) => {
    const p = spawn(process.execPath, [
      bundle,
      "run",
      "-p",
      "3",
      "--state-dir",
      sd,
      ...[1, 2, 3, 4, 5, 6].flatMap((k) => ["--item", `c${k}`]),
      "--",
      process.execPath,
      "-e",
      childSrc
    ], { stdio: ["ignore", "pipe", "pipe"] })
    let ready = 0, sent, buf = ""
    p.stdout.on("data", (d) => {
      buf += d
      const ls = buf.split("\n")
      buf = ls.pop()
      for (const l of ls) if (/\] ready$/.test(l)) ready++
      if (ready === 3 && !sent) {
        sent = process.hrtime.bigint()
        p.kill("SIGINT")
      }
    })
    p.stderr.resume()
    p.on("exit", (code) => res({ s: Number(process.hrtime.bigint() - sent) / 1e9, code }))
  })
  await new Promise((r) => setTimeout(r, 100))
  const left = execFileSync("ps", ["-eo", "args"], { encoding: "utf8" }).split("\n").filter((l) =>
    l.includes(`sleep ${marker}`)
  ).length
  times.push(t.s)
  console.log(`${bundle.split("/").pop()} rep ${i + 1}: ${t.s.toFixed(3)} s exit ${t.code} leftovers ${left}`)
  rmSync(sd, { recursive: true, force: true })
}
times.sort((a, b) => a - b)
console.log(`median ${times[times.length >> 1].toFixed(3)} s max ${times.at(-1).toFixed(3)} s`)
