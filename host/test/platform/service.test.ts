import { describe, it, expect, afterEach } from "vitest";
import { Platform, PlatformError } from "../../src/platform/service.ts";
import { paymentCodeText, signPaymentCode, parsePaymentCode } from "../../src/qr/payload.ts";
import { carrierAuthorization, setupOrder, reasonOf, tempDir, TEST_PIN_OPTIONS } from "./helpers.ts";

const cleanups: Array<() => void> = [];
afterEach(() => cleanups.splice(0).forEach((c) => c()));
async function open(opts: Parameters<typeof Platform.open>[0] = {}) {
  const p = await Platform.open({ pin: TEST_PIN_OPTIONS, ...opts });
  cleanups.push(() => { try { p.close(); } catch { /* already closed */ } });
  return p;
}
function fileLedger() {
  const t = tempDir();
  cleanups.push(t.cleanup);
  return t.file;
}
const settlementCount = (p: Platform) => Number(p.ledger.get("SELECT count(*) AS n FROM settlements")!.n);
/** Refusals of `entity` by reason, as the aggregated audit rows hold them (after a flush). */
function refusals(p: Platform, entity: string): Record<string, number> {
  p.flushRefusals();
  const out: Record<string, number> = {};
  for (const row of p.auditTrail({ entity: "platform", entityId: "refusals" })) {
    for (const c of (row.detail as { counts: Array<{ entity: string; reason: string; count: number }> }).counts) {
      if (c.entity === entity) out[c.reason] = (out[c.reason] ?? 0) + c.count;
    }
  }
  return out;
}

describe("platform happy path", () => {
  it("issue carrier → register merchant → payment code → validate → order → authorize → settled, with an audit row per change", async () => {
    let clock = 1_800_000_000_000;
    const p = await open({ now: () => clock });
    const merchant = p.registerMerchant({ name: "Corner Café" });
    expect(merchant).toEqual({ merchantId: 1, name: "Corner Café", createdAt: clock, apiKey: expect.stringMatching(/^kc_m_[0-9a-f]{16}_[A-Za-z0-9_-]{43}$/) });
    const carrier = p.issueCarrier();
    expect(carrier.carrierId).toMatch(/^[0-9a-f]{16}$/);
    expect(carrier.issuerId).toBe("dev-issuer");
    const code = p.issuePaymentCode({ merchantId: 1, amount: 1234, currency: "EUR", ttlSeconds: 60 });
    expect(code).toMatchObject({ merchantId: 1, amount: 1234, currency: "EUR", display: "12.34 EUR", expiresAt: clock / 1000 + 60 });
    expect(code.code).toHaveLength(72);
    expect(p.validatePaymentCode({ code: code.code })).toMatchObject({ valid: true, merchantName: "Corner Café", amount: 1234, orderRef: code.orderRef });
    const order = p.createOrder({ code: code.code });
    expect(order).toMatchObject({ created: true, state: "open", amount: 1234, currency: "EUR", merchantId: 1 });
    expect(order.cryptogramFields).toEqual({ orderId: order.orderId, merchantId: "00000001", amount: 1234, currency: "EUR" });
    expect(p.createOrder({ code: code.code })).toMatchObject({ created: false, orderId: order.orderId });

    clock += 1000;
    const settlement = p.authorize(carrierAuthorization(p, carrier.carrierId, order, 1));
    expect(settlement).toMatchObject({ orderId: order.orderId, carrierId: carrier.carrierId, atc: 1, amount: 1234, currency: "EUR", merchantId: 1, settledAt: clock });
    expect(p.getOrder(order.orderId)).toMatchObject({ state: "settled", settlement: { settlementId: settlement.settlementId } });
    expect(p.getCarrier(carrier.carrierId).lastAtc).toBe(1);
    expect(p.auditTrail().map((r) => `${r.entity}:${r.action}`)).toEqual([
      "api_key:created", "merchant:registered", "issuer:created", "carrier:issued", "payment_code:issued", "order:created", "carrier:pin-enrolled", "order:pin-verdict", "authorization:verified", "order:settled",
    ]);
    expect(reasonOf(() => p.validatePaymentCode({ code: code.code }))).toBe("code-already-paid");
    expect(reasonOf(() => p.createOrder({ code: code.code }))).toBe("code-already-paid");
  });

  it("carrier keys are the channel module's diversification of the issuer master key, different per carrier", async () => {
    const p = await open();
    const a = p.issueCarrier();
    const b = p.issueCarrier();
    expect(p.carrierKeys(a.carrierId).cryptogramKey).toHaveLength(32);
    expect(p.carrierKeys(a.carrierId).cryptogramKey).toEqual(p.carrierKeys(a.carrierId).cryptogramKey);
    expect(p.carrierKeys(a.carrierId).cryptogramKey).not.toEqual(p.carrierKeys(b.carrierId).cryptogramKey);
    expect(p.carrierKeys(a.carrierId).channelKey).not.toEqual(p.carrierKeys(a.carrierId).cryptogramKey);
  });
});

