// The PIN verdict as the firmware builds and checks it (security/verdict.ts, PAY's judge in
// applets/qr-payment.ts) against firmware/vectors/online-pin.json (made with node:crypto alone).
import { describe, expect, it } from "vitest";
import { readFileSync } from "node:fs";
import { verdictMessage, VERDICT_KEY_LABEL, VERDICT_MAC_BYTES } from "../../src/security/verdict.ts";
import { hmacPads, hmacSha256 } from "../../src/crypto/primitives.ts";
import { createCryptogramSigner } from "../../src/channel/cryptogram.ts";
import { nodePrimitives } from "../channel/node-primitives.ts";

const vectors = JSON.parse(readFileSync(new URL("../../vectors/online-pin.json", import.meta.url), "utf8")) as {
  verdict: { case: string; cryptogramKey: string; verdictKey: string; carrierId: string; sessionNonce: string; requestCounter: number; orderId: string; merchantId: string; amount: number; currency: string; verdict: number; triesLeft: number; message: string; mac: string }[];
};
const bin = (h: string) => Buffer.from(h, "hex").toString("latin1");
const u32 = (n: number) => { const b = Buffer.alloc(4); b.writeUInt32BE(n); return b.toString("latin1"); };

describe("PIN verdict (firmware side) against online-pin.json", () => {
  it.each(vectors.verdict.map((v) => [v.case, v]))("%s", (_, v) => {
    const message = verdictMessage({
      carrierId: bin(v.carrierId), binding: bin(v.sessionNonce) + u32(v.requestCounter), orderId: bin(v.orderId), merchantId: bin(v.merchantId),
      amount: v.amount, currency: v.currency, verdict: v.verdict, triesLeft: v.triesLeft,
    });
    expect(Buffer.from(message, "latin1").toString("hex")).toBe(v.message);
    const prims = nodePrimitives();
    // the verdict key as PAY derives it: HMAC(K_ac, label) through the cryptogram signer's pads
    const verdictKey = createCryptogramSigner(prims, bin(v.cryptogramKey)).derive(VERDICT_KEY_LABEL);
    expect(Buffer.from(verdictKey, "latin1").toString("hex")).toBe(v.verdictKey);
    const mac = hmacSha256(prims, hmacPads(verdictKey), message).substr(0, VERDICT_MAC_BYTES);
    expect(Buffer.from(mac, "latin1").toString("hex")).toBe(v.mac);
  });
});
