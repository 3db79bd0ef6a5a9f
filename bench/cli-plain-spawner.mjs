// The "plain Node spawner" peer of bench/cli.mjs: runs a command once per item, N at a time, with
// child_process.spawn; drains stdout/stderr (discarded) and writes no files. With `--files DIR` it
// also writes what SPEC promises per item and nothing else: `DIR/<id>.log` (the output) and
// `DIR/workflow-audit-<id>.jsonl` (a started and a finished line) — the floor for any runner that
// keeps those files.
//   node bench/cli-plain-spawner.mjs [--files DIR] <items-file> <parallel> -- <command> [args...]
import { spawn } from "node:child_process"
import { appendFileSync, closeSync, mkdirSync, openSync, readFileSync, writeSync } from "node:fs"

const argv = process.argv.slice(2)
const filesDir = argv[0] === "--files" ? argv[1] : undefined
const [itemsFile, parallelArg, sep, file, ...args] = filesDir === undefined ? argv : argv.slice(2)
if (sep !== "--" || file === undefined) {
  console.error("usage: cli-plain-spawner.mjs [--files DIR] <items-file> <parallel> -- <command> [args...]")
  process.exit(2)
}
if (filesDir !== undefined) mkdirSync(filesDir, { recursive: true })
const items = readFileSync(itemsFile, "utf8").split("\n").filter((l) => l !== "")
const parallel = Number(parallelArg)
let next = 0
let failed = 0
const audit = (id, event) =>
  appendFileSync(`${filesDir}/workflow-audit-${id}.jsonl`, JSON.stringify({ event, id, time: new Date() }) + "\n")
const runOne = (id) =>
  new Promise((resolve) => {
    const log = filesDir === undefined ? undefined : openSync(`${filesDir}/${id}.log`, "a")
    if (log !== undefined) audit(id, "started")
    const child = spawn(file, args.map((a) => a.replaceAll("{id}", id)), {
      stdio: ["ignore", "pipe", "pipe"],
      env: { ...process.env, AGENTOS_ITEM_ID: id }
    })
    const drain = (
      stream
    ) => (log === undefined ? stream.resume() : stream.on("data", (bytes) => writeSync(log, bytes)))
    drain(child.stdout)
    drain(child.stderr)
    const done = (ok) => {
      if (!ok) failed++
      if (log !== undefined) {
        closeSync(log)
        audit(id, "finished")
      }
      resolve()
    }
    child.on("error", () => done(false))
    child.on("close", (code) => done(code === 0))
  })
const worker = async () => {
  while (next < items.length) await runOne(items[next++])
}
await Promise.all(Array.from({ length: parallel }, worker))
process.exit(failed > 0 ? 1 : 0)
