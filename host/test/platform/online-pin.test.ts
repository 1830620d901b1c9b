// The online PIN, platform side: the PIN block and the verdict against firmware/vectors/online-pin.json
// (made with node:crypto alone), then the issuer's verifier (pin-verifier.ts) through the Platform:
// single-use challenges bound to carrier, order and purpose, the try limit, blocking, PIN change,
// and settlement only after an OK verdict for the order; per-device transport keys (transport-keys.ts).
import { describe, expect, it, afterEach } from "vitest";
import { readFileSync } from "node:fs";
import { decryptPinBlock, encryptPinBlock, PinBlockError, verdictMac, verdictMessage, type PinPurpose, type Verdict } from "../../src/platform/online-pin.ts";
import { merchantIdBytes, Platform, type OrderView } from "../../src/platform/service.ts";
import { computeAuthorizationCryptogram, diversifyCarrierKeys } from "../../src/channel/keys.ts";
import { TBK_DEV } from "../../src/flows/protocol.ts";
import { carrierAuthorization, enrolPin, pinBlockFor, reasonOf, setupOrder, tempDir, TEST_PIN, TEST_PIN_OPTIONS, verifyOrderPin } from "./helpers.ts";
import { PinPurpose as P } from "../../src/platform/online-pin.ts";

const v = JSON.parse(readFileSync(new URL("../../../firmware/vectors/online-pin.json", import.meta.url), "utf8")) as {
  verdict: { case: string; cryptogramKey: string; carrierId: string; sessionNonce: string; requestCounter: number; orderId: string; merchantId: string; amount: number; currency: string; verdict: number; triesLeft: number; message: string; mac: string }[];
  namedVerdict: { case: string; cryptogramKey: string; carrierId: string; sessionNonce: string; requestCounter: number; orderId: string; merchantId: string; amount: number; currency: string; verdict: number; triesLeft: number; merchantName: string; message: string; mac: string }[];
  pinBlock: { case: string; pin: string; purpose: number; carrierId: string; orderId: string; challenge: string; platformPrivate: string; platformPublic: string; ephemeralPrivate: string; filler: string; block: string }[];
};
const b = (h: string) => Uint8Array.from(Buffer.from(h, "hex"));
const hex = (x: Uint8Array) => Buffer.from(x).toString("hex");

const platforms: Platform[] = [];
afterEach(() => { for (const p of platforms.splice(0)) p.close(); });
async function open(opts: Parameters<typeof Platform.open>[0] = {}): Promise<Platform> {
  const p = await Platform.open({ pin: TEST_PIN_OPTIONS, ...opts });
  platforms.push(p);
  return p;
}

describe("online-pin.json vectors", () => {
  it.each([...v.verdict, ...v.namedVerdict].map((x) => [x.case, x]))("verdict: %s", (_, x) => {
    // format 2 (merchantName: a carrier with a screen) where the vector has a name
    const f = {
      carrierId: b(x.carrierId), sessionNonce: b(x.sessionNonce), requestCounter: x.requestCounter, orderId: b(x.orderId), merchantId: b(x.merchantId),
      amount: x.amount, currency: x.currency, verdict: x.verdict as Verdict, triesLeft: x.triesLeft,
      ...("merchantName" in x ? { merchantName: b((x as { merchantName: string }).merchantName) } : {}),
    };
    expect(hex(verdictMessage(f))).toBe(x.message);
    expect(hex(verdictMac(b(x.cryptogramKey), f))).toBe(x.mac);
  });

  it.each(v.pinBlock.map((x) => [x.case, x]))("PIN block: %s", (_, x) => {
    const ctx = { purpose: x.purpose as PinPurpose, carrierId: b(x.carrierId), orderId: b(x.orderId), challenge: b(x.challenge) };
    const block = encryptPinBlock(x.pin, b(x.platformPublic), ctx, { ephemeralPrivate: b(x.ephemeralPrivate), filler: b(x.filler) });
    expect(hex(block)).toBe(x.block);
    expect(decryptPinBlock(b(x.block), b(x.platformPrivate), ctx)).toBe(x.pin);
    // bound to its context: any other purpose, carrier, order or challenge does not open it
    for (const other of [{ ...ctx, purpose: (x.purpose === 1 ? 2 : 1) as PinPurpose }, { ...ctx, carrierId: b("ff" + x.carrierId.slice(2)) }, { ...ctx, orderId: b("aa") }, { ...ctx, challenge: new Uint8Array(16) }]) {
      expect(() => decryptPinBlock(b(x.block), b(x.platformPrivate), other)).toThrow(PinBlockError);
    }
    const flipped = b(x.block);
    flipped[40]! ^= 1;
    expect(() => decryptPinBlock(flipped, b(x.platformPrivate), ctx)).toThrow(PinBlockError);
  });
});