describe("platform rejections, each with its reason", () => {
  it("payment codes: expired, forged, truncated, not ours, unknown merchant, bad input", async () => {
    let clock = 1_800_000_000_000;
    const p = await open({ now: () => clock });
    p.registerMerchant({ name: "M" });
    const code = p.issuePaymentCode({ merchantId: 1, amount: 500, currency: "EUR", ttlSeconds: 30 });
    const parsed = parsePaymentCode(code.code);
    const forged = paymentCodeText(signPaymentCode({ ...parsed, amount: 1 }, new Uint8Array(32)));
    expect(reasonOf(() => p.validatePaymentCode({ code: forged }))).toBe("forged");
    expect(reasonOf(() => p.validatePaymentCode({ code: code.code.slice(0, 40) }))).toBe("truncated");
    expect(reasonOf(() => p.validatePaymentCode({ code: "HELLO WORLD" }))).toBe("not-ours");
    expect(reasonOf(() => p.validatePaymentCode({ code: "HELLO WORLD!" }))).toBe("not-ours");
    expect(reasonOf(() => p.validatePaymentCode({ code: "https://example.com" }))).toBe("not-ours");
    expect(reasonOf(() => p.validatePaymentCode({ code: paymentCodeText(signPaymentCode({ ...parsed, merchantId: 99 }, new Uint8Array(32))) }))).toBe("unknown-merchant");
    expect(reasonOf(() => p.validatePaymentCode({ code: 42 }))).toBe("bad-request");
    clock += 30_000;
    expect(reasonOf(() => p.validatePaymentCode({ code: code.code }))).toBe("expired");
    expect(reasonOf(() => p.createOrder({ code: code.code }))).toBe("expired");
    expect(refusals(p, "payment_code")).toEqual({ expired: 1 });
  });

  it("merchants and codes: duplicate merchant, unknown merchant, bad amounts and currencies", async () => {
    const p = await open();
    p.registerMerchant({ name: "M", merchantId: 42 });
    expect(reasonOf(() => p.registerMerchant({ name: "N", merchantId: 42 }))).toBe("merchant-exists");
    expect(reasonOf(() => p.registerMerchant({ name: "" }))).toBe("bad-request");
    expect(reasonOf(() => p.issuePaymentCode({ merchantId: 7, amount: 100, currency: "EUR" }))).toBe("unknown-merchant");
    expect(reasonOf(() => p.issuePaymentCode({ merchantId: 42, amount: 12.5, currency: "EUR" }))).toBe("bad-request");
    expect(reasonOf(() => p.issuePaymentCode({ merchantId: 42, amount: 100, currency: "XXY" }))).toBe("bad-request");
    expect(reasonOf(() => p.issuePaymentCode({ merchantId: 42, amount: 100, currency: "EUR", ttlSeconds: 0 }))).toBe("bad-request");
    p.issuePaymentCode({ merchantId: 42, amount: 100, currency: "EUR", orderRef: "0011223344556677" });
    expect(reasonOf(() => p.issuePaymentCode({ merchantId: 42, amount: 100, currency: "EUR", orderRef: "0011223344556677" }))).toBe("order-ref-used");
  });

  it("authorizations: altered amount/payee/order, wrong carrier, unknown order or carrier, malformed fields", async () => {
    const p = await open();
    const { carrier, order } = setupOrder(p);
    const other = p.issueCarrier();
    const good = carrierAuthorization(p, carrier.carrierId, order, 1);
    // Host changes the amount in transit: the carrier signed 12.34, the platform holds 12.34, so sign a different amount.
    expect(reasonOf(() => p.authorize(carrierAuthorization(p, carrier.carrierId, { ...order, amount: 1 }, 1)))).toBe("bad-cryptogram");
    expect(reasonOf(() => p.authorize(carrierAuthorization(p, carrier.carrierId, { ...order, merchantId: 2 }, 1)))).toBe("bad-cryptogram");
    expect(reasonOf(() => p.authorize({ ...good, carrierId: other.carrierId }))).toBe("pin-not-verified"); // no PIN of that carrier verified for this order
    expect(reasonOf(() => p.authorize({ ...good, atc: 2 }))).toBe("bad-cryptogram");
    expect(reasonOf(() => p.authorize({ ...good, cryptogram: "00".repeat(16) }))).toBe("bad-cryptogram");
    expect(reasonOf(() => p.authorize({ ...good, orderId: "ab".repeat(12) }))).toBe("unknown-order");
    expect(reasonOf(() => p.authorize({ ...good, carrierId: "ab".repeat(8) }))).toBe("unknown-carrier");
    expect(reasonOf(() => p.authorize({ ...good, atc: 0 }))).toBe("bad-request");
    expect(reasonOf(() => p.authorize({ ...good, cryptogram: "zz" }))).toBe("bad-request");
    expect(refusals(p, "order")).toEqual({ "bad-cryptogram": 4, "pin-not-verified": 1 });
    expect(settlementCount(p)).toBe(0);
    expect(p.authorize(good).atc).toBe(1); // nothing above consumed the counter or the order
  });
});

