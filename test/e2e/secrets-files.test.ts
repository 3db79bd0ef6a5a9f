// Issue 9, items 2, 5, 8, 12, 13, 15, 16: credentials validated when loaded, secrets a child prints
// masked everywhere the runner writes, state files 0600 in 0700 directories, no symlink below the
// state dir followed, --fresh forgets checkpoints, read-only commands change nothing.
import * as fs from "node:fs"
import * as path from "node:path"
import { describe, expect, it } from "vitest"
import { expectExit, explain, filesUnder, latestRunLogDir, scanFilesFor, uniqueToken, useSandboxes } from "./harness.js"

const sandbox = useSandboxes()

const modeOf = (p: string) => fs.statSync(p).mode & 0o777

describe("run: secrets and state files (issue 9)", () => {
  it("refuses a credential holding a NUL byte or a control character, never echoing it (exit 2)", async () => {
    const sb = sandbox()
    const secret = uniqueToken("sk-nul-")
    for (const [name, text] of [["nul.txt", `key-a=${secret}\0tail\n`], ["ctl.txt", `${secret}\u0001x\n`]] as const) {
      const file = sb.file(name, `good=${uniqueToken("sk-ok-")}\n${text}`)
      const r = await sb.run(["--item", "a", "--credentials-file", file], ["true"])
      expectExit(r, 2)
      expect(r.stderr + r.stdout).not.toContain(secret.slice(7, 17))
      expect(r.stderr).toMatch(/expected/)
      expect(fs.existsSync(path.join(sb.stateDir, "journal.db")), explain(r)).toBe(false)
    }
  })

  it("refuses --credentials-env holding only separators, and --credential-var names that are ours or not names", async () => {
    const sb = sandbox()
    const r = await sb.run(["--item", "a", "--credentials-env", "KEYS"], ["true"], { env: { KEYS: " ,\n, ," } })
    expectExit(r, 2)
    expect(r.stderr).toContain("only separators")
    for (const name of ["AGENTOS_ITEM_ID", "X=Y", "1ABC"]) {
      const v = await sb.run(["--item", "a", "--credential-var", name], ["true"])
      expectExit(v, 2)
      expect(v.stderr).toContain("--credential-var")
    }
  })

  it("masks a secret a child prints as [REDACTED:<label>] on the console and in the item log; files 0600 in 0700 dirs", async () => {
    const sb = sandbox()
    const secret = uniqueToken("sk-mask-")
    const file = sb.file("keys.txt", `${secret}\n`)
    const r = await sb.run(
      ["--item", "a", "--credentials-file", file],
      ["sh", "-c", "printf 'out %s end\\n' \"$AGENTOS_CREDENTIAL\"; printf 'err %s\\n' \"$AGENTOS_CREDENTIAL\" >&2"]
    )
    expectExit(r, 0)
    expect(r.stdout).toContain("[a] out [REDACTED:key-1] end")
    expect(r.stderr).toContain("[a] err [REDACTED:key-1]")
    expect(r.stdout + r.stderr).not.toContain(secret)
    const logDir = latestRunLogDir(sb.stateDir)
    expect(fs.readFileSync(path.join(logDir, "a.log"), "utf8")).toContain("out [REDACTED:key-1] end")
    expect(scanFilesFor(sb.stateDir, [secret, secret.slice(8)])).toEqual([])
    expect(modeOf(sb.stateDir)).toBe(0o700)
    for (const f of filesUnder(sb.stateDir)) {
      expect(modeOf(f), f).toBe(0o600)
    }
    for (const d of ["checkpoints", "logs", "logs/parallel"]) expect(modeOf(path.join(sb.stateDir, d)), d).toBe(0o700)
    expect(modeOf(logDir)).toBe(0o700)
    expect(fs.readdirSync(logDir).filter((f) => f.endsWith(".tmp"))).toEqual([])
  })

  it("refuses a symlinked checkpoints/<run> and touches nothing in its target", async () => {
    const sb = sandbox()
    const target = path.join(sb.dir, "target")
    fs.mkdirSync(target)
    for (const f of ["a.db", "a.db-wal", "a.db-shm", "a.db-journal"]) fs.writeFileSync(path.join(target, f), "keep")
    fs.mkdirSync(path.join(sb.stateDir, "checkpoints"), { recursive: true })
    fs.symlinkSync(target, path.join(sb.stateDir, "checkpoints", "run-x"))
    const r = await sb.run(["--item", "a", "--name", "run-x"], ["true"])
    expectExit(r, 2)
    expect(r.stderr).toContain("symlink")
    expect(fs.readdirSync(target).sort()).toEqual(["a.db", "a.db-journal", "a.db-shm", "a.db-wal"])
  })

  it("refuses a symlinked logs/parallel and writes nothing into its target", async () => {
    const sb = sandbox()
    const target = path.join(sb.dir, "elsewhere")
    fs.mkdirSync(target)
    fs.mkdirSync(path.join(sb.stateDir, "logs"), { recursive: true })
    fs.symlinkSync(target, path.join(sb.stateDir, "logs", "parallel"))
    const r = await sb.run(["--item", "a"], ["echo", "hi"])
    expectExit(r, 2)
    expect(r.stderr).toContain("symlink")
    expect(fs.readdirSync(target)).toEqual([])
  })

  it("refuses a state dir owned by another user (exit 2), creating nothing in it", async () => {
    const sb = sandbox()
    // As root, a sandbox dir given to nobody; as another user, a directory root owns.
    const root = process.getuid?.() === 0
    const stateDir = root ? path.join(sb.dir, "foreign") : "/"
    if (root) {
      fs.mkdirSync(stateDir)
      fs.chownSync(stateDir, 65534, 65534)
    }
    const before = fs.readdirSync(stateDir)
    const r = await sb.cli(["run", "--state-dir", stateDir, "--item", "a", "--", "true"])
    expectExit(r, 2)
    expect(r.stderr).toContain("owned by")
    expect(fs.readdirSync(stateDir)).toEqual(before)
  })

  it("--fresh forgets the run's checkpoint databases", async () => {
    const sb = sandbox()
    const cmd = [
      "sh",
      "-c",
      "if [ -e \"$AGENTOS_WORKFLOW_DB\" ]; then echo found-checkpoint; fi; echo step1 > \"$AGENTOS_WORKFLOW_DB\"; exit 3"
    ]
    const first = await sb.run(["--item", "a", "--name", "fr"], cmd)
    expectExit(first, 1)
    const resumed = await sb.run(["--item", "a", "--name", "fr"], cmd)
    expect(resumed.stdout, "without --fresh the checkpoint is kept").toContain("found-checkpoint")
    const fresh = await sb.run(["--item", "a", "--name", "fr", "--fresh"], cmd)
    expectExit(fresh, 1)
    expect(fresh.stdout, explain(fresh)).not.toContain("found-checkpoint")
  })

  it("status and --dry-run leave a damaged journal where it is; status reads a read-only journal", async () => {
    const sb = sandbox()
    const ok = await sb.run(["--item", "a", "--name", "ro"], ["true"])
    expectExit(ok, 0)
    const journal = path.join(sb.stateDir, "journal.db")
    fs.chmodSync(journal, 0o400)
    const status = await sb.cli(["status", "--state-dir", sb.stateDir, "--name", "ro"])
    expectExit(status, 0)
    expect(status.stdout).toContain("1 succeeded")
    fs.chmodSync(journal, 0o600)
    fs.writeFileSync(journal, Buffer.alloc(8192, 7))
    const before = fs.readdirSync(sb.stateDir).sort()
    const dry = await sb.run(["--item", "a", "--name", "ro", "--dry-run"], ["true"])
    const st = await sb.cli(["status", "--state-dir", sb.stateDir])
    expect(dry.code, explain(dry)).not.toBe(0)
    expect(st.code, explain(st)).not.toBe(0)
    expect(fs.readdirSync(sb.stateDir).sort()).toEqual(before)
    expect(fs.readFileSync(journal)).toEqual(Buffer.alloc(8192, 7))
  })
})
