import { describe, it, expect, beforeAll, afterAll } from "vitest";
import { request } from "node:http";
import { startPlatformServer, type RunningPlatform } from "../../src/platform/http.ts";
import { PlatformClient, PlatformRequestError } from "../../src/platform/client.ts";
import { carrierAuthorization, tempDir, TEST_PIN, TEST_PIN_OPTIONS } from "./helpers.ts";
import { encryptPinBlock, PinPurpose, Verdict } from "../../src/platform/online-pin.ts";

let running: RunningPlatform;
let client: PlatformClient;
let cleanup: () => void;
beforeAll(async () => {
  const t = tempDir();
  cleanup = t.cleanup;
  running = await startPlatformServer({ dbFile: t.file, port: 0, pin: TEST_PIN_OPTIONS });
  client = new PlatformClient(running.url, { apiKey: running.platform.createdAdminKey });
});
/** The merchant's own client (its key mints its codes). */
const as = (apiKey: string | undefined) => new PlatformClient(running.url, { apiKey });
afterAll(async () => {
  await running.close();
  cleanup();
});

async function reason(p: Promise<unknown>): Promise<[number, string]> {
  try {
    await p;
  } catch (e) {
    if (e instanceof PlatformRequestError) return [e.httpStatus, e.reason];
    throw e;
  }
  return [200, "accepted"];
}

function raw(method: string, path: string, body: string | undefined, headers: Record<string, string> = {}): Promise<{ status: number; json: { error?: { reason: string } } }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: "127.0.0.1", port: running.port, method, path, headers }, (res) => {
      let text = "";
      res.on("data", (c) => (text += c));
      res.on("end", () => resolve({ status: res.statusCode!, json: JSON.parse(text) }));
    });
    req.on("error", reject);
    req.end(body);
  });
}

