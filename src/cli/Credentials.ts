import * as FileSystem from "@effect/platform/FileSystem"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import { UsageError } from "./UsageError.js"

const LABELLED = /^(?:([A-Za-z0-9_.-]{1,32})\/)?([A-Za-z0-9_.-]{1,32})=([^=].*)$/

const CONTROL = /[\u0000-\u001f\u007f]/

/** A credential as read from the command line's sources; `domain` is its limit domain, when given. */
export interface LoadedCredential {
  readonly label?: string | undefined
  readonly domain?: string | undefined
  readonly secret: string
}

/** Where a credential line came from, for messages that never show the line itself. */
interface Entry {
  readonly text: string
  readonly origin: string
}

const describeControl = (secret: string): string => {
  const code = secret.charCodeAt(secret.search(CONTROL))
  return code === 0 ? "a NUL byte" : `a control character (0x${code.toString(16).padStart(2, "0")})`
}

/**
 * One credential per entry: `LABEL=SECRET`, `DOMAIN/LABEL=SECRET` or a bare secret. A line is read
 * as labelled only when the part before the first `=` is a short label (letters, digits, `_`, `.`,
 * `-`; at most 32), optionally after a domain of the same alphabet and a `/`, and the part after it
 * does not start with `=`; otherwise the whole line is the secret (so base64 keys ending in `=` stay
 * whole). A secret holding a control character is refused; the message never shows any of it.
 */
const parseEntries = (entries: ReadonlyArray<Entry>): Effect.Effect<ReadonlyArray<LoadedCredential>, UsageError> =>
  Effect.suspend(() => {
    const out: Array<LoadedCredential> = []
    for (const entry of entries) {
      const line = entry.text.trim()
      if (line === "" || line.startsWith("#")) continue
      const match = LABELLED.exec(line)
      const credential: LoadedCredential = match === null
        ? { secret: line }
        : { label: match[2]!, secret: match[3]!, ...(match[1] === undefined ? {} : { domain: match[1] }) }
      if (CONTROL.test(credential.secret)) {
        return Effect.fail(
          new UsageError({
            detail: `${entry.origin}: expected a secret of printable characters, received one with ${
              describeControl(credential.secret)
            } (the secret is not shown)`
          })
        )
      }
      out.push(credential)
    }
    return Effect.succeed(out)
  })

/** Parses credential lines (see the file format above); fails on a secret with control characters. */
export const parseCredentialLines = (
  entries: ReadonlyArray<string>,
  origin = "credentials"
): Effect.Effect<ReadonlyArray<LoadedCredential>, UsageError> =>
  parseEntries(entries.map((text, i) => ({ text, origin: `${origin} entry ${i + 1}` })))

const readCredentialsFile = (file: string) =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const bytes = yield* fs.readFile(file).pipe(
      Effect.mapError((error) =>
        new UsageError({
          detail: `--credentials-file: expected a readable file with one credential per line, received ${
            JSON.stringify(file)
          } (${error.message})`
        })
      )
    )
    const text = new TextDecoder("utf-8", { fatal: false }).decode(bytes)
    if (bytes.includes(0) || text.includes("\uFFFD")) {
      return yield* new UsageError({
        detail: `--credentials-file: expected a UTF-8 text file with one credential per line, received binary data in ${
          JSON.stringify(file)
        } (its content is not shown)`
      })
    }
    const lines = text.split(/\r?\n/)
    const credentials = yield* parseEntries(
      lines.map((line, i) => ({ text: line, origin: `--credentials-file ${JSON.stringify(file)} line ${i + 1}` }))
    )
    if (credentials.length === 0) {
      return yield* new UsageError({
        detail: `--credentials-file: expected at least one credential line, received none in ${JSON.stringify(file)}`
      })
    }
    return credentials
  })

const readCredentialsEnv = (name: string) =>
  Effect.gen(function*() {
    const value = process.env[name]
    const expected = `--credentials-env: expected credentials (comma- or newline-separated) in $${name}, received`
    if (value === undefined || value.trim() === "") {
      return yield* new UsageError({
        detail: `${expected} ${value === undefined ? "an unset variable" : "an empty value"}`
      })
    }
    const credentials = yield* parseEntries(
      value.split(/[,\r\n]+/).map((text, i) => ({ text, origin: `--credentials-env $${name} entry ${i + 1}` }))
    )
    if (credentials.length === 0) {
      return yield* new UsageError({ detail: `${expected} only separators and blanks` })
    }
    return credentials
  })

/**
 * Credentials from `--credentials-file` and `--credentials-env`, in that order. The variable named
 * by `--credentials-env` is removed from the runner's environment once read, so that nothing the
 * runner starts later inherits it.
 */
export const loadCredentials = (
  file: Option.Option<string>,
  envVar: Option.Option<string>
): Effect.Effect<ReadonlyArray<LoadedCredential>, UsageError, FileSystem.FileSystem> =>
  Effect.gen(function*() {
    const fromFile = Option.isSome(file) ? yield* readCredentialsFile(file.value) : []
    const fromEnv = Option.isSome(envVar) ? yield* readCredentialsEnv(envVar.value) : []
    if (Option.isSome(envVar)) delete process.env[envVar.value]
    const all = [...fromFile, ...fromEnv]
    // A label is only ever what the grammar reads as one (never a part of a secret): safe to show.
    const labels = all.map((c, i) => c.label ?? `key-${i + 1}`)
    const duplicate = labels.find((label, i) => labels.indexOf(label) !== i)
    if (duplicate !== undefined) {
      return yield* new UsageError({ detail: `credentials: expected distinct labels, received "${duplicate}" twice` })
    }
    return all
  })

const VARIABLE_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/
const RESERVED = new Set(["OPENAI_BASE_URL", "ANTHROPIC_BASE_URL"])

/**
 * `--credential-var`: a variable name, and not one the runner sets itself (`AGENTOS_*` other than
 * the default `AGENTOS_CREDENTIAL`, the gateway's base URLs).
 */
export const checkCredentialVar = (name: string): Effect.Effect<string, UsageError> => {
  if (!VARIABLE_NAME.test(name)) {
    return Effect.fail(
      new UsageError({
        detail: `--credential-var: expected a variable name (letters, digits, _; not starting with a digit), received ${
          JSON.stringify(name)
        }`
      })
    )
  }
  if ((name.toUpperCase().startsWith("AGENTOS_") && name !== "AGENTOS_CREDENTIAL") || RESERVED.has(name)) {
    return Effect.fail(
      new UsageError({
        detail: `--credential-var: expected a variable the runner does not set itself, received ${
          JSON.stringify(name)
        } (AGENTOS_* and ${[...RESERVED].join(", ")} are the runner's)`
      })
    )
  }
  return Effect.succeed(name)
}
