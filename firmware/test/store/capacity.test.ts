// STORAGE.md §7 capacity, measured: the carrier's whole life (lifecycle.ts) on the virtual board
// with a stand-in bundle of exactly the build's largestBundleBytes passes, and 4 bytes more (the
// next word) fails — on the Pico's 16 KB pages and the Puck.js's 4 KB pages, with a boot between
// phases (3 files + 1 rotation) and in one power cycle (3 files + 2 rotations: 1 application-log
// and 1 carrier-log rotation, the wipe's; PIN changes no longer write the carrier), with the
// factory's kc.tk after the bundle.
import { describe, expect, it } from "vitest";
import { largestBundleBytes, STORE_LIVE_FILES, STORE_ROTATIONS_PER_BOOT } from "../../build/cli.ts";
import { profileFor, runLifecycle } from "./lifecycle.ts";

const cases = [
  { id: "pico", reboots: true, creations: STORE_LIVE_FILES + STORE_ROTATIONS_PER_BOOT },
  { id: "pico", reboots: false, creations: STORE_LIVE_FILES + 2 },
  { id: "puckjs", reboots: true, creations: STORE_LIVE_FILES + STORE_ROTATIONS_PER_BOOT },
  { id: "puckjs", reboots: false, creations: STORE_LIVE_FILES + 2 },
];

describe("Storage capacity per board profile (STORAGE.md §7)", () => {
  for (const c of cases) {
    it(`${c.id}, ${c.reboots ? "a boot between phases" : "one power cycle"}: the largest bundle is exactly largestBundleBytes`, async () => {
      const profile = profileFor(c.id, true);
      const largest = largestBundleBytes(profile.storage.bytes, profile.storage.pageBytes, c.creations);
      const fits = await runLifecycle({ profile, bundle: largest, rebootBetweenPhases: c.reboots });
      expect(fits.failure).toBeUndefined();
      expect(fits.rotations).toEqual({ payLog: 1, carrierLog: 1 });
      const over = await runLifecycle({ profile, bundle: largest + 4, rebootBetweenPhases: c.reboots });
      expect(over.ok).toBe(false);
      // over by one word: the first creation that needs the room is refused, with STORAGE_FULL or,
      // for the wipe's clean copy of the log, by dropping the log (the carrier reads BLANK, not DESTROYED)
      expect(over.failure).toMatch(c.reboots ? /^pay 12: status 0x20 no room for kc\.pay\.[ab]$/ : /^wipe: status 0x0 state 0$/);
      console.log(`${c.id} (${c.reboots ? "boot between phases" : "one power cycle"}): largest bundle ${largest} B; +4 B fails at ${over.failure}`);
    }, 60_000);
  }
});
