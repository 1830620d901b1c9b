// The Puck.js as shipped over PC/SC (PROTOCOL.md §10): the same path as pcsc.test.ts — the host's
// `pcsc` transport → a real pcscd (private, started here: vpcd's two slots are the other file's) →
// vpcd → the virtual card — to a virtual Puck.js (2,630 vars, NFC only) running keycarrier.nfc.js
// from Storage. Skips, saying why, where pcscd, vpcd or the binding are missing.
import { describe, expect, it } from "vitest";
import { Platform } from "../host/src/platform/service.ts";
import { CarrierRig, hex, payOrderBody, platformVerdict, ST, TEST_PIN_OPTIONS } from "../firmware/test/applets/carrier-harness.ts";
import { personaliseFromPlatform } from "../bench/context.ts";
import { usePrivatePcscd } from "./pcsc-env.ts";

const PIN = "482913";

const pcscd = usePrivatePcscd("hil-tests/pcsc-puckjs.test.ts");

describe("protocol v1 over pcsc to the Puck.js profile (issue #13: NFC alone on puckjs)", () => {
  it("the Puck.js as shipped (2,630 vars, NFC only, its keycarrier.nfc.js booted from Storage): INFO, PING, provisioning, personalisation, channel open and PAY over pcsc, with no memory error", async (ctx) => {
    const env = pcscd.env;
    if (!env) return ctx.skip(pcscd.skip);
    const rig = await CarrierRig.boot({ board: "puckjs", bootcde: true, pcsc: { vpcdPort: env.port, readerName: env.readerName } });
    const noMemoryTrouble = () => expect(rig.board.evaluate("E.getErrorFlags().join()")).toEqual({ ok: true, value: "" });
    try {
      const info = await rig.info();
      expect((info.get(6) as number) & 0x03, "NFC and no USB").toBe(0x02);
      for (const n of [0, 100]) {
        const data = Uint8Array.from({ length: n }, (_, i) => (i * 7 + n) & 0xff);
        expect(hex(await rig.kc.ping(data)), `PING ${n}`).toBe(hex(data));
      }
      noMemoryTrouble();
      const platform = await Platform.open({ pin: TEST_PIN_OPTIONS });
      try {
        const ids = await personaliseFromPlatform(rig, platform, PIN);
        const carrierId = Buffer.from(ids.cid).toString("hex");
        const merchantId = platform.registerMerchant({ name: "Puck kiosk" }).merchantId;
        noMemoryTrouble();
        const ch = await rig.openChannel({ carrierId: ids.cid, platformId: ids.pid, channelKey: ids.keys.channelKey });
        const o = platform.createOrder({ code: platform.issuePaymentCode({ merchantId, amount: 450, currency: "EUR" }).code });
        const b = payOrderBody(o.cryptogramFields);
        const r = await rig.pay(ch, b, platformVerdict(platform, rig, ch, carrierId, b, PIN));
        expect(r.status, String(r.body.get(1))).toBe(ST.OK);
        expect(platform.authorize({ orderId: o.orderId, carrierId, atc: r.body.get(1) as number, cryptogram: hex(r.body.get(2) as Uint8Array) }).orderId).toBe(o.orderId);
        noMemoryTrouble();
      } finally {
        platform.close();
      }
    } finally {
      await rig.kc.close().catch(() => undefined);
      rig.vicc?.remove();
      rig.board.dispose();
    }
  }, 90_000);
});
