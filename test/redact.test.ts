// The secret mask: every occurrence of every secret becomes [REDACTED:<label>], longest first.
import { describe, expect, it } from "@effect/vitest"
import { makeSecretMask } from "../src/internal/redact.js"

describe("makeSecretMask", () => {
  it("replaces every occurrence of each secret by its label, leaving other text as it is", () => {
    const mask = makeSecretMask([{ label: "key-1", secret: "sk-a.b*c" }, { label: "key-2", secret: "sk-a.b*c-long" }])
    expect(mask.apply("x sk-a.b*c y sk-a.b*c-long z sk-a.b*c")).toBe(
      "x [REDACTED:key-1] y [REDACTED:key-2] z [REDACTED:key-1]"
    )
    expect(mask.apply("sk-aXb*c")).toBe("sk-aXb*c")
    expect(mask.apply("sk-a.b*csk-a.b*c")).toBe("[REDACTED:key-1][REDACTED:key-1]")
  })

  it("masks a long secret whole, and is a no-op without secrets", () => {
    const long = "s".repeat(10_000) + "/+="
    const mask = makeSecretMask([{ label: "big", secret: long }])
    expect(mask.apply(`a${long}b`)).toBe("a[REDACTED:big]b")
    const none = makeSecretMask([])
    expect(none.active).toBe(false)
    expect(none.apply("text")).toBe("text")
  })
})
