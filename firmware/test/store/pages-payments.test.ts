// Done-when of issue 14 at the store level: 100,000 payments on the puckjs and pico page banks
// without a power cycle and without STORAGE_FULL, driven straight at store v2 (the carrier's own
// records and verdict tally per payment: v2-payments.ts) so it takes seconds, not the hours the
// interpreter would; and the erase ratio against the naive writeJSON design. The full numbers are
// in `npm run bench` (bench/storage.ts, section "storage").
import { describe, expect, test } from "vitest";
import { paymentsOnStore, paymentsNaive, entryPayload, K_ENTRY, RING, K_PERSO, K_APP_KEYS } from "./v2-payments.ts";
import { storeGet, storeKeys } from "../../src/store/pages.ts";

describe("100,000 payments without a power cycle", () => {
  for (const profile of ["puckjs", "pico"] as const) {
    test(`${profile}: never STORAGE_FULL, every page worn alike, the 8 newest entries and the keys intact`, () => {
      const { wear, st } = paymentsOnStore(profile, 100_000); // throws on STORAGE_FULL
      for (let atc = 100_000 - RING + 1; atc <= 100_000; atc++) expect(storeGet(st, K_ENTRY + (atc % RING))).toBe(entryPayload(atc));
      expect(storeGet(st, K_PERSO)).toBe("\x02" + "p".repeat(64));
      expect(storeGet(st, K_APP_KEYS)!.length).toBe(138);
      expect(storeKeys(st).length).toBe(RING + 3);
      expect(Math.max(...wear.pageErases) - Math.min(...wear.pageErases)).toBeLessThanOrEqual(1);
      const naive = paymentsNaive(profile, 1000);
      console.log(
        `${profile}: ${wear.erasesPer1000.toFixed(2)} page erases per 1,000 payments (naive writeJSON ${naive.erasesPer1000.toFixed(0)}, ` +
          `${(naive.erasesPer1000 / wear.erasesPer1000).toFixed(0)}×); busiest page ${wear.busiestPageErases} erases; ` +
          `projected ${wear.projectedPayments.toLocaleString("en-US")} payments before 10,000 erases`,
      );
      expect(naive.erasesPer1000 / wear.erasesPer1000).toBeGreaterThanOrEqual(20);
    });
  }
});
