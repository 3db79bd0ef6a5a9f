// Credential lines: LABEL=SECRET, DOMAIN/LABEL=SECRET, bare secrets; control characters refused
// without the secret in the message; --credential-var names checked.
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import { checkCredentialVar, parseCredentialLines } from "../src/cli/Credentials.js"

describe("parseCredentialLines", () => {
  it.effect("reads labels, limit domains and bare secrets (base64 padding stays in the secret)", () =>
    Effect.gen(function*() {
      const parsed = yield* parseCredentialLines([
        "alpha=sk-1",
        "org-a.prod/beta=sk-2",
        "c2VjcmV0=",
        "ab/cd==",
        "# comment",
        ""
      ])
      expect(parsed).toEqual([
        { label: "alpha", secret: "sk-1" },
        { label: "beta", domain: "org-a.prod", secret: "sk-2" },
        { secret: "c2VjcmV0=" },
        { secret: "ab/cd==" }
      ])
    }))

  it.effect("refuses a control character and never shows the secret", () =>
    Effect.gen(function*() {
      const exit = yield* Effect.exit(parseCredentialLines(["ok=fine", "k=TOPSECRET\u0007x"]))
      expect(Exit.isFailure(exit)).toBe(true)
      const message = JSON.stringify(exit)
      expect(message).toContain("entry 2")
      expect(message).toContain("0x07")
      expect(message).not.toContain("TOPSECRET")
    }))
})

describe("checkCredentialVar", () => {
  it.effect("accepts variable names, refuses ours and non-names", () =>
    Effect.gen(function*() {
      for (const ok of ["AGENTOS_CREDENTIAL", "OPENAI_API_KEY", "_x1"]) expect(yield* checkCredentialVar(ok)).toBe(ok)
      for (const bad of ["AGENTOS_ITEM_ID", "agentos_run_id", "OPENAI_BASE_URL", "X=Y", "1A", ""]) {
        expect(Exit.isFailure(yield* Effect.exit(checkCredentialVar(bad))), bad).toBe(true)
      }
    }))
})