describe("platform over HTTP (127.0.0.1)", () => {
  it("listens on loopback only", () => {
    expect(running.server.address()).toMatchObject({ address: "127.0.0.1" });
  });

  it("every endpoint's happy path, with status codes", async () => {
    expect(await client.health()).toEqual({ ok: true, schemaVersion: 6, keyProtection: "dev-plaintext" });
    const merchant = await client.registerMerchant({ name: "Kiosk" });
    const carrier = await client.issueCarrier();
    const code = await as(merchant.apiKey).issuePaymentCode(merchant.merchantId, { amount: 250, currency: "EUR" });
    expect((await client.validatePaymentCode(code.code)).display).toBe("2.50 EUR");
    const order = await client.createOrder(code.code);
    expect(order.state).toBe("open");
    expect((await client.getOrder(order.orderId)).orderId).toBe(order.orderId);
    const auth = carrierAuthorization(running.platform, carrier.carrierId, order, 1);
    const settlement = await client.authorize(auth);
    expect(settlement).toMatchObject({ orderId: order.orderId, amount: 250, currency: "EUR", atc: 1 });
    expect(await client.request("GET", `/v1/settlements/${settlement.settlementId}`)).toEqual(settlement);
    expect(await client.request("GET", `/v1/carriers/${carrier.carrierId}`)).toMatchObject({ lastAtc: 1 });
    const trail = await client.audit();
    expect(trail.rows.filter((r) => r.entity !== "platform").at(-1)).toMatchObject({ entity: "order", entityId: order.orderId, action: "settled" });
    expect((await client.audit(trail.rows.at(-2)!.seq)).rows).toHaveLength(1);
  });

  it("status codes for refusals: 201 new order, 200 same order again, 404, 405, 409, 415, 421, 422", async () => {
    const merchant = await client.registerMerchant({ name: "Codes" });
    const code = await as(merchant.apiKey).issuePaymentCode(merchant.merchantId, { amount: 100, currency: "JPY" });
    const first = await raw("POST", "/v1/orders", JSON.stringify({ code: code.code }), { "content-type": "application/json" });
    expect(first.status).toBe(201);
    expect((await raw("POST", "/v1/orders", JSON.stringify({ code: code.code }), { "content-type": "application/json" })).status).toBe(200);
    expect(await reason(client.getOrder("nope"))).toEqual([404, "unknown-order"]);
    expect(await reason(client.validatePaymentCode(code.code.slice(0, 30)))).toEqual([422, "truncated"]);
    expect(await reason(client.registerMerchant({ name: "Codes", merchantId: merchant.merchantId }))).toEqual([409, "merchant-exists"]);
    expect((await raw("DELETE", "/v1/orders", undefined)).json.error?.reason).toBe("method-not-allowed");
    expect((await raw("GET", "/v2/x", undefined)).status).toBe(404);
    const admin = { "content-type": "application/json", authorization: `Bearer ${running.platform.createdAdminKey}` };
    expect((await raw("POST", "/v1/merchants", "name=x", { "content-type": "text/plain" })).status).toBe(415);
    expect((await raw("POST", "/v1/merchants", "{", admin)).json.error?.reason).toBe("bad-json");
    expect((await raw("POST", "/v1/merchants", "[]", admin)).json.error?.reason).toBe("bad-request");
    expect((await raw("POST", "/v1/merchants", "", admin)).json.error?.reason).toBe("bad-json");
    expect((await raw("GET", "/v1/health", undefined, { host: "evil.example:80" })).status).toBe(421);
    expect((await raw("POST", "/v1/merchants", JSON.stringify({ name: "x".repeat(70_000) }), admin)).status).toBe(413);
  });

  it("concurrent duplicate authorizations settle exactly once; the rest are refused as replays or get the stored answer", async () => {
    const merchant = await client.registerMerchant({ name: "Rush" });
    const carrier = await client.issueCarrier();
    const code = await as(merchant.apiKey).issuePaymentCode(merchant.merchantId, { amount: 999, currency: "EUR" });
    const order = await client.createOrder(code.code);
    const auth = carrierAuthorization(running.platform, carrier.carrierId, order, 1);
    const outcomes = await Promise.allSettled([
      ...Array.from({ length: 8 }, () => client.authorize(auth, "same-key")),
      ...Array.from({ length: 8 }, () => client.authorize(auth)),
    ]);
    const settled = outcomes.filter((o) => o.status === "fulfilled").map((o) => (o as PromiseFulfilledResult<{ settlementId: string }>).value.settlementId);
    const refused = outcomes.filter((o) => o.status === "rejected").map((o) => ((o as PromiseRejectedResult).reason as PlatformRequestError).reason);
    expect(new Set(settled).size).toBe(1);
    expect(settled.length).toBeGreaterThanOrEqual(8); // every same-key request sees the one settlement
    expect(refused.every((r) => r === "replayed")).toBe(true);
    expect(settled.length + refused.length).toBe(16);
    expect(running.platform.ledger.get("SELECT count(*) AS n FROM settlements WHERE order_id = ?", [order.orderId])!.n).toBe(1);
  });

  it("the online PIN routes: enrolment is the issuer's (admin key); challenge, verification and change are payer routes (no key)", async () => {
    const merchant = await client.registerMerchant({ name: "Pin Shop" });
    const carrier = await client.issueCarrier();
    const payer = as(undefined);
    const block = (pin: string, purpose: PinPurpose, orderId: string, c: { challenge: string; publicKey: string }) => Buffer.from(encryptPinBlock(pin, Buffer.from(c.publicKey, "hex"), {
      purpose, carrierId: Buffer.from(carrier.carrierId, "hex"), orderId: Buffer.from(orderId, "hex"), challenge: Buffer.from(c.challenge, "hex"),
    })).toString("hex");
    const enrol = await payer.pinChallenge({ carrierId: carrier.carrierId, purpose: "enrol" });
    const enrolment = { carrierId: carrier.carrierId, challenge: enrol.challenge, pinBlock: block(TEST_PIN, PinPurpose.ENROL, "", enrol) };
    expect(await reason(payer.enrolPin(enrolment))).toEqual([401, "unauthenticated"]);
    expect(await reason(as(merchant.apiKey).enrolPin(enrolment))).toEqual([403, "forbidden"]);
    expect(await client.enrolPin(enrolment)).toEqual({ triesLeft: 3 });
    const code = await as(merchant.apiKey).issuePaymentCode(merchant.merchantId, { amount: 321, currency: "EUR" });
    const order = await payer.createOrder(code.code);
    const c = await payer.pinChallenge({ carrierId: carrier.carrierId, orderId: order.orderId, purpose: "pay" });
    const v = await payer.verifyOrderPin({ orderId: order.orderId, carrierId: carrier.carrierId, challenge: c.challenge, pinBlock: block(TEST_PIN, PinPurpose.PAY, order.orderId, c), sessionNonce: "00".repeat(16), requestCounter: 0 });
    expect(v).toMatchObject({ verdict: Verdict.OK, triesLeft: 3 });
    const ch = await payer.pinChallenge({ carrierId: carrier.carrierId, purpose: "change" });
    expect(await payer.changePin({ carrierId: carrier.carrierId, challenge: ch.challenge, oldPinBlock: block(TEST_PIN, PinPurpose.CHANGE_OLD, "", ch), newPinBlock: block("135790", PinPurpose.CHANGE_NEW, "", ch) }))
      .toEqual({ verdict: Verdict.OK, triesLeft: 3 });
  });

  it("concurrent order creation from one code gives one order", async () => {
    const merchant = await client.registerMerchant({ name: "Queue" });
    const code = await as(merchant.apiKey).issuePaymentCode(merchant.merchantId, { amount: 5, currency: "EUR" });
    const orders = await Promise.all(Array.from({ length: 6 }, () => client.createOrder(code.code)));
    expect(new Set(orders.map((o) => o.orderId)).size).toBe(1);
  });

  it("an unreachable platform is reported with what to do", async () => {
    const dead = new PlatformClient("http://127.0.0.1:1", { retries: 0 });
    expect(await reason(dead.health())).toEqual([0, "unreachable"]);
    expect(() => new PlatformClient("ftp://x")).toThrow(/http:\/\//);
  });
});
