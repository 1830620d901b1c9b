import { describe, expect, it } from "vitest";
import { readFileSync } from "node:fs";
import { createHash } from "node:crypto";
import {
  HssSigner, LMOTS, LMS, LmsError, LmsTree, assertHssSignature, hssKeyFromSeed, hssSignatureBytes, hssVerify, lmotsParams, lmsParams,
  lmsSignatureBytes, lmsVerify, parseHssState, serialiseHssState, assertLmsSignature, hssCapacity, type HssLevel,
} from "../../src/lms/index.ts";
import { checksum } from "../../src/lms/lmots.ts";

const vectors = JSON.parse(readFileSync(new URL("./rfc8554-vectors.json", import.meta.url), "utf8")) as {
  testCases: Array<{ name: string; publicKey: string; message: string; signature: string; private?: { levels: Array<{ lmsType: number; lmotsType: number; I: string; seed: string; q: number }> } }>;
};
const hex = (s: string) => Uint8Array.from(Buffer.from(s, "hex"));
const toHex = (b: Uint8Array) => Buffer.from(b).toString("hex");
const seedOf = (n: number) => new Uint8Array(32).fill(n);
const iOf = (n: number) => new Uint8Array(16).fill(n);

function flip(bytes: Uint8Array, at: number): Uint8Array {
  const out = bytes.slice();
  out[at] ^= 0x01;
  return out;
}

describe("RFC 8554 Appendix F test vectors", () => {
  for (const tc of vectors.testCases) {
    it(`verifies ${tc.name}`, () => {
      const info = assertHssSignature(hex(tc.publicKey), hex(tc.message), hex(tc.signature));
      expect(info.levels).toHaveLength(2);
      expect(hssVerify(hex(tc.publicKey), hex(tc.message), hex(tc.signature))).toBe(true);
      expect(hex(tc.signature).length).toBe(hssSignatureBytes(info.levels));
    });
    it(`refuses ${tc.name} with one flipped bit anywhere that matters`, () => {
      const pub = hex(tc.publicKey);
      const msg = hex(tc.message);
      const sig = hex(tc.signature);
      expect(hssVerify(pub, flip(msg, 0), sig)).toBe(false);
      expect(hssVerify(flip(pub, 59), msg, sig)).toBe(false);
      // C of the top LM-OTS signature, a chain value, the auth path, the signed child key, the bottom signature's last byte
      for (const at of [16, 100, 2000, sig.length - 1400, sig.length - 1300, sig.length - 1]) {
        expect(hssVerify(pub, msg, flip(sig, at)), `bit flip at byte ${at}`).toBe(false);
      }
    });
  }

  it("reproduces Test Case 2's keys and signatures from its SEEDs, I values and q (Appendix A key derivation)", () => {
    const tc = vectors.testCases[1]!;
    const [top, bottom] = tc.private!.levels;
    const sig = hex(tc.signature);
    const topTree = new LmsTree(lmsParams(top!.lmsType), lmotsParams(top!.lmotsType), hex(top!.I), hex(top!.seed));
    expect(toHex(topTree.publicKey)).toBe(tc.publicKey.slice(8));
    const bottomTree = new LmsTree(lmsParams(bottom!.lmsType), lmotsParams(bottom!.lmotsType), hex(bottom!.I), hex(bottom!.seed));
    const topSigLen = lmsSignatureBytes(topTree.lms, topTree.ots);
    const childPubAt = 4 + topSigLen;
    expect(toHex(bottomTree.publicKey)).toBe(toHex(sig.subarray(childPubAt, childPubAt + 56)));
    // The RFC's randomizers C were random: take them from the vector, everything else is recomputed.
    const topC = sig.subarray(4 + 8, 4 + 8 + 32);
    expect(toHex(topTree.sign(top!.q, bottomTree.publicKey, topC))).toBe(toHex(sig.subarray(4, 4 + topSigLen)));
    const bottomAt = childPubAt + 56;
    const bottomC = sig.subarray(bottomAt + 8, bottomAt + 40);
    expect(toHex(bottomTree.sign(bottom!.q, hex(tc.message), bottomC))).toBe(toHex(sig.subarray(bottomAt)));
  });
});

