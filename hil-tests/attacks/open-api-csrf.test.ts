// Attack (issue #11 item 6): the platform's HTTP API was open. Anyone on the machine (or a web page
// in its browser) registered merchants, duplicate names included, minted payment codes for any
// merchant, issued carriers, read the audit trail; an empty-body cross-origin POST passed. Now the
// admin and merchant routes need an API key (only its SHA-256 is stored), every POST must be JSON
// (which a cross-site form or text/plain post cannot be without a CORS preflight the platform never
// grants), and names are unique. Each refused request below changes nothing in the ledger.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { existsSync, readFileSync, statSync } from "node:fs";
import { createHash } from "node:crypto";
import { bearer, count, json, raw, servedPlatform, type ServedPlatform } from "./helpers.ts";

let p: ServedPlatform;
let adminKey: string;
let shopA: { merchantId: number; apiKey: string };
let shopB: { merchantId: number; apiKey: string };
let orderOfB: string;

beforeAll(async () => {
  p = await servedPlatform();
  adminKey = readFileSync(`${p.ledgerFile}.admin-key`, "utf8").trim();
  const a = await raw(p.port, "POST", "/v1/merchants", JSON.stringify({ name: "Shop A" }), bearer(adminKey));
  const b = await raw(p.port, "POST", "/v1/merchants", JSON.stringify({ name: "Shop B" }), bearer(adminKey));
  expect(a.status).toBe(201);
  shopA = a.json as unknown as typeof shopA;
  shopB = b.json as unknown as typeof shopB;
  const code = await raw(p.port, "POST", `/v1/merchants/${shopB.merchantId}/codes`, JSON.stringify({ amount: 500, currency: "EUR" }), bearer(shopB.apiKey));
  expect(code.status).toBe(201);
  const order = await raw(p.port, "POST", "/v1/orders", JSON.stringify({ code: code.json.code }), json());
  orderOfB = String(order.json.orderId);
});
afterAll(async () => {
  await p.dispose();
});

/** Ledger rows an attacker would like to add, before and after: unchanged means the attack yielded nothing. */
function snapshot() {
  return { merchants: count(p, "merchants"), carriers: count(p, "carriers"), codes: count(p, "payment_codes"), keys: count(p, "api_keys") };
}