describe("the issuer's PIN check (platform)", () => {
  it("enrol once; a challenge serves one block, for its carrier, order and purpose only", async () => {
    const p = await open();
    const { carrier, order } = setupOrder(p);
    enrolPin(p, carrier.carrierId);
    expect(reasonOf(() => enrolPin(p, carrier.carrierId, "111111"))).toBe("pin-exists");
    const { challenge, pinBlock } = pinBlockFor(p, carrier.carrierId, P.PAY, order.orderId, TEST_PIN);
    const req = { orderId: order.orderId, carrierId: carrier.carrierId, challenge, pinBlock, sessionNonce: "00".repeat(16), requestCounter: 0 };
    expect(p.verifyOrderPin(req).verdict).toBe(0);
    expect(reasonOf(() => p.verifyOrderPin(req))).toBe("challenge-used"); // a replayed block
    const other = p.createOrder({ code: p.issuePaymentCode({ merchantId: order.merchantId, amount: 99, currency: "EUR" }).code });
    const fresh = pinBlockFor(p, carrier.carrierId, P.PAY, order.orderId, TEST_PIN);
    expect(reasonOf(() => p.verifyOrderPin({ ...req, ...fresh, orderId: other.orderId }))).toBe("bad-challenge"); // another order
    const forOther = { ...req, challenge: p.pinChallenge({ carrierId: carrier.carrierId, orderId: other.orderId, purpose: "pay" }).challenge, orderId: other.orderId };
    expect(reasonOf(() => p.verifyOrderPin(forOther))).toBe("bad-pin-block"); // the block was made for the first order's challenge
  });

  it("the issuer's try limit: 3 wrong PINs block the card; BLOCKED thereafter, even for the right PIN; nothing settles", async () => {
    const p = await open();
    const { carrier, order } = setupOrder(p);
    enrolPin(p, carrier.carrierId);
    expect([1, 2].map(() => verifyOrderPin(p, carrier.carrierId, order.orderId, "000000")).map((x) => [x.verdict, x.triesLeft])).toEqual([[1, 2], [1, 1]]);
    expect(verifyOrderPin(p, carrier.carrierId, order.orderId, TEST_PIN)).toMatchObject({ verdict: 0, triesLeft: 3 }); // a right one resets
    for (const left of [2, 1]) expect(verifyOrderPin(p, carrier.carrierId, order.orderId, "000000")).toMatchObject({ verdict: 1, triesLeft: left });
    expect(verifyOrderPin(p, carrier.carrierId, order.orderId, "000000")).toMatchObject({ verdict: 2, triesLeft: 0 });
    expect(p.getCarrier(carrier.carrierId).state).toBe("blocked");
    expect(verifyOrderPin(p, carrier.carrierId, order.orderId, TEST_PIN)).toMatchObject({ verdict: 2, triesLeft: 0 });
    expect(reasonOf(() => p.authorize(carrierAuthorization(p, carrier.carrierId, order, 1)))).not.toBe("accepted");
  });

  it("no settlement without an OK verdict for that order and carrier; with one, it settles", async () => {
    const p = await open();
    const { carrier, order } = setupOrder(p);
    enrolPin(p, carrier.carrierId);
    const { cryptogramKey } = p.carrierKeys(carrier.carrierId);
    expect(cryptogramKey).toHaveLength(32);
    verifyOrderPin(p, carrier.carrierId, order.orderId, "000000"); // a WRONG verdict is no verification
    const auth = { ...carrierAuthorizationWithoutPin(p, carrier.carrierId, order) };
    expect(reasonOf(() => p.authorize(auth))).toBe("pin-not-verified");
    expect(verifyOrderPin(p, carrier.carrierId, order.orderId).verdict).toBe(0);
    expect(p.authorize(auth).orderId).toBe(order.orderId);
  });

  it("PIN change, host ↔ platform: the old PIN counted like a payment's; the new one works, the old one not", async () => {
    const p = await open();
    const { carrier, order } = setupOrder(p);
    enrolPin(p, carrier.carrierId);
    const change = (oldPin: string, newPin: string) => {
      const c = p.pinChallenge({ carrierId: carrier.carrierId, purpose: "change" });
      const ctx = { carrierId: b(carrier.carrierId), orderId: new Uint8Array(0), challenge: b(c.challenge) };
      return p.changePin({
        carrierId: carrier.carrierId, challenge: c.challenge,
        oldPinBlock: hex(encryptPinBlock(oldPin, b(c.publicKey), { ...ctx, purpose: P.CHANGE_OLD })),
        newPinBlock: hex(encryptPinBlock(newPin, b(c.publicKey), { ...ctx, purpose: P.CHANGE_NEW })),
      });
    };
    expect(change("000000", "135790")).toMatchObject({ verdict: 1, triesLeft: 2 });
    expect(change(TEST_PIN, "135790")).toMatchObject({ verdict: 0, triesLeft: 3 });
    expect(verifyOrderPin(p, carrier.carrierId, order.orderId, TEST_PIN).verdict).toBe(1);
    expect(verifyOrderPin(p, carrier.carrierId, order.orderId, "135790").verdict).toBe(0);
  });

  it("the verifier is salted and slow: no PIN, no unsalted hash of it in the ledger", async () => {
    const p = await open();
    const { carrier } = setupOrder(p);
    enrolPin(p, carrier.carrierId);
    const row = p.ledger.get("SELECT * FROM carrier_pins WHERE carrier_id = ?", [carrier.carrierId])!;
    expect(String(row.kdf)).toBe("scrypt:N=1024,r=8,p=1");
    expect((row.salt as Uint8Array).length).toBe(16);
    const dump = JSON.stringify(p.ledger.all("SELECT * FROM carrier_pins")) + JSON.stringify(p.ledger.all("SELECT * FROM pin_challenges"));
    expect(dump).not.toContain(TEST_PIN);
  });
});