describe("LM-OTS", () => {
  it("computes the checksum of RFC 8554 §4.4 (all-zero digest: maximal sum, shifted by ls)", () => {
    // W4: 64 digits of 0 → sum 64·15 = 960, << 4 = 15360
    expect(toHex(checksum(new Uint8Array(32), LMOTS.LMOTS_SHA256_N32_W4))).toBe((960 << 4).toString(16).padStart(4, "0"));
    // W8: 32 digits of 0xff → sum 0
    expect(toHex(checksum(new Uint8Array(32).fill(0xff), LMOTS.LMOTS_SHA256_N32_W8))).toBe("0000");
  });
  it("has RFC 8554 Table 1's p and ls", () => {
    expect(Object.values(LMOTS).map((p) => [p.typecode, p.w, p.p, p.ls])).toEqual([[1, 1, 265, 7], [2, 2, 133, 6], [3, 4, 67, 4], [4, 8, 34, 0]]);
  });
});

describe("LMS sign/verify for every LM-OTS parameter set", () => {
  for (const ots of Object.values(LMOTS)) {
    it(`H5 with ${ots.name}`, () => {
      const tree = new LmsTree(LMS.LMS_SHA256_M32_H5, ots, iOf(ots.typecode), seedOf(ots.typecode));
      const msg = new TextEncoder().encode("pay 12.34 EUR");
      for (const q of [0, 17, 31]) {
        const sig = tree.sign(q, msg);
        expect(sig.length).toBe(lmsSignatureBytes(LMS.LMS_SHA256_M32_H5, ots));
        expect(lmsVerify(tree.publicKey, msg, sig)).toBe(true);
        expect(lmsVerify(tree.publicKey, flip(msg, 3), sig)).toBe(false);
      }
    });
  }

  it("refuses malformed LMS signatures and keys with a clear reason", () => {
    const tree = new LmsTree(LMS.LMS_SHA256_M32_H5, LMOTS.LMOTS_SHA256_N32_W8, iOf(1), seedOf(1));
    const msg = Uint8Array.of(1, 2, 3);
    const sig = tree.sign(3, msg);
    expect(() => assertLmsSignature(tree.publicKey, msg, sig.subarray(0, sig.length - 1))).toThrow(/must be 1292 bytes/);
    expect(() => assertLmsSignature(tree.publicKey, msg, Uint8Array.of(...sig, 0))).toThrow(/must be 1292 bytes/);
    expect(() => assertLmsSignature(tree.publicKey, msg, sig.subarray(0, 5))).toThrow(/too short/);
    const wrongQ = sig.slice();
    wrongQ[3] = 4; // q = 4: a valid-looking leaf index, but the signature was made with leaf 3
    expect(() => assertLmsSignature(tree.publicKey, msg, wrongQ)).toThrow(/does not verify/);
    const outside = sig.slice();
    outside[2] = 1; // q = 259 ≥ 32
    expect(() => assertLmsSignature(tree.publicKey, msg, outside)).toThrow(/outside the tree/);
    const otherOts = sig.slice();
    otherOts[7] = 3;
    expect(() => assertLmsSignature(tree.publicKey, msg, otherOts)).toThrow(/LM-OTS type 3/);
    const badType = sig.slice();
    badType[7] = 9;
    expect(() => assertLmsSignature(tree.publicKey, msg, badType)).toThrow(/LM-OTS type 9/);
    expect(() => assertLmsSignature(tree.publicKey.subarray(0, 40), msg, sig)).toThrow(/must be 56 bytes/);
    const unknownLms = tree.publicKey.slice();
    unknownLms[3] = 10;
    expect(() => assertLmsSignature(unknownLms, msg, sig)).toThrow(/unknown LMS typecode/);
    expect(() => tree.sign(32, msg)).toThrow(/0\.\.31/);
    expect(() => new LmsTree(LMS.LMS_SHA256_M32_H5, LMOTS.LMOTS_SHA256_N32_W8, new Uint8Array(15), seedOf(1))).toThrow(/I must be 16 bytes/);
    expect(() => assertLmsSignature(tree.publicKey, "text" as unknown as Uint8Array, sig)).toThrow(LmsError);
  });

  it("gives the same signatures whatever part of the tree it caches (taller trees recompute lower levels)", () => {
    const full = new LmsTree(LMS.LMS_SHA256_M32_H10, LMOTS.LMOTS_SHA256_N32_W2, iOf(7), seedOf(7));
    const partial = new LmsTree(LMS.LMS_SHA256_M32_H10, LMOTS.LMOTS_SHA256_N32_W2, iOf(7), seedOf(7), { cacheFromHeight: 4 });
    expect(toHex(partial.publicKey)).toBe(toHex(full.publicKey));
    for (const q of [0, 513, 1023]) expect(toHex(partial.sign(q, Uint8Array.of(q & 0xff)))).toBe(toHex(full.sign(q, Uint8Array.of(q & 0xff))));
  });

  it("supports every LMS height's parameters (sizes; H20/H25 key generation is too slow for a unit test)", () => {
    expect(Object.values(LMS).map((p) => [p.typecode, p.h, lmsSignatureBytes(p, LMOTS.LMOTS_SHA256_N32_W8)])).toEqual([
      [5, 5, 1292], [6, 10, 1452], [7, 15, 1612], [8, 20, 1772], [9, 25, 1932],
    ]);
  });
});

