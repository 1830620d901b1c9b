// The Puck.js as shipped over PC/SC (PROTOCOL.md §10): the same path as pcsc.test.ts — the host's
// `pcsc` transport → a real pcscd (private, started here: vpcd's two slots are the other file's) →
// vpcd → the virtual card — to a virtual Puck.js (2,630 vars, NFC only) running keycarrier.nfc.js
// from Storage. Skips, saying why, where pcscd, vpcd or the binding are missing.
import { describe, expect, it } from "vitest";
import { Platform } from "../host/src/platform/service.ts";
import { CarrierRig, CMD, enrolPin, hex, payOrderBody, platformVerdict, ST, TEST_PIN_OPTIONS, transportIdentity } from "../firmware/test/applets/carrier-harness.ts";
import { usePrivatePcscd } from "./pcsc-env.ts";

const PIN = "482913";
const PLATFORM_ID = new TextEncoder().encode("KC-PLATFORM-TEST");

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
        const carrierId = platform.issueCarrier().carrierId;
        const keys = platform.carrierKeys(carrierId);
        const merchantId = platform.registerMerchant({ name: "Puck kiosk" }).merchantId;
        const tch = await rig.openChannel(transportIdentity(rig.serial));
        const perso = await rig.inner(tch, CMD.PERSONALISE, new Map<number, Uint8Array | number | string>([
          [1, Buffer.from(carrierId, "hex")], [2, PLATFORM_ID], [3, keys.channelKey], [4, keys.cryptogramKey], [5, 500_000],
        ]));
        expect(perso.status, String(perso.body.get(1))).toBe(ST.OK);
        noMemoryTrouble();
        expect(enrolPin(platform, carrierId, PIN)).toBe(3);
        const ch = await rig.openChannel({ carrierId: Buffer.from(carrierId, "hex"), platformId: PLATFORM_ID, channelKey: keys.channelKey });
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
