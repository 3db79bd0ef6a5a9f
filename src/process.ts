/**
 * `agentos-parallel/process`: workflows that run an external command per item (`processWorkflow`,
 * the child protocol's exit code 75 and `::rate-limited` line) and the spawn server
 * (`SpawnServer.layer`, a `CommandExecutor`). Needs the optional peers `@effect/platform` and
 * `@effect/platform-node`; kept out of the package root so that importing the core starts no child
 * process code.
 *
 * @since 0.1.0
 */
export { EXIT_RATE_LIMITED, parseRateLimitLine, ProcessFailed, processWorkflow } from "./ProcessRunner.js"
export type { ProcessWorkflowOptions } from "./ProcessRunner.js"
export * as SpawnServer from "./SpawnServer.js"