describe("per-device transport keys", () => {
  it("a production platform provisions from its own secret batch key and refuses the dev key", async () => {
    const p = await open();
    const tid = new TextEncoder().encode("c0ffee00-12345678");
    const k = p.provisionTransportKey(tid);
    expect(hex(k)).not.toBe(hex(diversifyCarrierKeys(TBK_DEV, tid).channelKey));
    expect(hex(p.transportChannelKey(tid))).toBe(hex(k));
    expect(reasonOf(() => p.transportChannelKey(new TextEncoder().encode("never-provisioned")))).toBe("not-provisioned");
  });

  it("the dev key only with the explicit dev flag; a production platform refuses a dev-provisioned carrier", async () => {
    const dir = tempDir();
    try {
      const dev = await Platform.open({ dbFile: dir.file, allowDevTransportKey: true, pin: TEST_PIN_OPTIONS });
      const tid = new TextEncoder().encode("dev-carrier-1");
      expect(hex(dev.provisionTransportKey(tid))).toBe(hex(diversifyCarrierKeys(TBK_DEV, tid).channelKey));
      dev.close();
      const prod = await open({ dbFile: dir.file });
      expect(reasonOf(() => prod.transportChannelKey(tid))).toBe("dev-transport-key");
    } finally {
      dir.cleanup();
    }
  });
});

function carrierAuthorizationWithoutPin(p: Platform, carrierId: string, order: OrderView) {
  // carrierAuthorization verifies the PIN first unless one is verified: bypass that with a direct cryptogram
  const { cryptogramKey } = p.carrierKeys(carrierId);
  return carrierAuthorizationFromKey(cryptogramKey, carrierId, order);
}
function carrierAuthorizationFromKey(cryptogramKey: Uint8Array, carrierId: string, order: OrderView) {
  const c = computeAuthorizationCryptogram(cryptogramKey, { carrierId: b(carrierId), orderId: b(order.orderId), merchantId: merchantIdBytes(order.merchantId), amount: order.amount, currency: order.currency, atc: 1 });
  return { orderId: order.orderId, carrierId, atc: 1, cryptogram: hex(c) };
}