describe("order expiry", () => {
  it("an open order can be authorized until its code's expiry plus the grace period, not after", async () => {
    let clock = 1_800_000_000_000;
    const p = await open({ now: () => clock });
    const merchant = p.registerMerchant({ name: "M" });
    const carrier = p.issueCarrier();
    const orderFor = () => p.createOrder({ code: p.issuePaymentCode({ merchantId: merchant.merchantId, amount: 10, currency: "EUR", ttlSeconds: 60 }).code });
    const late = orderFor();
    const inGrace = orderFor();
    clock += (60 + 119) * 1000;
    expect(p.authorize(carrierAuthorization(p, carrier.carrierId, inGrace, 1)).orderId).toBe(inGrace.orderId);
    clock += 1000;
    expect(reasonOf(() => p.authorize(carrierAuthorization(p, carrier.carrierId, late, 2)))).toBe("order-expired");
    expect(p.getOrder(late.orderId).state).toBe("open");
  });
});

describe("exactly-once settlement", () => {
  it("a duplicated authorization is rejected as replayed; a retry with its idempotency key gets the same settlement", async () => {
    const p = await open();
    const { carrier, order } = setupOrder(p);
    const auth = carrierAuthorization(p, carrier.carrierId, order, 1);
    const first = p.authorize(auth, "key-1");
    expect(p.authorize(auth, "key-1")).toEqual(first);
    expect(reasonOf(() => p.authorize(auth))).toBe("replayed");
    expect(reasonOf(() => p.authorize(auth, "key-2"))).toBe("replayed");
    expect(reasonOf(() => p.authorize({ ...auth, atc: 2 }, "key-1"))).toBe("idempotency-key-reused");
    expect(settlementCount(p)).toBe(1);
  });

  it("a second authorization of the same order (new ATC) and a used ATC on a new order are refused; a lower unused ATC is not", async () => {
    const p = await open();
    const { carrier, order, merchant } = setupOrder(p);
    p.authorize(carrierAuthorization(p, carrier.carrierId, order, 5));
    expect(reasonOf(() => p.authorize(carrierAuthorization(p, carrier.carrierId, order, 6)))).toBe("order-already-authorized");
    const code2 = p.issuePaymentCode({ merchantId: merchant.merchantId, amount: 99, currency: "EUR" });
    const order2 = p.createOrder({ code: code2.code });
    expect(reasonOf(() => p.authorize(carrierAuthorization(p, carrier.carrierId, order2, 5)))).toBe("atc-replayed");
    expect(p.authorize(carrierAuthorization(p, carrier.carrierId, order2, 7)).atc).toBe(7);
    // The carrier answers a repeated order with its original ATC: the host lost ATC 6's reply for
    // order3, paid order2 with ATC 7 meanwhile, then repeated order3 (PROTOCOL.md §7.5). It settles.
    const order3 = p.createOrder({ code: p.issuePaymentCode({ merchantId: merchant.merchantId, amount: 42, currency: "EUR" }).code });
    expect(reasonOf(() => p.authorize(carrierAuthorization(p, carrier.carrierId, order3, 7)))).toBe("atc-replayed");
    expect(p.authorize(carrierAuthorization(p, carrier.carrierId, order3, 6)).atc).toBe(6);
    expect(p.getCarrier(carrier.carrierId).lastAtc).toBe(7);
    expect(settlementCount(p)).toBe(3);
  });

  it("a crash between verify and settle: the restarted platform settles it once, and the retry gets that settlement", async () => {
    const file = fileLedger();
    const crashing = await Platform.open({ pin: TEST_PIN_OPTIONS, dbFile: file, faults: { afterVerify: () => { throw new Error("power cut"); } } });
    const { carrier, order } = setupOrder(crashing);
    const auth = carrierAuthorization(crashing, carrier.carrierId, order, 1);
    expect(() => crashing.authorize(auth, "retry-key")).toThrow("power cut");
    crashing.crash();

    const restarted = await open({ dbFile: file });
    expect(settlementCount(restarted)).toBe(1); // recovered at open
    const retry = restarted.authorize(auth, "retry-key");
    expect(retry).toMatchObject({ orderId: order.orderId, atc: 1, amount: 1234 });
    expect(restarted.authorize(auth, "retry-key")).toEqual(retry);
    expect(reasonOf(() => restarted.authorize(auth, "attacker-key"))).toBe("replayed");
    expect(settlementCount(restarted)).toBe(1);
    expect(restarted.auditTrail({ entity: "order", entityId: order.orderId }).map((r) => r.action)).toEqual(["created", "pin-verdict", "settled"]);
    expect(refusals(restarted, "order")).toEqual({ replayed: 1 });
    expect((restarted.auditTrail({ entity: "order", entityId: order.orderId })[2]!.detail as { how: string }).how).toBe("recovered");
  });

  it("the verified-but-unsettled authorization is durable, and the restarted platform settles it without verifying again", async () => {
    const file = fileLedger();
    const crashing = await Platform.open({ pin: TEST_PIN_OPTIONS, dbFile: file, faults: { afterVerify: () => { throw new Error("power cut"); } } });
    const { carrier, order } = setupOrder(crashing);
    const auth = carrierAuthorization(crashing, carrier.carrierId, order, 1);
    expect(() => crashing.authorize(auth)).toThrow("power cut");
    expect(settlementCount(crashing)).toBe(0);
    crashing.crash();
    // Open the file as a bare ledger first to prove the verified row is durable and unsettled.
    const { Ledger } = await import("../../src/platform/ledger.ts");
    const raw = await Ledger.open(file);
    expect(raw.all("SELECT state FROM authorizations")).toEqual([{ state: "verified" }]);
    raw.close();
    const restarted = await open({ dbFile: file, faults: { afterVerify: () => { throw new Error("must not verify again"); } } });
    expect(restarted.getOrder(order.orderId).state).toBe("settled");
    expect(reasonOf(() => restarted.authorize(auth))).toBe("replayed");
    expect(settlementCount(restarted)).toBe(1);
  });

  it("a failure between verify and settle in a live platform: the retry resumes the verified authorization and settles once", async () => {
    let failures = 1;
    const p = await open({ faults: { afterVerify: () => { if (failures-- > 0) throw new Error("settle step failed"); } } });
    const { carrier, order } = setupOrder(p);
    const auth = carrierAuthorization(p, carrier.carrierId, order, 3);
    expect(() => p.authorize(auth, "k")).toThrow("settle step failed");
    expect(p.getOrder(order.orderId).state).toBe("open");
    const settled = p.authorize(auth, "k");
    expect(p.authorize(auth, "k")).toEqual(settled);
    expect(settlementCount(p)).toBe(1);
    expect((p.auditTrail({ entity: "order", entityId: order.orderId }).find((r) => r.action === "settled")!.detail as { how: string }).how).toBe("resumed");
  });

  it("the ledger survives reopen: carriers, merchants, codes, orders and settlements", async () => {
    const file = fileLedger();
    const a = await Platform.open({ dbFile: file });
    const { carrier, order, code } = setupOrder(a);
    const keys = a.carrierKeys(carrier.carrierId);
    a.close();
    const b = await open({ dbFile: file });
    expect(b.carrierKeys(carrier.carrierId)).toEqual(keys);
    expect(b.validatePaymentCode({ code: code.code }).amount).toBe(1234);
    expect(b.authorize(carrierAuthorization(b, carrier.carrierId, order, 1)).orderId).toBe(order.orderId);
    b.close();
    const c = await open({ dbFile: file });
    expect(c.getOrder(order.orderId).state).toBe("settled");
    expect(c.health()).toEqual({ ok: true, schemaVersion: 6, keyProtection: "dev-plaintext" });
  });
});

