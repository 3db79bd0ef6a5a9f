import * as FileSystem from "@effect/platform/FileSystem"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import type { CredentialInput } from "../CredentialPool.js"
import { UsageError } from "./UsageError.js"

const LABELLED = /^([A-Za-z0-9_.-]{1,32})=([^=].*)$/

/**
 * One credential per entry, optionally `label=secret`. A line is read as labelled only when the
 * part before the first `=` is a short label (letters, digits, `_`, `.`, `-`; at most 32) and the
 * part after it does not start with `=`; otherwise the whole line is the secret (so base64 keys
 * ending in `=` stay whole).
 */
export const parseCredentialLines = (entries: ReadonlyArray<string>): ReadonlyArray<CredentialInput> =>
  entries
    .map((line) => line.trim())
    .filter((line) => line !== "" && !line.startsWith("#"))
    .map((line) => {
      const match = LABELLED.exec(line)
      return match === null ? line : { label: match[1]!, secret: match[2]! }
    })

/** Credentials from `--credentials-file` and `--credentials-env`, in that order. */
export const loadCredentials = (
  file: Option.Option<string>,
  envVar: Option.Option<string>
): Effect.Effect<ReadonlyArray<CredentialInput>, UsageError, FileSystem.FileSystem> =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const fromFile = Option.isSome(file)
      ? parseCredentialLines(
        (yield* fs.readFileString(file.value).pipe(
          Effect.mapError((error) =>
            new UsageError({
              detail: `--credentials-file: expected a readable file with one credential per line, received ${
                JSON.stringify(file.value)
              } (${error.message})`
            })
          )
        )).split(/\r?\n/)
      )
      : []
    if (Option.isSome(file) && fromFile.length === 0) {
      return yield* new UsageError({
        detail: `--credentials-file: expected at least one credential line, received none in ${
          JSON.stringify(file.value)
        }`
      })
    }
    let fromEnv: ReadonlyArray<CredentialInput> = []
    if (Option.isSome(envVar)) {
      const value = process.env[envVar.value]
      if (value === undefined || value.trim() === "") {
        return yield* new UsageError({
          detail:
            `--credentials-env: expected credentials (comma- or newline-separated) in $${envVar.value}, received ${
              value === undefined ? "an unset variable" : "an empty value"
            }`
        })
      }
      fromEnv = parseCredentialLines(value.split(/[,\r\n]+/))
    }
    const all = [...fromFile, ...fromEnv]
    const labels = all.map((c, i) =>
      typeof c === "object" && "label" in c && c.label !== undefined ? c.label : `key-${i + 1}`
    )
    const duplicate = labels.find((label, i) => labels.indexOf(label) !== i)
    if (duplicate !== undefined) {
      return yield* new UsageError({ detail: `credentials: expected distinct labels, received "${duplicate}" twice` })
    }
    return all
  })
