import * as Schema from "effect/Schema"

/**
 * Input the CLI cannot run with: nothing ran, and the process exits 2. The message says what was
 * expected and what was received.
 */
export class UsageError extends Schema.TaggedError<UsageError>()("UsageError", {
  detail: Schema.String
}) {
  override get message(): string {
    return this.detail
  }
}
