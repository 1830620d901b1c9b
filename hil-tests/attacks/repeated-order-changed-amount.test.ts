// Attack (issue #11 item 7): the untrusted host repeats an order id the carrier already authorized,
// with another amount. The carrier found the order among its logged authorizations by order id and
// merchant only, and answered with the OLD ATC and a cryptogram over the NEW amount — a second
// authorization under one ATC, with no log entry (PROTOCOL.md §7.5 says never). Now the repeat must
// be the same order: a changed amount or currency is refused at once with PAY_ORDER_CHANGED, nothing
// shown, nothing written, nothing signed; the genuine repeat still gets its original answer.
// With the online PIN every PAY carries the platform's verdict: the genuine payments here carry the
// platform's real verdict for the order; the changed repeats carry an OK verdict MAC'd under the
// carrier's K_ac over the CHANGED order (the strongest a host could relay: a verdict that would
// pass), so the refusal is the order check's, not a bad verdict's — and it spends no verdict try.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Platform } from "../../host/src/platform/service.ts";
import { personalise, platformIdFor, provision } from "../../host/src/flows/personalise.ts";
import { Status } from "../../host/src/status.ts";
import { bytesOf, CarrierRig, CMD, hex, payOrderBody, platformVerdict, ST, TEST_PIN_OPTIONS, type Identity } from "../../firmware/test/applets/carrier-harness.ts";
import type { CborMap } from "../../host/src/codec.ts";

const PIN = "482913";
const TRIES_LEFT_FIELD = 9; // INFO: the carrier's own tries left on bad verdicts (PROTOCOL.md §7.1)
let platform: Platform;
let rig: CarrierRig;
let identity: Identity;
let merchantId: number;
let carrierId: string;

beforeAll(async () => {
  platform = await Platform.open({ pin: TEST_PIN_OPTIONS });
  rig = await CarrierRig.boot({ provision: false });
  await provision(rig.kc, platform);
  const done = await personalise(rig.kc, platform, { pin: PIN });
  carrierId = done.carrierId;
  rig.payKeys = { carrierId: Buffer.from(done.carrierId, "hex"), cryptogramKey: platform.carrierKeys(done.carrierId).cryptogramKey };
  identity = { carrierId: Buffer.from(done.carrierId, "hex"), platformId: platformIdFor(done.issuerId), channelKey: platform.carrierKeys(done.carrierId).channelKey };
  merchantId = platform.registerMerchant({ name: "Corner Café" }).merchantId;
}, 60_000);
afterAll(() => {
  rig?.board.dispose();
  platform?.close();
});

async function state(): Promise<{ atc: number; kept: number; head: string; verdictTries: unknown }> {
  const log = await rig.outer(CMD.LOG_READ);
  expect(log.status).toBe(ST.OK);
  const info = await rig.info();
  return { atc: info.get(11) as number, kept: log.body.get(4) as number, head: hex(bytesOf(log.body.get(3))), verdictTries: info.get(TRIES_LEFT_FIELD) };
}

describe("attack: a repeated order id with a changed amount", () => {
  it("is refused at once with PAY_ORDER_CHANGED: no UI, no ATC, no log entry, no cryptogram; the genuine repeat gets its original answer", async () => {
    const order = platform.createOrder({ code: platform.issuePaymentCode({ merchantId, amount: 1234, currency: "EUR" }).code });
    const body = payOrderBody(order.cryptogramFields);
    const ch = await rig.openChannel(identity);
    const first = await rig.pay(ch, body, platformVerdict(platform, rig, ch, carrierId, body, PIN));
    expect(first.status).toBe(ST.OK);
    const atc = first.body.get(1) as number;
    const cryptogram = hex(bytesOf(first.body.get(2)));
    const after = await state();
    expect(after.atc).toBe(atc);

    const changes: Array<[string, CborMap]> = [
      ["amount 12.34 → 99,999.00 minor units", new Map(body).set(3, 99_999)],
      ["amount 12.34 → 12.35", new Map(body).set(3, 1235)],
      ["currency EUR → USD", new Map(body).set(4, "USD")],
    ];
    for (const [label, changed] of changes) {
      // No press: a carrier that asked the user would not answer within the host's wait.
      const r = await rig.pay(ch, changed, "ok", () => {});
      expect(r.status, label).toBe(Status.PAY_ORDER_CHANGED);
      expect(r.body.get(2), `${label}: a cryptogram`).toBeUndefined();
      expect(rig.board.leds()[0], `${label}: the order was shown`).toBe(false);
      // The same, with the user pressing anyway: still refused, still nothing signed.
      const pressed = await rig.pay(ch, changed, "ok");
      expect(pressed.status, label).toBe(Status.PAY_ORDER_CHANGED);
      expect(await state(), `${label}: the carrier's ATC/log changed`).toEqual(after);
    }

    // Control: the genuine repeat (a host retrying after a lost reply) gets the original ATC and cryptogram.
    const again = await rig.pay(ch, body, platformVerdict(platform, rig, ch, carrierId, body, PIN));
    expect(again.status).toBe(ST.OK);
    expect([again.body.get(1), hex(bytesOf(again.body.get(2)))]).toEqual([atc, cryptogram]);
    expect(await state()).toEqual(after);
  });
});