describe("secrets at rest", () => {
  it("with a platform key, master and QR keys are sealed; the wrong key or no key cannot open them", async () => {
    const file = fileLedger();
    const platformKey = new Uint8Array(32).fill(7);
    const a = await Platform.open({ dbFile: file, platformKey });
    const { carrier, code } = setupOrder(a);
    const keys = a.carrierKeys(carrier.carrierId);
    expect(a.ledger.get("SELECT key_protection FROM issuers")!.key_protection).toBe("aes-256-gcm");
    expect((a.ledger.get("SELECT master_key FROM issuers")!.master_key as Uint8Array).length).toBe(12 + 32 + 16);
    a.close();
    const wrong = await open({ dbFile: file, platformKey: new Uint8Array(32).fill(8) });
    expect(() => wrong.carrierKeys(carrier.carrierId)).toThrow(/does not open with this platform key/);
    wrong.close();
    const none = await open({ dbFile: file });
    expect(() => none.validatePaymentCode({ code: code.code })).toThrow(/set KEYCARRIER_PLATFORM_KEY/);
    none.close();
    const right = await open({ dbFile: file, platformKey });
    expect(right.carrierKeys(carrier.carrierId)).toEqual(keys);
  });

  it("PlatformError carries an HTTP status and a reason", () => {
    const e = new PlatformError(409, "replayed", "x");
    expect([e.httpStatus, e.reason, e.name]).toEqual([409, "replayed", "PlatformError"]);
  });
});
