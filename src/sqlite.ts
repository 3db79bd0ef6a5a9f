/**
 * `agentos-parallel/sqlite`: the run journal in SQLite (`SqliteJournal.layer(filename)` provides
 * `RunJournal`). Needs the optional peers `@effect/platform`, `@effect/sql`,
 * `@effect/sql-sqlite-node` and `@effect/experimental`; kept out of the package root so that
 * importing the core loads no SQLite.
 *
 * @since 0.1.0
 */
export * as SqliteJournal from "./SqliteJournal.js"
