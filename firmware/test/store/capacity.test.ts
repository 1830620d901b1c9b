// STORAGE.md §8 capacity, measured with the real carrier: its whole life (lifecycle.ts: personalise,
// 12 payments, PIN changes at the platform, a wrong PIN counted, a payment, WIPE, personalise again)
// on the virtual board with a stand-in bundle of exactly the build's largestBundleBytesV2 passes, and
// one word more fails at PERSONALISE (the page store's pages no longer fit behind the bundle, kc.tk
// and .boot0) — on the Pico's 16 KB pages and the Puck.js's 4 KB pages, in one power cycle (the
// page store never needs a boot to reclaim space).
import { describe, expect, it } from "vitest";
import { largestBundleBytesV2 } from "../../build/cli.ts";
import { profileFor, runLifecycle } from "./lifecycle.ts";

describe("Storage capacity per board profile (STORAGE.md §8)", () => {
  for (const id of ["pico", "puckjs"]) {
    it(`${id}: the largest bundle is exactly largestBundleBytesV2, the whole life in one power cycle`, async () => {
      const profile = profileFor(id, true);
      const largest = largestBundleBytesV2(profile.storage.bytes, profile.storage.pageBytes);
      const fits = await runLifecycle({ profile, bundle: largest, rebootBetweenPhases: false });
      expect(fits.failure).toBeUndefined();
      const over = await runLifecycle({ profile, bundle: largest + 4, rebootBetweenPhases: false });
      expect(over.failure).toMatch(/^personalise: status 0x20 store: \d pages do not fit$/);
      console.log(`${id}: largest bundle ${largest} B; +4 B fails at ${over.failure}`);
    }, 60_000);
  }
});
