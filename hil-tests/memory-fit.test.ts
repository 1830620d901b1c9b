// Does the firmware fit a Puck.js? The metered virtual board counts vars the way Espruino 2v29 does
// (board/docs/cost-model.md "JsVars") and must run out of memory where the real interpreter does.
// Like with like: the real figures are the 2,630-var run in board/calibration/real-2v29-puckjs.json
// (Linux build of the public source with the Puck.js pool, provenance inside), and the model runs THE
// SAME bundle that run measured (its committed fixture, bench/calibrate/fixture.ts), not firmware/dist.
// Each outcome asserted here (works / runs out of memory) is the one the real run recorded, so when a
// re-measured firmware fits, this test follows the data. `npm run bench` reports today's firmware.
// The Puck.js has no USB: its profile gets a USB port as a stand-in for the console (same paths).
import { afterEach, describe, expect, it } from "vitest";
import { Platform } from "../host/src/platform/service.ts";
import { CarrierRig, CMD, ST, payOrderBody, platformVerdict, transportIdentity } from "../firmware/test/applets/carrier-harness.ts";
import { profileFor } from "../firmware/test/store/lifecycle.ts";
import type { BoardProfile } from "../board/src/profiles.ts";
import { VirtualBoard } from "../board/src/virtual-board.ts";
import { CostMeter } from "../board/src/cost/meter.ts";
import { requestFrame } from "../bench/device-cost.ts";
import { personaliseFromPlatform } from "../bench/context.ts";
import { bootBundle, loadMeasurement, measuredBundle } from "../bench/calibrate/fixture.ts";

const PLATFORM_ID = new TextEncoder().encode("KC-PLATFORM-TEST");
const measured = loadMeasurement("puckjs");
const bundle = measuredBundle(measured);
// the first record of a step is the run on this pool (a later "personalise" row is the helper's)
const real = (name: string) => {
  const s = measured.firmware.steps.find((x) => x.name === name);
  if (!s) throw new Error(`real-2v29-puckjs.json has no step "${name}"`);
  return s;
};
const TOLERANCE = 0.05; // boot figures; the issue's bar is 10%
const rigs: CarrierRig[] = [];
const platforms: Platform[] = [];
afterEach(() => {
  for (const r of rigs.splice(0)) r.board.dispose();
  for (const p of platforms.splice(0)) p.close();
});

const puck = profileFor("puckjs", true);
const withPool = (p: BoardProfile, count: number): BoardProfile => ({ ...p, vars: { ...p.vars, count } });
const oom = (rig: CarrierRig) => rig.board.costEvents().filter((e) => e.kind === "out-of-memory");