describe("HSS", () => {
  const levels: HssLevel[] = [
    { lms: LMS.LMS_SHA256_M32_H5, ots: LMOTS.LMOTS_SHA256_N32_W8 },
    { lms: LMS.LMS_SHA256_M32_H5, ots: LMOTS.LMOTS_SHA256_N32_W4 },
  ];

  it("signs with a persisted counter, never reusing a one-time key, across a restart from the persisted state", () => {
    const persisted: Uint8Array[] = [];
    const signer = new HssSigner(hssKeyFromSeed(levels, seedOf(9), iOf(9)));
    const seen = new Set<number>();
    const msgs = [0, 1, 31, 32, 33].map((i) => Uint8Array.of(i));
    for (let i = 0; i < 34; i++) {
      const msg = Uint8Array.of(i);
      const sig = signer.sign(msg, (s) => persisted.push(s));
      const info = assertHssSignature(signer.publicKey, msg, sig);
      expect(info.index).toBe(i);
      expect(seen.has(info.index)).toBe(false);
      seen.add(info.index);
      expect(sig.length).toBe(hssSignatureBytes(levels));
    }
    expect(msgs).toHaveLength(5);
    expect(parseHssState(persisted.at(-1)!).next).toBe(34);
    // A restart from the persisted state continues at 34, with the same public key.
    const again = new HssSigner(persisted.at(-1)!);
    expect(toHex(again.publicKey)).toBe(toHex(signer.publicKey));
    const sig = again.sign(Uint8Array.of(99), () => {});
    expect(assertHssSignature(again.publicKey, Uint8Array.of(99), sig)).toMatchObject({ index: 34, qs: [1, 2] });
  });

  it("L = 3: indices split over the levels, across tree boundaries, each verifying with its own leaf path", () => {
    const three: HssLevel[] = [
      { lms: LMS.LMS_SHA256_M32_H5, ots: LMOTS.LMOTS_SHA256_N32_W4 },
      { lms: LMS.LMS_SHA256_M32_H5, ots: LMOTS.LMOTS_SHA256_N32_W2 },
      { lms: LMS.LMS_SHA256_M32_H5, ots: LMOTS.LMOTS_SHA256_N32_W4 },
    ];
    const base = hssKeyFromSeed(three, seedOf(11), iOf(11));
    const pub = new HssSigner(base).publicKey;
    for (const [n, qs] of [[1023, [0, 31, 31]], [1024, [1, 0, 0]], [32767, [31, 31, 31]]] as const) {
      const signer = new HssSigner({ ...base, next: n });
      expect(toHex(signer.publicKey)).toBe(toHex(pub));
      const sig = signer.sign(Uint8Array.of(n & 0xff), () => {});
      expect(sig.length).toBe(hssSignatureBytes(three));
      expect(assertHssSignature(pub, Uint8Array.of(n & 0xff), sig)).toMatchObject({ index: n, qs });
    }
    expect(() => new HssSigner({ ...base, next: 32768 }).sign(Uint8Array.of(0), () => {})).toThrow(/exhausted/);
  });

  it("makes no signature when persisting the advanced index fails", () => {
    const signer = new HssSigner(hssKeyFromSeed(levels, seedOf(3), iOf(3)));
    expect(() => signer.sign(Uint8Array.of(1), () => {
      throw new Error("disk full");
    })).toThrow(/disk full/);
    expect(signer.next).toBe(0);
  });

  it("refuses to sign once every one-time key is used", () => {
    const tiny: HssLevel[] = [{ lms: LMS.LMS_SHA256_M32_H5, ots: LMOTS.LMOTS_SHA256_N32_W8 }];
    const state = serialiseHssState({ ...hssKeyFromSeed(tiny, seedOf(4), iOf(4)), next: 31 });
    const signer = new HssSigner(state);
    expect(signer.remaining).toBe(1);
    signer.sign(Uint8Array.of(1), () => {});
    expect(() => signer.sign(Uint8Array.of(2), () => {})).toThrow(/exhausted/);
    expect(hssCapacity(tiny)).toBe(32);
  });

  it("refuses malformed HSS signatures, keys and states with a clear reason", () => {
    const signer = new HssSigner(hssKeyFromSeed(levels, seedOf(5), iOf(5)));
    const msg = Uint8Array.of(7);
    const sig = signer.sign(msg, () => {});
    const pub = signer.publicKey;
    expect(() => assertHssSignature(pub, msg, sig.subarray(0, sig.length - 1))).toThrow(/must be|truncated/);
    expect(() => assertHssSignature(pub, msg, Uint8Array.of(...sig, 0))).toThrow(/trailing/);
    const nspk = sig.slice();
    nspk[3] = 0;
    expect(() => assertHssSignature(pub, msg, nspk)).toThrow(/0 signed public keys/);
    const wrongL = pub.slice();
    wrongL[3] = 9;
    expect(() => assertHssSignature(wrongL, msg, sig)).toThrow(/9 levels/);
    expect(() => assertHssSignature(pub.subarray(1), msg, sig)).toThrow(/must be 60 bytes/);
    expect(() => assertHssSignature(pub, msg, flip(sig, 8))).toThrow(/level 1 of 2: unknown LM-OTS/);
    expect(() => assertHssSignature(pub, msg, flip(sig, 20))).toThrow(/level 1 of 2: LMS signature does not verify/);
    expect(() => assertHssSignature(pub, msg, flip(sig, sig.length - 1))).toThrow(/level 2 of 2/);
    expect(() => parseHssState(new Uint8Array(10))).toThrow(/magic/);
    const state = signer.serialisedState;
    expect(() => parseHssState(state.subarray(0, state.length - 1))).toThrow(/must be/);
    expect(() => new HssSigner(hssKeyFromSeed([], seedOf(1), iOf(1)))).toThrow(/1\.\.8 levels/);
    expect(() => signer.sign(msg, undefined as unknown as () => void)).toThrow(/persist callback/);
  });
});

