import { defineConfig } from "vitest/config"

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    // The packed-tarball test installs from the npm registry (or its cache): `npm run test:package`.
    exclude: ["test/package/**", "node_modules/**"],
    // End-to-end tests start real processes; give them room on a 2-core machine.
    testTimeout: 60_000,
    hookTimeout: 60_000,
    fileParallelism: true,
    maxWorkers: 2
  }
})
