/** A few SGR colours, applied only when colour is allowed (see `Output.color`). */
export const paint = (enabled: boolean) => {
  const wrap = (code: string) => (text: string) => (enabled ? `\x1b[${code}m${text}\x1b[0m` : text)
  return { green: wrap("32"), red: wrap("31"), yellow: wrap("33"), dim: wrap("2") }
}
