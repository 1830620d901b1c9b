// Attack (issue #11 item 6): every refused request wrote an audit row and so rewrote the whole ledger
// file (temp → fsync → rename), for anyone, without a key: N junk requests = N full ledger writes.
// Now a refusal is counted in memory and the counts reach the audit trail as ONE aggregated row at
// the next commit, the flush interval or close. Measured with the ledger's own write statistics.
// The online PIN's keyless routes are covered too: refused PIN steps (unknown carrier or order, a
// challenge not issued for the request, a PIN block that does not open) cost no write either.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { statSync } from "node:fs";
import { computeAuthorizationCryptogram } from "../../host/src/channel/keys.ts";
import { bearer, json, raw, servedPlatform, type ServedPlatform } from "./helpers.ts";
import { enrolPin, TEST_PIN_OPTIONS, verifyOrderPin } from "../../host/test/platform/helpers.ts";

const N = 400;
let p: ServedPlatform;
let shop: { merchantId: number; apiKey: string };
let validCode: string;
let orderId: string;
let carrierId: string;
let challenge: string;

beforeAll(async () => {
  p = await servedPlatform({ pin: TEST_PIN_OPTIONS });
  const admin = p.platform.createdAdminKey!;
  shop = (await raw(p.port, "POST", "/v1/merchants", JSON.stringify({ name: "Kiosk" }), bearer(admin))).json as unknown as typeof shop;
  carrierId = String((await raw(p.port, "POST", "/v1/carriers", "{}", bearer(admin))).json.carrierId);
  validCode = String((await raw(p.port, "POST", `/v1/merchants/${shop.merchantId}/codes`, JSON.stringify({ amount: 300, currency: "EUR" }), bearer(shop.apiKey))).json.code);
  orderId = String((await raw(p.port, "POST", "/v1/orders", JSON.stringify({ code: validCode }), json())).json.orderId);
  // The cardholder's PIN, enrolled and verified online for the order: the authorizations below then
  // reach the cryptogram check (a bad cryptogram is refused as such, not as pin-not-verified).
  enrolPin(p.platform, carrierId);
  expect(verifyOrderPin(p.platform, carrierId, orderId).verdict).toBe(0);
  // One genuine challenge (issuing it is a write: single-use challenges are stored, SECURITY.md §2);
  // junk PIN blocks against it below are refused without consuming it.
  challenge = String((await raw(p.port, "POST", "/v1/pin/challenges", JSON.stringify({ carrierId, purpose: "change" }), json())).json.challenge);
});
afterAll(async () => {
  await p.dispose();
});

