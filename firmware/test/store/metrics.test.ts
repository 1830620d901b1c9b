// The wear target of the brief (≥ 20× fewer page erases than Storage.writeJSON of the whole state
// per update) for the PIN-verdict try counter, and what each carrier operation writes, measured by
// bench/storage.ts: the carrier on its page store vs writeJSON on EspruinoStorage over NorFlash.
import { expect, test } from "vitest";
import { perOperation, wear } from "../../../bench/storage.ts";

test("PIN-verdict try counter: ≥ 20× fewer page erases per 1,000 updates than writeJSON (puckjs)", () => {
  const w = wear("puckjs", 30000);
  console.log(`wear: page store ${w.storeErasesPer1000} vs writeJSON ${w.naiveErasesPer1000} page erases per 1,000 updates (${w.ratio.toFixed(0)}×); busiest page reaches 10,000 erases after ${w.storeProjectedUpdates} vs ${w.naiveProjectedUpdates} updates`);
  expect(w.storeErasesPer1000).toBeGreaterThan(0); // the run is long enough to include compactions
  expect(w.ratio).toBeGreaterThanOrEqual(20);
});

test("a verdict erases nothing and an OK one is 2 word writes; the first enrolment erases the store's first page, WIPE erases", () => {
  const ops = perOperation("puckjs");
  const by = (prefix: string) => ops.find((o) => o.op.startsWith(prefix))!;
  expect(by("ENROL").pageErases).toBe(1); // a blank store's first page (erased at reservation, then as the first compaction's target)
  expect(by("verdict OK").pageErases).toBe(0);
  expect(by("verdict OK").wordWrites).toBe(2); // attempt mark + success mark
  expect(by("verdict WRONG").pageErases).toBe(0);
  expect(by("verdict WRONG").wordWrites).toBe(1);
  expect(by("WIPE").pageErases).toBeGreaterThan(0);
});
