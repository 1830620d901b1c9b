// The wear target of the brief (≥ 20× fewer page erases than Storage.writeJSON of the whole state
// per update), measured side by side by bench/storage.ts on EspruinoStorage over NorFlash.
import { expect, test } from "vitest";
import { perOperation, wear } from "../../../bench/storage.ts";

test("PIN-verdict try counter: ≥ 20× fewer page erases per 1,000 updates than writeJSON (puckjs)", () => {
  const w = wear("puckjs", 30000);
  console.log(`wear: store ${w.storeErasesPer1000} vs writeJSON ${w.naiveErasesPer1000} page erases per 1,000 updates (${w.ratio.toFixed(0)}×); busiest page reaches 10,000 erases after ${w.storeProjectedUpdates} vs ${w.naiveProjectedUpdates} updates`);
  expect(w.storeErasesPer1000).toBeGreaterThan(0); // the run is long enough to include maintenance
  expect(w.ratio).toBeGreaterThanOrEqual(20);
});

test("no command erases a page; only WIPE's purge does", () => {
  const ops = perOperation("puckjs");
  for (const o of ops) {
    if (o.op.startsWith("WIPE")) expect(o.pageErases).toBeGreaterThan(0);
    else expect(o.pageErases, o.op).toBe(0);
  }
  const ok = ops.find((o) => o.op.startsWith("verdict OK"))!;
  expect(ok.wordWrites).toBe(2); // attempt byte + success byte
});
