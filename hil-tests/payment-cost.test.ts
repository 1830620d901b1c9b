// Device time per authorization (issue 6 item 8, target ≤ 100 ms on puckjs): one PAY (PROTOCOL.md §7.5): the RELEASE bundle
// on the virtual nRF52840 (same 64 MHz nRF52 calibration as the Puck.js, and it has USB), metered by
// the cost model (board/docs/cost-model.md, ±2×) and estimated for the puckjs profile.
import { afterAll, expect, it } from "vitest";
import { Platform } from "../host/src/platform/service.ts";
import { CarrierRig, CMD, enrolPin, payOrderBody, platformVerdict, ST, TEST_PIN_OPTIONS, transportIdentity } from "../firmware/test/applets/carrier-harness.ts";

const rigs: CarrierRig[] = [];
afterAll(() => { for (const r of rigs) r.board.dispose(); });

it("meters PAY — the request, then the decision after the press — (puckjs estimate) and says where the time goes", async () => {
  const platform = await Platform.open({ pin: TEST_PIN_OPTIONS });
  try {
    const carrierId = platform.issueCarrier().carrierId;
    const keys = platform.carrierKeys(carrierId);
    const rig = await CarrierRig.boot({ meter: true });
    rigs.push(rig);
    const tch = await rig.openChannel(transportIdentity(rig.serial));
    const pid = new TextEncoder().encode("KC-PLATFORM-TEST");
    const perso = await rig.inner(tch, CMD.PERSONALISE, new Map<number, Uint8Array | number | string>([[1, Buffer.from(carrierId, "hex")], [2, pid], [3, keys.channelKey], [4, keys.cryptogramKey], [5, 100_000]]));
    expect(perso.status).toBe(ST.OK);
    enrolPin(platform, carrierId, "482913");
    const persoMs = rig.lastCost().ms;
    const ch = await rig.openChannel({ carrierId: Buffer.from(carrierId, "hex"), platformId: pid, channelKey: keys.channelKey });
    const merchantId = platform.registerMerchant({ name: "Bench" }).merchantId;

    const rows: string[] = [];
    let worst = 0;
    for (let i = 0; i < 2; i++) {
      const order = platform.createOrder({ code: platform.issuePaymentCode({ merchantId, amount: 1234 + i, currency: "EUR" }).code });
      const f = order.cryptogramFields;
      const body = payOrderBody(f);
      const auth = await rig.pay(ch, body, platformVerdict(platform, rig, ch, carrierId, body, "482913"));
      expect(auth.status).toBe(ST.OK);
      // the request (unwrap, checks, UI started), then the press (verdict counted and its MAC checked, commit, cryptogram, sealed reply)
      const request = rig.lastCost("puckjs", 1);
      const a = rig.lastCost();
      const b = a.breakdown;
      const total = request.ms + a.ms;
      worst = Math.max(worst, total);
      rows.push(`payment ${i + 1}${i === 0 ? " (first: K_ac pads)" : ""}: PAY request ${request.ms.toFixed(0)} ms + decision ${a.ms.toFixed(0)} ms = ${total.toFixed(0)} ms` +
        ` [request: native ${request.breakdown.native.toFixed(0)}, JS ${(request.ms - request.breakdown.native).toFixed(0)}; decision: native ${b.native.toFixed(0)}, flash ${b.flash.toFixed(0)}, JS ${(a.ms - b.native - b.flash).toFixed(0)}; SHA-256 calls ${a.counts.native["SHA256"]?.calls ?? 0}]`);
    }
    console.log(`device time per authorization on puckjs (cost model):\n  ${rows.join("\n  ")}\n  PERSONALISE ${persoMs.toFixed(0)} ms`);
    // The on-device PIN check (28 stretching rounds, ≈195 ms) is gone with the online PIN; this
    // bound only catches regressions (the figures are in `npm run bench`).
    expect(worst).toBeLessThan(600);
  } finally {
    platform.close();
  }
}, 120_000);
