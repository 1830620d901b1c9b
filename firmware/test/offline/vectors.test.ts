// firmware/vectors/offline.json (PROTOCOL.md §11) read by the firmware: the signed message the
// carrier builds with its own codec, and the signature its signer makes for the vector's key, leaf
// and randomizer, byte for byte; the license and the signature verify with the reference verifier.
import { describe, expect, it } from "vitest";
import { readFileSync } from "node:fs";
import { offlineSignedMessage } from "../../src/offline/authorize.ts";
import { hssSign1, lmsParams, otsParams } from "../../src/offline/lms.ts";
import { decode } from "../../src/codec.ts";
import { bin, hssVerify, latin1, nodeLmsNatives } from "./lms-reference.ts";

const v = JSON.parse(readFileSync(new URL("../../vectors/offline.json", import.meta.url), "utf8"));
const h = (s: string) => Buffer.from(s, "hex");

describe("offline vectors (firmware/vectors/offline.json)", () => {
  it("the carrier's codec builds the vector's signed message from the request", () => {
    const r = v.offlinePay.request;
    const msg = offlineSignedMessage(latin1(h(v.carrier.id)), { amount: r.amount, currency: r.currency, terminalId: latin1(h(r.terminalId)), terminalNonce: latin1(h(r.terminalNonce)), date: r.date }, v.offlinePay.atc);
    expect(bin(msg).toString("hex")).toBe(v.offlinePay.signedMessage);
    // and the request body is canonical CBOR the firmware decoder accepts, with the fields of §11.3
    const d = decode(latin1(h(v.offlinePay.requestBody)));
    expect(d.ok).toBe(true);
  });

  it("the firmware signer reproduces the vector's signature (H10/W4: the chosen set) byte for byte, and it verifies", () => {
    const p = v.offlinePay;
    const sig = h(p.signature);
    expect(sig.length).toBe(p.signatureBytes);
    expect(sig.readUInt32BE(4)).toBe(p.leaf);
    const path = latin1(sig.subarray(sig.length - 10 * 32));
    const mine = hssSign1(nodeLmsNatives, otsParams(v.carrier.otsType), lmsParams(v.carrier.lmsType), latin1(h(v.carrier.I)), p.leaf, latin1(h(v.carrier.SEED)), latin1(h(p.C)), h(p.signedMessage), path);
    expect(bin(mine).toString("hex")).toBe(p.signature);
    expect(hssVerify(h(v.carrier.publicKey), h(p.signedMessage), sig)).toBe(true);
  });

  it("the license: {1: body, 2: authority signature over \"KC-LICENSE-v1\" ‖ body}, body fields 1-8", () => {
    const lic = h(v.license);
    // a2 01 58/59 len body 02 59 len sig
    expect(lic[0]).toBe(0xa2);
    const body = h(v.licenseBody);
    expect(lic.indexOf(body)).toBeGreaterThan(0);
    const sigAt = lic.indexOf(body) + body.length + 1 + 3;
    expect(hssVerify(h(v.authority.publicKey), h(v.licenseSignedMessage), lic.subarray(sigAt))).toBe(true);
    const d = decode(latin1(body));
    expect(d.ok).toBe(true);
    const m = (d as { value: Record<number, unknown> }).value;
    expect(m[1]).toBe(1);
    expect(bin(m[2] as string).toString("hex")).toBe(v.carrier.id);
    expect(bin(m[3] as string).toString("hex")).toBe(v.carrier.publicKey);
    expect(m[4]).toEqual({ tstr: "EUR" });
    expect([m[5], m[6], m[7], m[8]]).toEqual([v.carrier.perTxLimit, v.carrier.cumulativeLimit, v.carrier.expiry, 42]);
  });
});