describe(`memory on the Puck.js pool (2,630 vars), metered, bundle ${measured.provenance.firmware.fixture}`, () => {
  it("blank carrier: boots within 5% of the real count; INFO and personalisation work or run out as on the real pool", async () => {
    const rig = await bootBundle(bundle, { board: puck, meter: true });
    rigs.push(rig);
    const after = rig.board.memoryEstimate().total;
    const boot = real("boot (blank)");
    expect(boot.ok).toBe(true);
    expect(Math.abs(after / boot.vars! - 1), `model ${after} vs real ${boot.vars}`).toBeLessThan(TOLERANCE);
    expect(oom(rig)).toEqual([]);
    expect(real("INFO (blank)").ok).toBe(true);
    await rig.info();
    expect(oom(rig)).toEqual([]);
    // personalisation: the transport session (OPEN + CONFIRM), then PERSONALISE inside it
    const platform = await Platform.open({});
    platforms.push(platform);
    const perso = real("personalise (whole flow)");
    let error: unknown;
    try { await personaliseFromPlatform(rig, platform, "482913"); } catch (e) { error = e; }
    if (perso.ok) {
      expect(error).toBeUndefined();
      expect(oom(rig)).toEqual([]);
    } else {
      // the real pool ran out inside it (flags CALLBACK, LOW_MEMORY, MEMORY: the USB callback was removed)
      expect(perso.errorFlags).toContain("MEMORY");
      expect(String(error)).toMatch(/no response/);
      expect(oom(rig).length).toBeGreaterThan(0);
      expect(rig.board.transcript()).toContain("OUT OF MEMORY");
      expect(rig.board.evaluate("E.getErrorFlags().indexOf('MEMORY') >= 0")).toEqual({ ok: true, value: true });
    }
  }, 60_000);

  it("personalised carrier: boots within 5% of the real count, then INFO works or runs out as on the real pool", async () => {
    // personalise on the same flash geometry with a pool big enough for it, then power the same flash up on a Puck.js pool
    const platform = await Platform.open({});
    platforms.push(platform);
    const big = await bootBundle(bundle, { board: withPool(puck, 5100) });
    rigs.push(big);
    const carrierId = platform.issueCarrier().carrierId;
    const keys = platform.carrierKeys(carrierId);
    const tch = await big.openChannel(transportIdentity(big.serial));
    const perso = await big.inner(tch, CMD.PERSONALISE, new Map<number, Uint8Array | number | string>([
      [1, Buffer.from(carrierId, "hex")], [2, PLATFORM_ID], [3, keys.channelKey], [4, keys.cryptogramKey], [5, 100_000], // no PIN: it is enrolled at the platform (online PIN)
    ]));
    expect(perso.status).toBe(ST.OK);
    const image = big.board.flash.snapshot();

    const board = new VirtualBoard({ board: puck, seed: 9, flashImage: image, cost: new CostMeter() });
    try {
      board.powerOn();
      board.runUntilIdle(5_000);
      expect(board.costEvents()).toEqual([]);
      const boot = real("boot (personalised)");
      expect(boot.ok).toBe(true);
      expect(Math.abs(board.memoryEstimate().total / boot.vars! - 1), `model ${board.memoryEstimate().total} vs real ${boot.vars}`).toBeLessThan(TOLERANCE);
      // INFO (PROTOCOL.md §7.1)
      const replies: Uint8Array[] = [];
      board.usb.onData((b) => replies.push(b));
      board.usb.write(requestFrame(1, CMD.INFO, "\xa0"));
      board.advance(50);
      if (real("INFO (personalised)").ok) {
        expect(board.costEvents().map((e) => e.kind)).not.toContain("out-of-memory");
        expect(replies.length).toBeGreaterThan(0);
      } else {
        expect(board.costEvents().map((e) => e.kind)).toContain("out-of-memory");
        expect(board.transcript()).toContain("OUT OF MEMORY");
        expect(replies).toEqual([]);
      }
    } finally {
      board.dispose();
    }
  }, 60_000);
});

// Today's firmware (the release NFC bundle `npm run build` makes, booted from Storage as a Puck.js
// boots it) through the carrier's whole life on the Puck.js as shipped: no USB, the host talks over
// NFC (the virtual tag reader, PROTOCOL.md §10). Factory provisioning, a reboot after the
// personalisation, INFO, the payment channel, PAY with the platform's PIN verdict and a press, and
// LOG_READ all run on the 2,630-var pool with no MEMORY error flag and no out-of-memory event.
// NOT YET: the personalisation itself peaks over 2,630 by the model (≈2,690: the store's scan of the
// 1,024 B log file it just created is charged 2 × 114 vars, where a real nRF52 maps Storage.read into
// flash for 1 var — board/docs/calibration.md "Probes" — plus the request's copies in link,
// dispatchers and channel), so it runs on a pool with the same var layout and room (4,095) and its
// peak is asserted against today's figure. Issue #12's budgets are idle ≤ 40% (1,052 vars) and
// peaks ≤ 70% (1,841); the bounds below are today's figures plus a small margin
// (docs/FLOWS.md "Memory"), so a regression fails here; issue #12 stays open until they reach the
// budget.
const REACHED = { idleBlank: 2060, idlePersonalised: 2180, peakPersonalise: 2890, peakChannel: 2360, peakPay: 2460 } as const;
const SAMPLE_EVERY_HITS = 10;
const PIN = "482913";

