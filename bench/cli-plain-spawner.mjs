// The "plain Node spawner" peer of bench/cli.mjs: runs a command once per item, N at a time, with
// child_process.spawn; drains stdout/stderr (discarded) and writes no files.
//   node bench/cli-plain-spawner.mjs <items-file> <parallel> -- <command> [args...]
import { spawn } from "node:child_process"
import { readFileSync } from "node:fs"

const [itemsFile, parallelArg, sep, file, ...args] = process.argv.slice(2)
if (sep !== "--" || file === undefined) {
  console.error("usage: cli-plain-spawner.mjs <items-file> <parallel> -- <command> [args...]")
  process.exit(2)
}
const items = readFileSync(itemsFile, "utf8").split("\n").filter((l) => l !== "")
const parallel = Number(parallelArg)
let next = 0
let failed = 0
const runOne = (id) =>
  new Promise((resolve) => {
    const child = spawn(file, args.map((a) => a.replaceAll("{id}", id)), {
      stdio: ["ignore", "pipe", "pipe"],
      env: { ...process.env, AGENTOS_ITEM_ID: id }
    })
    child.stdout.resume()
    child.stderr.resume()
    child.on("error", () => {
      failed++
      resolve()
    })
    child.on("close", (code) => {
      if (code !== 0) failed++
      resolve()
    })
  })
const worker = async () => {
  while (next < items.length) await runOne(items[next++])
}
await Promise.all(Array.from({ length: parallel }, worker))
process.exit(failed > 0 ? 1 : 0)
