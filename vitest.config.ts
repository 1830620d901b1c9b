import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["firmware/test/**/*.test.ts", "board/test/**/*.test.ts", "host/test/**/*.test.ts", "hil-tests/**/*.test.ts"],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: "forks",
  },
});
