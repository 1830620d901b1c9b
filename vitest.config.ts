import { defineConfig } from "vitest/config";

export default defineConfig({
  // firmware/src/main.ts's build-time constant (firmware/build/pipeline.ts defines it per bundle);
  // a Node test that imports firmware modules sees the NFC build.
  define: { KC_NFC: "true" },
  test: {
    include: ["firmware/test/**/*.test.ts", "board/test/**/*.test.ts", "host/test/**/*.test.ts", "hil-tests/**/*.test.ts"],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: "forks",
  },
});
