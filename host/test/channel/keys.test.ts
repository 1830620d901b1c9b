// Key diversification and the authorization cryptogram against firmware/vectors/channel.json
// (generated with node:crypto; HMAC-SHA256 checked against RFC 4231 there and below).
import { describe, expect, it } from "vitest";
import { readFileSync } from "node:fs";
import {
  authorizationMessage, computeAuthorizationCryptogram, constantTimeEqual, diversifyCarrierKeys, hmacSha256,
  verifyAuthorizationCryptogram, type AuthorizationFields,
} from "../../src/channel/keys.ts";

const vectors = JSON.parse(readFileSync(new URL("../../../firmware/vectors/channel.json", import.meta.url), "utf8"));
const unhex = (h: string): Uint8Array => Uint8Array.from(Buffer.from(h, "hex"));
const hex = (b: Uint8Array): string => Buffer.from(b).toString("hex");

function fieldsOf(v: { carrierId: string; orderId: string; merchantId: string; amount: number; currency: string; atc: number }): AuthorizationFields {
  return { carrierId: unhex(v.carrierId), orderId: unhex(v.orderId), merchantId: unhex(v.merchantId), amount: v.amount, currency: v.currency, atc: v.atc };
}

describe("host channel keys", () => {
  it("HMAC-SHA256 matches RFC 4231 test cases 1, 2 and 5", () => {
    for (const t of vectors.primitives.hmacSha256) {
      expect(hex(hmacSha256(unhex(t.key), unhex(t.data))).slice(0, t.mac.length)).toBe(t.mac);
    }
  });

  it("diversifies the channel and cryptogram keys as the vectors say, distinct per carrier and per purpose", () => {
    const d = vectors.diversification;
    const keys = diversifyCarrierKeys(unhex(d.issuerMasterKey), unhex(d.carrierId));
    expect(hex(keys.channelKey)).toBe(d.channelKey);
    expect(hex(keys.cryptogramKey)).toBe(d.cryptogramKey);
    expect(hex(keys.channelKey)).not.toBe(hex(keys.cryptogramKey));
    const other = unhex(d.carrierId); other[15] ^= 1;
    expect(hex(diversifyCarrierKeys(unhex(d.issuerMasterKey), other).channelKey)).not.toBe(d.channelKey);
  });

  it("refuses bad key material and ids with a reason", () => {
    expect(() => diversifyCarrierKeys(new Uint8Array(16), new Uint8Array(16))).toThrow(/issuerMasterKey must be 32 bytes/);
    expect(() => diversifyCarrierKeys(new Uint8Array(32), new Uint8Array(3))).toThrow(/carrierId must be 4-32 bytes/);
  });

  it("builds the cryptogram message and cryptogram byte for byte (incl. amount 2^53-1, ATC 2^32-1)", () => {
    for (const c of vectors.cryptograms) {
      const f = fieldsOf(c.fields);
      expect(hex(authorizationMessage(f))).toBe(c.message);
      expect(hex(computeAuthorizationCryptogram(unhex(c.cryptogramKey), f))).toBe(c.cryptogram);
    }
  });

  it("verifies a good cryptogram and rejects altered fields, replayed ATC and a reused order", () => {
    const c = vectors.cryptograms[0];
    const key = unhex(c.cryptogramKey);
    const f = fieldsOf(c.fields);
    const mac = unhex(c.cryptogram);
    const fresh = { atcUsed: false, orderAlreadyAuthorized: false };
    expect(verifyAuthorizationCryptogram(key, f, mac, fresh)).toEqual({ ok: true });
    for (const altered of [{ amount: f.amount + 1 }, { currency: "USD" }, { merchantId: unhex("4d45524348414e542d3433") }, { orderId: unhex("4f524445522d30303032") }, { atc: 8 }]) {
      expect(verifyAuthorizationCryptogram(key, { ...f, ...altered }, mac, fresh)).toMatchObject({ ok: false, reason: "bad-cryptogram" });
    }
    const flipped = mac.slice(); flipped[0] ^= 0x80;
    expect(verifyAuthorizationCryptogram(key, f, flipped, fresh)).toMatchObject({ ok: false, reason: "bad-cryptogram" });
    expect(verifyAuthorizationCryptogram(key, f, mac, { atcUsed: true, orderAlreadyAuthorized: false })).toMatchObject({ ok: false, reason: "atc-replayed" });
    expect(verifyAuthorizationCryptogram(key, f, mac, { atcUsed: false, orderAlreadyAuthorized: true })).toMatchObject({ ok: false, reason: "order-already-authorized" });
  });

  it("rejects malformed authorization fields", () => {
    const f = fieldsOf(vectors.cryptograms[0].fields);
    expect(() => authorizationMessage({ ...f, currency: "eur" })).toThrow(/ISO 4217/);
    expect(() => authorizationMessage({ ...f, amount: 1.5 })).toThrow(/amount/);
    expect(() => authorizationMessage({ ...f, atc: 0 })).toThrow(/atc/);
    expect(() => authorizationMessage({ ...f, orderId: new Uint8Array(65) })).toThrow(/orderId must be 1-64 bytes/);
  });

  it("constantTimeEqual compares whole arrays", () => {
    expect(constantTimeEqual(unhex("0102"), unhex("0102"))).toBe(true);
    expect(constantTimeEqual(unhex("0102"), unhex("0103"))).toBe(false);
    expect(constantTimeEqual(unhex("0102"), unhex("01"))).toBe(false);
  });
});