describe("single-block SHA-256 (the chain hash)", () => {
  it("equals @noble/hashes sha256 for every input length 0..55, in place too", async () => {
    const { sha256Short } = await import("../../src/lms/hash.ts");
    const { sha256 } = await import("@noble/hashes/sha2.js");
    for (let len = 0; len <= 55; len++) {
      const input = Uint8Array.from({ length: 64 }, (_, i) => (i * 37 + len * 11) & 0xff);
      const out = new Uint8Array(32);
      sha256Short(input, len, out, 0);
      expect(toHex(out), `length ${len}`).toBe(toHex(sha256(input.subarray(0, len))));
      const inPlace = input.slice(0, 55);
      const expected = toHex(sha256(inPlace.subarray(0, len)));
      sha256Short(inPlace, len, inPlace, 23);
      expect(toHex(inPlace.subarray(23, 55))).toBe(expected);
    }
    expect(() => sha256Short(new Uint8Array(56), 56, new Uint8Array(32), 0)).toThrow(RangeError);
  });
});

describe("LmsTree.nodes (the tree an issuer hands a carrier, docs/OFFLINE.md Part A §2)", () => {
  it("holds T[2] … T[2^(h+1) − 1] in order: the root recomputes from T[2], T[3], and every signature's path is read from it", () => {
    const I = new Uint8Array(16).fill(3), seed = new Uint8Array(32).fill(4);
    const tree = new LmsTree(lmsParams(LMS.LMS_SHA256_M32_H5.typecode), lmotsParams(LMOTS.LMOTS_SHA256_N32_W8.typecode), I, seed, { cacheFromHeight: 2 });
    const nodes = Buffer.from(tree.nodes());
    expect(nodes.length).toBe((2 ** 6 - 2) * 32);
    const T = (r: number) => nodes.subarray((r - 2) * 32, (r - 1) * 32);
    const root = createHash("sha256").update(I).update(Uint8Array.of(0, 0, 0, 1, 0x83, 0x83)).update(T(2)).update(T(3)).digest();
    expect(root.equals(Buffer.from(tree.root))).toBe(true);
    for (const q of [0, 13, 31]) {
      const sig = Buffer.from(tree.sign(q, new Uint8Array([q])));
      const pathAt = sig.length - 5 * 32;
      for (let i = 0, r = 32 + q; i < 5; i++, r >>= 1) expect(sig.subarray(pathAt + i * 32, pathAt + (i + 1) * 32).equals(T(r ^ 1)), `q ${q} level ${i}`).toBe(true);
    }
  });
});