describe("today's bundle on the Puck.js (2,630 vars, NFC, no USB): the flow, no low-memory flag", () => {
  it("provision, personalise (on a 4,095-var pool: over 2,630 today), reboot on 2,630, INFO, channel open, PAY, LOG_READ: every step answers and the Puck's pool is never exceeded", async () => {
    const platform = await Platform.open({});
    platforms.push(platform);
    const shipped = profileFor("puckjs");
    expect(shipped.peripherals.usb).toBe(false);
    const noMemoryTrouble = (r: CarrierRig) => {
      expect(oom(r)).toEqual([]);
      expect(r.board.evaluate("E.getErrorFlags().join()")).toEqual({ ok: true, value: "" });
    };
    const measure = async <T>(r: CarrierRig, run: () => Promise<T>): Promise<{ value: T; peak: number }> => {
      r.board.resetMemoryPeak(SAMPLE_EVERY_HITS);
      const value = await run();
      return { value, peak: r.board.memoryPeak() };
    };
    // factory: boot blank from Storage, PROVISION over NFC (CarrierRig.boot)
    const rig = await CarrierRig.boot({ board: shipped, meter: true, bootcde: true, nfc: true });
    rigs.push(rig);
    const idleBlank = rig.board.memoryEstimate().total;
    noMemoryTrouble(rig);
    // personalisation: on a pool with room (measured, not limited), then the same flash on the Puck's
    const big = await CarrierRig.boot({ board: withPool(shipped, 4095), meter: true, bootcde: true, nfc: true });
    rigs.push(big);
    const perso = await measure(big, () => personaliseFromPlatform(big, platform, PIN));
    const ids = perso.value;

    // power-cycle the personalised carrier on the same pool
    const prig = await CarrierRig.boot({ board: shipped, meter: true, bootcde: true, flashImage: big.board.flash.snapshot(), nfc: true });
    rigs.push(prig);
    const idlePersonalised = prig.board.memoryEstimate().total;
    noMemoryTrouble(prig);
    expect((await prig.info()).get(9)).toBe(10); // tries left: a personalised carrier's INFO
    const channel = await measure(prig, () => prig.openChannel({ carrierId: ids.cid, platformId: ids.pid, channelKey: ids.keys.channelKey }));
    noMemoryTrouble(prig);
    const merchant = platform.registerMerchant({ name: "Memory fit" });
    const order = platform.createOrder({ code: platform.issuePaymentCode({ merchantId: merchant.merchantId, amount: 1234, currency: "EUR" }).code });
    const body = payOrderBody(order.cryptogramFields);
    const verdict = platformVerdict(platform, prig, channel.value, Buffer.from(ids.cid).toString("hex"), body, PIN);
    const pay = await measure(prig, () => prig.pay(channel.value, body, verdict));
    expect(pay.value.status).toBe(ST.OK);
    noMemoryTrouble(prig);
    const log = await prig.outer(CMD.LOG_READ);
    expect(log.status).toBe(ST.OK);
    expect(log.body.get(4)).toBe(1); // one entry: the PAY above
    noMemoryTrouble(prig);

    const figures = { idleBlank, idlePersonalised, peakPersonalise: perso.peak, peakChannel: channel.peak, peakPay: pay.peak };
    console.log(`puckjs (2,630 vars, NFC) today: ${JSON.stringify(figures)}; issue #12 budget: idle ≤ 1,052, peaks ≤ 1,841`);
    for (const [k, v] of Object.entries(figures)) {
      expect(v, k).toBeGreaterThan(0);
      expect(v, `${k} (regression bound: today's figure + margin)`).toBeLessThanOrEqual(REACHED[k as keyof typeof REACHED]);
      // every step on the Puck's own pool fits it; the personalisation does not yet (above)
      if (k !== "peakPersonalise") expect(v, k).toBeLessThanOrEqual(shipped.vars.count);
    }
  }, 120_000);
});
