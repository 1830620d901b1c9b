// Attack (c), issue 11 item 5 (evil maid): BTN1, then `keycarrier flash` installs a trojaned
// firmware — the genuine bundle behind a prelude that records everything that reaches the carrier:
// every USB byte, every input and output of the native crypto (so every decrypted channel message,
// every key it handles) and every Storage write. It runs personalisation and a payment with the
// user's PIN. Before the online PIN, PAY carried the PIN (sealed to the carrier, which decrypted
// it), so the trojan kept it. Now:
//  - nothing the trojan recorded holds the PIN, in any plausible encoding (ASCII, CBOR text, BCD,
//    an ISO 9564 format 0 block, binary, UTF-16, hex text);
//  - the trojan holds every key (K_ac too) and still cannot pay: a cryptogram it makes for a new
//    order is refused, because the user's PIN never reached the platform for that order.
import { afterEach, describe, expect, it } from "vitest";
import type { Platform } from "../../host/src/platform/service.ts";
import { PlatformError } from "../../host/src/platform/service.ts";
import { computeAuthorizationCryptogram } from "../../host/src/channel/keys.ts";
import { platformIdFor } from "../../host/src/flows/personalise.ts";
import { CarrierRig, CMD, enrolPin, payOrderBody, platformVerdict, ST } from "../../firmware/test/applets/carrier-harness.ts";
import { productionPlatform, transportId } from "./world.ts";

const PIN = "482913";
const rigs: CarrierRig[] = [];
const platforms: Platform[] = [];
afterEach(() => {
  for (const r of rigs.splice(0)) r.board.dispose();
  for (const p of platforms.splice(0)) p.close();
});

// The trojan's prelude: taps USB input, the crypto module (AES both ways, SHA-256 inputs) and
// Storage writes into one global list before the genuine firmware runs.
const TROJAN = `
var __cap = [];
var __usbOn = USB.on;
USB.on = function (ev, fn) {
  if (ev === "data") return __usbOn.call(USB, ev, function (d) { __cap.push(String(d)); fn(d); });
  return __usbOn.apply(USB, arguments);
};
var __c = require("crypto");
var __enc = __c.AES.encrypt, __dec = __c.AES.decrypt, __sha = __c.SHA256;
__c.AES.encrypt = function (d, k, o) { var r = __enc.call(__c.AES, d, k, o); __cap.push(E.toString(d), E.toString(k), E.toString(r)); return r; };
__c.AES.decrypt = function (d, k, o) { var r = __dec.call(__c.AES, d, k, o); __cap.push(E.toString(d), E.toString(k), E.toString(r)); return r; };
__c.SHA256 = function (d) { __cap.push(E.toString(d)); return __sha(d); };
var __st = require("Storage"), __write = __st.write;
__st.write = function (n, d, o, s) { __cap.push(String(n), E.toString(d)); return __write.apply(__st, arguments); };
`;

/** Every encoding of the PIN a thief could look for. */
function encodings(pin: string): Buffer[] {
  const n = Number(pin);
  const u32 = Buffer.alloc(4);
  u32.writeUInt32BE(n);
  const iso0 = Buffer.from(("0" + pin.length.toString(16) + pin).padEnd(16, "f"), "hex");
  return [
    Buffer.from(pin), Buffer.concat([Buffer.from([0x60 + pin.length]), Buffer.from(pin)]), Buffer.from(pin, "hex"), iso0,
    u32, Buffer.from(u32).reverse(), Buffer.from(pin, "utf16le"), Buffer.from(Buffer.from(pin).toString("hex")),
  ];
}

describe("attack: trojaned firmware records everything that reaches the carrier", () => {
  it("personalise + pay: no PIN in anything it saw; its keys pay nothing", async () => {
    const platform = await productionPlatform();
    platforms.push(platform);
    const rig = await CarrierRig.boot({ provision: false, prelude: TROJAN });
    rigs.push(rig);
    // the factory's kc.tk, the platform's personalisation, the PIN enrolled online
    const tid = transportId(rig.serial);
    expect((await rig.outer(CMD.PROVISION, new Map([[1, platform.provisionTransportKey(tid)]]))).status).toBe(ST.OK);
    const issued = platform.issueCarrier();
    const keys = platform.carrierKeys(issued.carrierId);
    const identity = { carrierId: Buffer.from(issued.carrierId, "hex"), platformId: platformIdFor(issued.issuerId), channelKey: keys.channelKey };
    const tch = await rig.openChannel({ carrierId: tid, platformId: new TextEncoder().encode("KC-TRANSPORT"), channelKey: platform.transportChannelKey(tid) });
    expect((await rig.inner(tch, CMD.PERSONALISE, new Map<number, Uint8Array | number | string>([
      [1, identity.carrierId], [2, identity.platformId], [3, keys.channelKey], [4, keys.cryptogramKey], [5, 100_000],
    ]))).status).toBe(ST.OK);
    enrolPin(platform, issued.carrierId, PIN);

    // the user pays (the PIN goes to the platform, encrypted; PAY carries the verdict)
    const merchantId = platform.registerMerchant({ name: "Corner Café" }).merchantId;
    const order = platform.createOrder({ code: platform.issuePaymentCode({ merchantId, amount: 1234, currency: "EUR" }).code });
    const body = payOrderBody(order.cryptogramFields);
    const ch = await rig.openChannel(identity);
    const paid = await rig.pay(ch, body, platformVerdict(platform, rig, ch, issued.carrierId, body, PIN));
    expect(paid.status).toBe(ST.OK);
    expect(platform.authorize({ orderId: order.orderId, carrierId: issued.carrierId, atc: 1, cryptogram: Buffer.from(paid.body.get(2) as Uint8Array).toString("hex") }).amount).toBe(1234);

    // what the trojan recorded
    const r = rig.board.evaluate("__cap.map(function (s) { return btoa(s); })");
    if (!r.ok) throw r.error;
    const captured = (r.value as string[]).map((s) => Buffer.from(s, "base64"));
    const all = Buffer.concat(captured);
    expect(captured.length).toBeGreaterThan(50);
    // it did see the secrets that reach the carrier (so the capture is real): both keys in clear
    expect(all.includes(Buffer.from(keys.cryptogramKey))).toBe(true);
    expect(all.includes(Buffer.from(keys.channelKey))).toBe(true);
    // and PAY's decrypted plaintext: the order id and the platform's verdict MAC
    expect(all.includes(Buffer.from(order.orderId, "hex"))).toBe(true);
    for (const e of encodings(PIN)) expect(all.includes(e), `the PIN as ${e.toString("hex")} in what the trojan saw`).toBe(false);

    // the trojan's payment: a new order, the next ATC, a cryptogram under the K_ac it captured
    const o = platform.createOrder({ code: platform.issuePaymentCode({ merchantId, amount: 99_000, currency: "EUR" }).code });
    const f = o.cryptogramFields;
    const cryptogram = Buffer.from(computeAuthorizationCryptogram(keys.cryptogramKey, {
      carrierId: identity.carrierId, orderId: Buffer.from(f.orderId, "hex"), merchantId: Buffer.from(f.merchantId, "hex"), amount: f.amount, currency: f.currency, atc: 2,
    })).toString("hex");
    let refused: PlatformError | undefined;
    try { platform.authorize({ orderId: o.orderId, carrierId: issued.carrierId, atc: 2, cryptogram }); } catch (e) { refused = e as PlatformError; }
    expect(refused?.reason).toBe("pin-not-verified");
    expect(platform.getOrder(o.orderId).state).toBe("open");
  }, 60_000);
});
