// The cost model's time estimates against the real interpreter's instruction counts (issue #10):
// boot, INFO, CHANNEL_OPEN and PAY, metered on the virtual nRF52840 (USB; the same 64 MHz nRF52
// calibration as the Puck.js), must agree within 15%. Like with like: the real counts are the pico-pool
// run in board/calibration/real-2v29-pico.json (the pool where every step runs; provenance inside),
// and the model runs THE SAME bundle that run measured (its committed fixture), not firmware/dist.
// Table and method: board/docs/calibration.md.
import { afterAll, expect, it } from "vitest";
import { Platform } from "../host/src/platform/service.ts";
import { payOrderBody, platformVerdict, type CarrierRig } from "../firmware/test/applets/carrier-harness.ts";
import { personaliseFromPlatform } from "../bench/context.ts";
import { loadProfile } from "../board/src/profiles.ts";
import type { CostCounts, CostEstimate } from "../board/src/cost/meter.ts";
import { bootBundle, loadMeasurement, measuredBundle } from "../bench/calibrate/fixture.ts";
import { CYCLES_PER_INSTRUCTION } from "../bench/calibrate/model.ts";

const TOLERANCE = 0.15;
const measured = loadMeasurement("pico");
const counted = (name: string): number => {
  const s = measured.firmware.steps.find((x) => x.name === name);
  if (!s?.ok || s.instructions === undefined) throw new Error(`real-2v29-pico.json: no instruction count for "${name}"`);
  return s.instructions;
};
// real counts per step (the host idle loop under callgrind is included: ≈50k instructions per second
// of wall time, under 2% of any step here)
const real: Record<string, number> = {
  "boot (blank carrier)": counted("boot (blank)"),
  "INFO": counted("INFO (blank)"),
  "CHANNEL_OPEN (OPEN + CONFIRM)": counted("CHANNEL_OPEN (OPEN+CONFIRM)"),
  "PAY (request + press → reply)": counted("PAY request") + counted("PAY press → reply"),
};
const puck = loadProfile("puckjs");
const instructionsPerMs = (puck.cpu.mhz * 1000) / CYCLES_PER_INSTRUCTION;
const rigs: CarrierRig[] = [];
const platforms: Platform[] = [];
afterAll(() => { for (const r of rigs) r.board.dispose(); for (const p of platforms) p.close(); });

function add(a: CostCounts, b: CostCounts): CostCounts {
  const out = JSON.parse(JSON.stringify(a)) as CostCounts;
  for (const [k, v] of Object.entries(b)) if (typeof v === "number") (out as unknown as Record<string, number>)[k]! += v;
  for (const [k, t] of Object.entries(b.native)) {
    const x = (out.native[k] ??= { calls: 0, bytes: 0, units: 0 });
    x.calls += t.calls; x.bytes += t.bytes; x.units += t.units;
  }
  return out;
}

it("boot, INFO, CHANNEL_OPEN and PAY agree with the real interpreter's instruction counts within 15%", async () => {
  const platform = await Platform.open({});
  platforms.push(platform);
  const rig = await bootBundle(measuredBundle(measured), { board: loadProfile("nrf52840"), meter: true });
  rigs.push(rig);
  const meter = rig.meter!;
  const since = (n: number, labels: RegExp): CostEstimate => {
    const recs = meter.scopes.slice(n).filter((s) => labels.test(s.label));
    return meter.estimate(puck, recs.map((r) => r.counts).reduce(add));
  };
  const estimates: Record<string, CostEstimate> = {};
  estimates["boot (blank carrier)"] = meter.estimate(puck, meter.scopes.find((s) => s.label === "boot")!.counts);
  await rig.info();
  let n = meter.scopes.length;
  await rig.info();
  estimates["INFO"] = since(n, /USB/);
  const ids = await personaliseFromPlatform(rig, platform, "482913");
  n = meter.scopes.length;
  const ch = await rig.openChannel({ carrierId: ids.cid, platformId: ids.pid, channelKey: ids.keys.channelKey });
  estimates["CHANNEL_OPEN (OPEN + CONFIRM)"] = since(n, /USB/);
  const merchant = platform.registerMerchant({ name: "Bench" });
  const order = platform.createOrder({ code: platform.issuePaymentCode({ merchantId: merchant.merchantId, amount: 1234, currency: "EUR" }).code });
  const body = payOrderBody(order.cryptogramFields);
  const verdict = platformVerdict(platform, rig, ch, Buffer.from(ids.cid).toString("hex"), body, "482913"); // host ↔ platform, not metered
  n = meter.scopes.length;
  const paid = await rig.pay(ch, body, verdict);
  expect(paid.status).toBe(0);
  // the timers too: the preparation the request leaves for the wait and the UI's LED blinking, which
  // the real count includes (it runs them during the wait before the press)
  estimates["PAY (request + press → reply)"] = since(n, /USB|watch|timer/);

  const lines: string[] = [];
  const errors: number[] = [];
  for (const [step, instructions] of Object.entries(real)) {
    const e = estimates[step]!;
    const model = (e.ms - e.breakdown.flash) * instructionsPerMs; // flash time is physical, not instructions
    const err = model / instructions - 1;
    errors.push(err);
    lines.push(`${step}: model ${(model / 1e6).toFixed(2)}M vs real ${(instructions / 1e6).toFixed(2)}M instructions (${(err * 100).toFixed(1)}%), ${e.ms.toFixed(1)} ms (${e.msRange.low.toFixed(0)}-${e.msRange.high.toFixed(0)})`);
  }
  console.log(`time model vs the real interpreter on bundle ${measured.provenance.firmware.fixture} (puckjs calibration, ${CYCLES_PER_INSTRUCTION} CPI; range 1.0-2.0):\n  ${lines.join("\n  ")}`);
  for (const [i, err] of errors.entries()) expect(Math.abs(err), lines[i]).toBeLessThanOrEqual(TOLERANCE);
}, 120_000);