describe("attack: the open platform API (unauthenticated, cross-site, cross-merchant)", () => {
  it("the admin key is created at first start in a 0600 file next to the ledger; the ledger holds only its SHA-256", async () => {
    expect(adminKey).toMatch(/^kc_a_[0-9a-f]{16}_[A-Za-z0-9_-]{43}$/);
    expect(statSync(`${p.ledgerFile}.admin-key`).mode & 0o777).toBe(0o600);
    p.platform.flushRefusals();
    // The SQLite ledger keeps recent commits in its WAL: make them durable, copy them into the file,
    // and search the file and whatever the WAL still holds.
    await p.platform.ledger.durable();
    p.platform.ledger.checkpoint();
    const wal = existsSync(`${p.ledgerFile}-wal`) ? readFileSync(`${p.ledgerFile}-wal`) : Buffer.alloc(0);
    const ledgerBytes = Buffer.concat([readFileSync(p.ledgerFile), wal]);
    for (const key of [adminKey, shopA.apiKey, shopB.apiKey]) {
      expect(ledgerBytes.includes(Buffer.from(key)), "a plaintext API key in the ledger file").toBe(false);
      expect(ledgerBytes.includes(Buffer.from(key.slice(22))), "a key secret in the ledger file").toBe(false);
      expect(ledgerBytes.includes(Buffer.from(createHash("sha256").update(key).digest("hex"))), "the key's hash").toBe(true);
    }
  });

  it("without a key: no merchant registered, no carrier issued, no code minted, no audit or order read", async () => {
    const before = snapshot();
    const attempts: Array<[string, string, string | undefined]> = [
      ["POST", "/v1/merchants", JSON.stringify({ name: "Evil Corp" })],
      ["POST", "/v1/carriers", "{}"],
      ["POST", `/v1/merchants/${shopA.merchantId}/codes`, JSON.stringify({ amount: 100, currency: "EUR" })],
      ["POST", `/v1/merchants/${shopA.merchantId}/keys`, "{}"],
      ["GET", "/v1/audit", undefined],
      ["GET", `/v1/orders/${orderOfB}`, undefined],
    ];
    for (const [method, path, body] of attempts) {
      for (const headers of [json() as Record<string, string>, bearer("kc_a_0000000000000000_" + "A".repeat(43)), bearer(adminKey.slice(0, -1) + (adminKey.endsWith("A") ? "B" : "A"))]) {
        const r = await raw(p.port, method, path, body, method === "GET" ? { authorization: headers.authorization ?? "" } : headers);
        expect(r.status, `${method} ${path} ${headers.authorization ?? "(no key)"}`).toBe(401);
        expect(r.json.error?.reason).toBe("unauthenticated");
        expect(JSON.stringify(r.json)).not.toContain("Evil");
      }
    }
    expect(snapshot()).toEqual(before);
  });

  it("cross-site simple requests (empty body, form, text/plain — what a page on another origin can send without a preflight) are refused before the ledger", async () => {
    const before = snapshot();
    const origin = { origin: "http://evil.example" };
    const simple: Array<[string, Record<string, string>]> = [
      ["", origin], // the empty-body POST that used to issue a carrier
      ["issuerId=dev-issuer", { ...origin, "content-type": "application/x-www-form-urlencoded" }],
      ["------x\r\nContent-Disposition: form-data; name=\"name\"\r\n\r\nEvil\r\n------x--", { ...origin, "content-type": "multipart/form-data; boundary=----x" }],
      [JSON.stringify({ name: "Evil" }), { ...origin, "content-type": "text/plain" }],
    ];
    for (const path of ["/v1/carriers", "/v1/merchants", `/v1/merchants/${shopA.merchantId}/codes`, "/v1/orders", "/v1/authorizations"]) {
      for (const [body, headers] of simple) {
        const r = await raw(p.port, "POST", path, body, headers);
        expect(r.status, `${path} ${headers["content-type"] ?? "(no type)"}`).toBe(415);
        expect(r.json.error?.reason).toBe("unsupported-media-type");
      }
    }
    // Even the admin's own key does not make a non-JSON post act (a browser would never attach it cross-site anyway).
    expect((await raw(p.port, "POST", "/v1/carriers", "", { authorization: `Bearer ${adminKey}` })).status).toBe(415);
    expect(snapshot()).toEqual(before);
  });

  it("a merchant key mints only its own codes, reads only its own orders, and cannot act as admin", async () => {
    const before = snapshot();
    const mintForB = await raw(p.port, "POST", `/v1/merchants/${shopB.merchantId}/codes`, JSON.stringify({ amount: 100, currency: "EUR" }), bearer(shopA.apiKey));
    expect([mintForB.status, mintForB.json.error?.reason]).toEqual([403, "forbidden"]);
    const readB = await raw(p.port, "GET", `/v1/orders/${orderOfB}`, undefined, { authorization: `Bearer ${shopA.apiKey}` });
    expect([readB.status, readB.json.error?.reason]).toEqual([403, "forbidden"]);
    expect(JSON.stringify(readB.json)).not.toContain("500");
    for (const [method, path, body] of [["POST", "/v1/merchants", JSON.stringify({ name: "A2" })], ["POST", "/v1/carriers", "{}"], ["GET", "/v1/audit", undefined]] as const) {
      const r = await raw(p.port, method, path, body, method === "GET" ? { authorization: `Bearer ${shopA.apiKey}` } : bearer(shopA.apiKey));
      expect([r.status, r.json.error?.reason], `${method} ${path}`).toEqual([403, "forbidden"]);
    }
    // The admin key cannot mint either (least privilege: codes come from the merchant's own key).
    expect((await raw(p.port, "POST", `/v1/merchants/${shopB.merchantId}/codes`, JSON.stringify({ amount: 100, currency: "EUR" }), bearer(adminKey))).status).toBe(403);
    expect(snapshot()).toEqual(before);
    // Control: the rightful owners can.
    expect((await raw(p.port, "GET", `/v1/orders/${orderOfB}`, undefined, { authorization: `Bearer ${shopB.apiKey}` })).status).toBe(200);
    expect((await raw(p.port, "GET", `/v1/orders/${orderOfB}`, undefined, { authorization: `Bearer ${adminKey}` })).status).toBe(200);
    expect((await raw(p.port, "POST", `/v1/merchants/${shopA.merchantId}/codes`, JSON.stringify({ amount: 100, currency: "EUR" }), bearer(shopA.apiKey))).status).toBe(201);
  });

  it("merchant names are unique ignoring case and spacing (no second \"Shop A\" to phish with)", async () => {
    const before = snapshot();
    for (const name of ["Shop A", "shop a", "SHOP  A", " Shop A "]) {
      const r = await raw(p.port, "POST", "/v1/merchants", JSON.stringify({ name }), bearer(adminKey));
      expect([r.status, r.json.error?.reason], name).toEqual([409, "merchant-name-taken"]);
    }
    expect(snapshot()).toEqual(before);
  });

  it("a name that only looks like \"Shop A\" is refused too (NFKC, case folding, accents, Cyrillic/Greek/Latin confusables)", async () => {
    const before = snapshot();
    // Cyrillic А and о, Greek Α, a combining accent, digit 0 for O (fullwidth letters: NFKC, "merchant-name-taken" above)
    for (const name of ["Shop \u0410", "Sh\u043ep A", "Shop \u0391", "Sho\u0301p A", "Sh0p-A"]) {
      const r = await raw(p.port, "POST", "/v1/merchants", JSON.stringify({ name }), bearer(adminKey));
      expect([r.status, r.json.error?.reason], name).toEqual([409, "merchant-name-confusable"]);
      expect(r.json.error?.message, name).toMatch(/looks like merchant \d+'s "Shop A"/);
    }
    expect(snapshot()).toEqual(before);
    // a genuinely different name is still welcome
    expect((await raw(p.port, "POST", "/v1/merchants", JSON.stringify({ name: "Shop C" }), bearer(adminKey))).status).toBe(201);
  });

  it("a rotated merchant key replaces the old one at once", async () => {
    const rotated = await raw(p.port, "POST", `/v1/merchants/${shopA.merchantId}/keys`, "{}", bearer(adminKey));
    expect(rotated.status).toBe(201);
    const oldKey = await raw(p.port, "POST", `/v1/merchants/${shopA.merchantId}/codes`, JSON.stringify({ amount: 100, currency: "EUR" }), bearer(shopA.apiKey));
    expect([oldKey.status, oldKey.json.error?.reason]).toEqual([401, "unauthenticated"]);
    const newKey = await raw(p.port, "POST", `/v1/merchants/${shopA.merchantId}/codes`, JSON.stringify({ amount: 100, currency: "EUR" }), bearer(String(rotated.json.apiKey)));
    expect(newKey.status).toBe(201);
  });
});
