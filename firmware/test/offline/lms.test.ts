// The firmware's LMS signer against RFC 8554 Appendix F (firmware/vectors/rfc8554.json) and against
// the independent reference verifier in lms-reference.ts, for every LM-OTS typecode.
import { describe, expect, it } from "vitest";
import { readFileSync } from "node:fs";
import {
  authPathOffsets, hssSign1, lmsParams, lmsSign, lmsSignatureBytes, otsParams, LMS_SHA256_M32_H5, LMOTS_SHA256_N32_W1,
  LMOTS_SHA256_N32_W2, LMOTS_SHA256_N32_W4, LMOTS_SHA256_N32_W8,
} from "../../src/offline/lms.ts";
import { bin, hssVerify, latin1, lmsVerify, nodeLmsNatives, refKeygen } from "./lms-reference.ts";

const vectors = JSON.parse(readFileSync(new URL("../../vectors/rfc8554.json", import.meta.url), "utf8")) as {
  cases: { name: string; publicKey: string; message: string; signature: string; secondLevel?: { lmsType: number; otsType: number; I: string; SEED: string; q: number; C: string; publicKey: string } }[];
};
const hex = (s: string) => Buffer.from(s, "hex");

describe("RFC 8554 Appendix F", () => {
  for (const c of vectors.cases) {
    it(`${c.name}: the reference verifier accepts it, and refuses it altered`, () => {
      const pub = hex(c.publicKey), msg = hex(c.message), sig = hex(c.signature);
      expect(hssVerify(pub, msg, sig)).toBe(true);
      const bad = Buffer.from(msg); bad[0]! ^= 1;
      expect(hssVerify(pub, bad, sig)).toBe(false);
      const badSig = Buffer.from(sig); badSig[sig.length - 40]! ^= 0x80;
      expect(hssVerify(pub, msg, badSig)).toBe(false);
    });
  }

  it("Test Case 2, second level: the firmware signer reproduces the final LMS signature byte for byte", () => {
    const c = vectors.cases.find((v) => v.secondLevel)!;
    const k = c.secondLevel!;
    const sig = hex(c.signature);
    const expected = sig.subarray(sig.length - 1292);
    const ots = otsParams(k.otsType), lms = lmsParams(k.lmsType);
    expect(lmsSignatureBytes(ots, lms)).toBe(1292);
    // the path is the vector's own (the tree is not in the RFC): the OTS part is what the signer computes
    const pathAt = expected.length - lms.h * 32;
    const path = latin1(expected.subarray(pathAt));
    const mine = lmsSign(nodeLmsNatives, ots, lms, latin1(hex(k.I)), k.q, latin1(hex(k.SEED)), latin1(hex(k.C)), hex(c.message), path);
    expect(Buffer.from(bin(mine)).toString("hex")).toBe(expected.toString("hex"));
    expect(lmsVerify(hex(k.publicKey), hex(c.message), bin(mine))).toBe(true);
  });
});

describe("firmware signer × reference keygen and verifier (HSS, L = 1, H5)", () => {
  const I = Buffer.from("000102030405060708090a0b0c0d0e0f", "hex");
  const seed = Buffer.alloc(32, 7);
  for (const otsType of [LMOTS_SHA256_N32_W1, LMOTS_SHA256_N32_W2, LMOTS_SHA256_N32_W4, LMOTS_SHA256_N32_W8]) {
    it(`LMOTS type ${otsType}: signatures from several leaves verify, with the path read from the stored nodes`, () => {
      const tree = refKeygen(LMS_SHA256_M32_H5, otsType, I, seed);
      const hssPub = Buffer.concat([Buffer.from([0, 0, 0, 1]), tree.pub]);
      const ots = otsParams(otsType), lms = lmsParams(LMS_SHA256_M32_H5);
      const nodes = latin1(tree.nodes);
      for (const q of otsType === LMOTS_SHA256_N32_W8 ? [0, 31] : [0, 1, 17, 31]) {
        const path = authPathOffsets(lms.h, q).map((o) => nodes.substr(o, 32)).join("");
        const msg = Buffer.from(`KC-OFFLINE-v1 payment ${q}`);
        const C = latin1(Buffer.alloc(32, q + 1));
        const sig = bin(hssSign1(nodeLmsNatives, ots, lms, latin1(I), q, latin1(seed), C, msg, path));
        expect(sig.length).toBe(4 + lmsSignatureBytes(ots, lms));
        expect(hssVerify(hssPub, msg, sig)).toBe(true);
        expect(hssVerify(hssPub, Buffer.from(`KC-OFFLINE-v1 payment ${q + 1}`), sig)).toBe(false);
      }
    });
  }

  it("refuses malformed inputs with a clear error", () => {
    const ots = otsParams(LMOTS_SHA256_N32_W4), lms = lmsParams(LMS_SHA256_M32_H5);
    const ok = { I: "I".repeat(16), seed: "s".repeat(32), C: "c".repeat(32), path: "p".repeat(160) };
    expect(() => lmsSign(nodeLmsNatives, ots, lms, ok.I, 32, ok.seed, ok.C, "m", ok.path)).toThrow(/leaf 32 out of range/);
    expect(() => lmsSign(nodeLmsNatives, ots, lms, ok.I, 0, ok.seed, ok.C, "m", "short")).toThrow(/path must be 160 B/);
    expect(() => lmsSign(nodeLmsNatives, ots, lms, "short", 0, ok.seed, ok.C, "m", ok.path)).toThrow(/I must be 16 B/);
    expect(() => otsParams(9)).toThrow(/unsupported LM-OTS type 9/);
    expect(() => lmsParams(4)).toThrow(/unsupported LMS type 4/);
  });
});
