import { defineConfig } from "vitest/config";

export default defineConfig({
  // firmware/src/main.ts's build-time constants (firmware/build/pipeline.ts defines them per bundle);
  // a Node test that imports firmware modules sees the full build (every feature compiled in).
  define: { KC_NFC: "true", KC_OFFLINE: "true", KC_PEER: "true", KC_DISPLAY: "true" },
  test: {
    include: ["firmware/test/**/*.test.ts", "board/test/**/*.test.ts", "host/test/**/*.test.ts", "hil-tests/**/*.test.ts"],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: "forks",
  },
});
