/**
 * `agentos-parallel/testing`: a mock OpenAI-compatible provider on 127.0.0.1 with per-key rate
 * limits and scripted faults (`MockProvider.serve`), for tests and demos. Kept out of the package
 * root so that importing the core loads no HTTP server.
 *
 * @since 0.1.0
 */
export * as MockProvider from "./MockProvider.js"