describe("attack: write amplification by refused requests", () => {
  it(`${N} refused requests of every kind (no key, bad key, not JSON, forged code, bad cryptogram, wrong role, junk code, refused PIN steps) cost no ledger write; their counts reach the audit as one row`, async () => {
    const stats = p.platform.ledger.stats;
    const before = { commits: stats.commits, walCommits: stats.walCommits, syncs: stats.syncs, size: statSync(p.ledgerFile).size };
    const forgedCode = validCode.slice(0, -4) + (validCode.endsWith("AAAA") ? "BBBB" : "AAAA");
    const kinds: Array<() => Promise<{ status: number }>> = [
      () => raw(p.port, "POST", "/v1/merchants", JSON.stringify({ name: "Spam" }), json()),
      () => raw(p.port, "POST", "/v1/carriers", "{}", bearer("kc_a_0123456789abcdef_" + "x".repeat(43))),
      () => raw(p.port, "POST", "/v1/carriers", "", { origin: "http://evil.example" }),
      () => raw(p.port, "POST", "/v1/orders", JSON.stringify({ code: forgedCode }), json()),
      () => raw(p.port, "POST", "/v1/authorizations", JSON.stringify({ orderId, carrierId, atc: 1, cryptogram: "00".repeat(16) }), json()),
      () => raw(p.port, "GET", "/v1/audit", undefined, { authorization: `Bearer ${shop.apiKey}` }),
      () => raw(p.port, "POST", "/v1/codes/validate", JSON.stringify({ code: "not a code" }), json()),
      () => raw(p.port, "POST", "/v1/pin/challenges", JSON.stringify({ carrierId: "ab".repeat(8), purpose: "change" }), json()),
      () => raw(p.port, "POST", "/v1/pin/verifications", JSON.stringify({ orderId, carrierId, challenge: "00".repeat(16), pinBlock: "01".repeat(65), sessionNonce: "00".repeat(16), requestCounter: 1 }), json()),
      () => raw(p.port, "POST", "/v1/pin/changes", JSON.stringify({ carrierId, challenge, oldPinBlock: "01".repeat(65), newPinBlock: "01".repeat(65) }), json()),
    ];
    let refused = 0;
    for (let i = 0; i < N; i++) {
      const r = await kinds[i % kinds.length]!();
      expect(r.status).toBeGreaterThanOrEqual(400);
      refused++;
    }
    // Scanning the same valid code again and again is not refused, and costs no write either.
    for (let i = 0; i < 50; i++) expect((await raw(p.port, "POST", "/v1/orders", JSON.stringify({ code: validCode }), json({ "idempotency-key": `scan-${i}` }))).status).toBe(200);

    expect(stats.commits - before.commits, "ledger commits caused by refused requests").toBe(0);
    await p.platform.ledger.durable(); // anything a request committed would be COMMITted and fsynced by now
    expect(stats.walCommits - before.walCommits, "SQLite COMMITs to the WAL").toBe(0);
    expect(stats.syncs - before.syncs, "WAL fsyncs").toBe(0);
    expect(p.platform.refusals.pending).toBe(refused);

    // One aggregated row, one commit, whatever N.
    p.platform.flushRefusals();
    expect(stats.commits - before.commits).toBe(1);
    const rows = p.platform.auditTrail({ entity: "platform", entityId: "refusals" });
    expect(rows).toHaveLength(1);
    const detail = rows[0]!.detail as { total: number; counts: Array<{ entity: string; reason: string; count: number; samples: string[] }> };
    expect(detail.total).toBe(N);
    expect(detail.counts.reduce((n, c) => n + c.count, 0)).toBe(N);
    expect(detail.counts.every((c) => c.samples.length <= 4)).toBe(true);
    const reasons = new Set(detail.counts.map((c) => c.reason));
    for (const r of ["unauthenticated", "unsupported-media-type", "forged", "bad-cryptogram", "forbidden", "not-ours", "unknown-carrier", "bad-challenge", "bad-pin-block"]) expect(reasons, r).toContain(r);
    console.log(`write amplification: ${N} refused requests → ${stats.commits - before.commits} ledger commit; ledger ${statSync(p.ledgerFile).size} B (was ${before.size} B)`);
  }, 60_000);

  it("memory for the counts is bounded too: distinct reasons beyond the cap count as \"other\"", () => {
    const audit = p.platform.refusals;
    for (let i = 0; i < 500; i++) audit.count("http", `made-up-reason-${i}`, `id-${i}`);
    const taken = audit.take()!;
    expect(taken.total).toBe(500);
    expect(taken.counts.length).toBeLessThanOrEqual(65);
    expect(taken.counts.find((c) => c.entity === "other")!.count).toBeGreaterThan(400);
  });

  it("control: an accepted payment still commits (and carries pending refusal counts with it, at no extra write)", async () => {
    const stats = p.platform.ledger.stats;
    await raw(p.port, "POST", "/v1/orders", JSON.stringify({ code: "junk" }), json());
    const commits = stats.commits;
    const { cryptogramKey } = p.platform.carrierKeys(carrierId);
    const order = p.platform.getOrder(orderId);
    const cryptogram = Buffer.from(computeAuthorizationCryptogram(cryptogramKey, {
      carrierId: Buffer.from(carrierId, "hex"), orderId: Buffer.from(orderId, "hex"), merchantId: Buffer.from(order.cryptogramFields.merchantId, "hex"),
      amount: order.amount, currency: order.currency, atc: 1,
    })).toString("hex");
    const settled = await raw(p.port, "POST", "/v1/authorizations", JSON.stringify({ orderId, carrierId, atc: 1, cryptogram }), json());
    expect(settled.status).toBe(201);
    expect(stats.commits - commits).toBe(2); // verify, settle: as before
    expect(p.platform.refusals.pending).toBe(0);
  });
});
