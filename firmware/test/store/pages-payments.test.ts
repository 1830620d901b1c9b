// Done-when of issue 14: 100,000 payments on puckjs and on pico without a power cycle and never a
// STORAGE_FULL, through the carrier's own logic — security/carrier.ts counting each PIN verdict on
// the tally, perso/app-store.ts appending each log entry, on store/pages.ts over the profile's page
// bank — driven in Node (v2-payments.ts paymentsOnCarrier: no interpreter, no channel crypto), so it
// takes seconds, not the hours the interpreter would. The same life on the release bundle on the
// virtual board, fewer payments: hil-tests/small-boards.test.ts. The erase ratio against the naive
// writeJSON design is asserted here; the full numbers are in `npm run bench` (section "storage").
import { describe, expect, test } from "vitest";
import { paymentsOnCarrier, paymentsNaive, order } from "./v2-payments.ts";
import { encodeEntry, RESULT_AUTHORIZED, chainNext } from "../../src/applets/tx-log.ts";
import { STATE_PERSONALISED } from "../../src/security/carrier.ts";
import { createHash } from "node:crypto";

const sha256 = (s: string): string => createHash("sha256").update(Buffer.from(s, "latin1")).digest().toString("latin1");

describe("100,000 payments through the carrier without a power cycle", () => {
  for (const profile of ["puckjs", "pico"] as const) {
    test(`${profile}: never STORAGE_FULL, every page worn alike, the 8 newest entries chained, tries and keys intact after a reboot`, () => {
      const N = 100_000;
      const { wear, rig, store, head } = paymentsOnCarrier(profile, N); // throws on STORAGE_FULL
      expect(rig.carrier.state()).toBe(STATE_PERSONALISED);
      expect(rig.carrier.triesLeft()).toBe(10);
      expect(store.lastAtc()).toBe(N);
      const e = store.entries();
      expect(e.map((x) => x.atc)).toEqual(Array.from({ length: 8 }, (_, i) => N - 7 + i));
      for (const x of e) expect(x.entry).toBe(encodeEntry(x.atc, RESULT_AUTHORIZED, order(x.atc)));
      for (let i = 1; i < e.length; i++) expect(e[i]!.prevHash).toBe(chainNext(sha256, e[i - 1]!.prevHash, e[i - 1]!.entry));
      expect(chainNext(sha256, e[7]!.prevHash, e[7]!.entry)).toBe(head);
      expect(store.keys()!.platformId).toBe("KC-PLATFORM-TEST");
      expect(Math.max(...wear.pageErases) - Math.min(...wear.pageErases)).toBeLessThanOrEqual(1);
      const naive = paymentsNaive(profile, 1000);
      console.log(
        `${profile} (${wear.pages} pages), ${N.toLocaleString("en-US")} payments through the carrier: ${wear.erasesPer1000.toFixed(2)} page erases per 1,000 payments ` +
          `(naive writeJSON ${naive.erasesPer1000.toFixed(0)}, ${(naive.erasesPer1000 / wear.erasesPer1000).toFixed(0)}×); busiest page ${wear.busiestPageErases} erases; ` +
          `projected ${wear.projectedPayments.toLocaleString("en-US")} payments before a page reaches 10,000 erases`,
      );
      expect(naive.erasesPer1000 / wear.erasesPer1000).toBeGreaterThanOrEqual(20);
    }, 60_000);
  }
});
