import { defineConfig } from "vitest/config"

// `npm run test:package`: packs the tarball and installs it into scratch projects (npm registry or
// its cache), so it is slow and kept out of `npm test`.
export default defineConfig({
  test: {
    include: ["test/package/**/*.test.ts"],
    testTimeout: 240_000,
    hookTimeout: 240_000,
    fileParallelism: false
  }
})
