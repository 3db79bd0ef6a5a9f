/**
 * Masking of configured secrets in text the runner writes: every occurrence of a secret becomes
 * `[REDACTED:<label>]`. One combined regular expression over all secrets (longest first, so a secret
 * containing another is masked whole); text that holds none is returned as it is.
 */
export interface SecretMask {
  readonly apply: (text: string) => string
  readonly active: boolean
}

const escape = (text: string) => text.replace(/[.*+?^${}()|[\]\\/-]/g, "\\$&")

const identity: SecretMask = { apply: (text) => text, active: false }

/** A mask for these secrets; a no-op when there are none. */
export const makeSecretMask = (
  credentials: ReadonlyArray<{ readonly label: string; readonly secret: string }>
): SecretMask => {
  const byLength = credentials.filter((c) => c.secret !== "").sort((a, b) => b.secret.length - a.secret.length)
  if (byLength.length === 0) return identity
  const labelOf = new Map<string, string>()
  for (const c of byLength) if (!labelOf.has(c.secret)) labelOf.set(c.secret, c.label)
  const pattern = new RegExp([...labelOf.keys()].map(escape).join("|"), "g")
  const replace = (secret: string) => `[REDACTED:${labelOf.get(secret)!}]`
  return {
    active: true,
    apply: (text) => {
      pattern.lastIndex = 0
      return pattern.test(text) ? text.replace(pattern, replace) : text
    }
  }
}
