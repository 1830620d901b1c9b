// The PIN verdict as the firmware builds and checks it (security/verdict.ts, PAY's judge in
// applets/qr-payment.ts) against firmware/vectors/online-pin.json (made with node:crypto alone).
import { describe, expect, it } from "vitest";
import { readFileSync } from "node:fs";
import { verdictMessage, VERDICT_KEY_LABEL, VERDICT_MAC_BYTES } from "../../src/security/verdict.ts";
import { hmacPads, hmacSha256 } from "../../src/crypto/primitives.ts";
import { createCryptogramSigner } from "../../src/channel/cryptogram.ts";
import { nodePrimitives } from "../channel/node-primitives.ts";

type VerdictCase = { case: string; cryptogramKey: string; verdictKey: string; carrierId: string; sessionNonce: string; requestCounter: number; orderId: string; merchantId: string; amount: number; currency: string; verdict: number; triesLeft: number; merchantName?: string; message: string; mac: string };
const vectors = JSON.parse(readFileSync(new URL("../../vectors/online-pin.json", import.meta.url), "utf8")) as { verdict: VerdictCase[]; namedVerdict: VerdictCase[] };
const bin = (h: string) => Buffer.from(h, "hex").toString("latin1");
const u32 = (n: number) => { const b = Buffer.alloc(4); b.writeUInt32BE(n); return b.toString("latin1"); };

describe("PIN verdict (firmware side) against online-pin.json", () => {
  it.each(vectors.verdict.concat(vectors.namedVerdict).map((v) => [v.case, v]))("%s", (_, v) => {
    // format 2 (the merchant's name, a carrier with a screen) where the vector has one
    const message = verdictMessage({
      carrierId: bin(v.carrierId), binding: bin(v.sessionNonce) + u32(v.requestCounter), orderId: bin(v.orderId), merchantId: bin(v.merchantId),
      amount: v.amount, currency: v.currency, verdict: v.verdict, triesLeft: v.triesLeft,
    }, v.merchantName === undefined ? undefined : bin(v.merchantName));
    expect(Buffer.from(message, "latin1").toString("hex")).toBe(v.message);
    const prims = nodePrimitives();
    // the verdict key as PAY derives it: HMAC(K_ac, label) through the cryptogram signer's pads
    const verdictKey = createCryptogramSigner(prims, bin(v.cryptogramKey)).derive(VERDICT_KEY_LABEL);
    expect(Buffer.from(verdictKey, "latin1").toString("hex")).toBe(v.verdictKey);
    const mac = hmacSha256(prims, hmacPads(verdictKey), message).substr(0, VERDICT_MAC_BYTES);
    expect(Buffer.from(mac, "latin1").toString("hex")).toBe(v.mac);
  });
});

describe("formats 1 and 2 never verify as each other", () => {
  it("the same verdict with and without a name: different messages (format byte 1 vs 2, the name at the end), different MACs", () => {
    const v = vectors.namedVerdict[0]!;
    const f = {
      carrierId: bin(v.carrierId), binding: bin(v.sessionNonce) + u32(v.requestCounter), orderId: bin(v.orderId), merchantId: bin(v.merchantId),
      amount: v.amount, currency: v.currency, verdict: v.verdict, triesLeft: v.triesLeft,
    };
    const one = verdictMessage(f);
    const two = verdictMessage(f, bin(v.merchantName!));
    expect(one.charCodeAt(4)).toBe(1);
    expect(two.charCodeAt(4)).toBe(2);
    expect(two.substr(5, one.length - 5)).toBe(one.substr(5));
    expect(two.substr(one.length)).toBe(String.fromCharCode(bin(v.merchantName!).length) + bin(v.merchantName!));
    // an empty name is still format 2 (the carrier never accepts one: PAY field 0 is 1-42 bytes)
    expect(verdictMessage(f, "").charCodeAt(4)).toBe(2);
  });
});
