// An independent RFC 8554 reference for the tests (and a test-grade issuer keygen): written from the
// RFC's pseudocode over Node Buffers and @noble/hashes, sharing no code with firmware/src/offline.
// Verification (§4.6, §5.4.2, §6.3) for every SHA-256 typecode, key generation (§4.3, §5.3,
// Appendix A) for the tests' own trees. Slow and simple on purpose.
import { sha256 } from "@noble/hashes/sha2.js";
import type { LmsNatives } from "../../src/offline/lms.ts";

const OTS: Record<number, { w: number; p: number; ls: number }> = {
  1: { w: 1, p: 265, ls: 7 }, 2: { w: 2, p: 133, ls: 6 }, 3: { w: 4, p: 67, ls: 4 }, 4: { w: 8, p: 34, ls: 0 },
};
const LMS_H: Record<number, number> = { 5: 5, 6: 10, 7: 15, 8: 20, 9: 25 };

const H = (...parts: Uint8Array[]): Buffer => Buffer.from(sha256(Buffer.concat(parts)));
const u32 = (n: number) => { const b = Buffer.alloc(4); b.writeUInt32BE(n >>> 0); return b; };
const u16 = (n: number) => { const b = Buffer.alloc(2); b.writeUInt16BE(n); return b; };
const u8 = (n: number) => Buffer.from([n]);

function coef(s: Buffer, i: number, w: number): number {
  return ((1 << w) - 1) & (s[Math.floor((i * w) / 8)]! >> (8 - (w * (i % (8 / w)) + w)));
}
function cksm(s: Buffer, w: number, ls: number): number {
  let sum = 0;
  for (let i = 0; i < (32 * 8) / w; i++) sum += (1 << w) - 1 - coef(s, i, w);
  return (sum << ls) & 0xffff;
}

/** Candidate OTS public key from a signature (RFC 8554 Algorithm 4b); null when malformed. */
export function otsCandidate(sig: Buffer, otsType: number, I: Buffer, q: number, msg: Buffer): Buffer | null {
  const o = OTS[otsType];
  if (!o || sig.length !== 4 + 32 + o.p * 32 || sig.readUInt32BE(0) !== otsType) return null;
  const C = sig.subarray(4, 36);
  const Q = H(I, u32(q), u16(0x8181), C, msg);
  const Qc = Buffer.concat([Q, u16(cksm(Q, o.w, o.ls))]);
  const z: Buffer[] = [];
  for (let i = 0; i < o.p; i++) {
    let tmp = sig.subarray(36 + i * 32, 68 + i * 32);
    for (let j = coef(Qc, i, o.w); j < (1 << o.w) - 1; j++) tmp = H(I, u32(q), u16(i), u8(j), tmp);
    z.push(tmp);
  }
  return H(I, u32(q), u16(0x8080), ...z);
}

/** LMS verification (Algorithm 6/6a): returns the signature's length consumed, or -1. */
export function lmsVerify(pub: Buffer, msg: Buffer, sig: Buffer): boolean {
  if (pub.length < 8) return false;
  const lmsType = pub.readUInt32BE(0), otsType = pub.readUInt32BE(4);
  const h = LMS_H[lmsType], o = OTS[otsType];
  if (!h || !o || pub.length !== 24 + 32) return false;
  const I = pub.subarray(8, 24), T1 = pub.subarray(24, 56);
  const otsLen = 4 + 32 + o.p * 32;
  if (sig.length !== 4 + otsLen + 4 + h * 32) return false;
  const q = sig.readUInt32BE(0);
  if (sig.readUInt32BE(4) !== otsType || sig.readUInt32BE(4 + otsLen) !== lmsType || q >= 2 ** h) return false;
  const Kc = otsCandidate(sig.subarray(4, 4 + otsLen), otsType, I, q, msg);
  if (!Kc) return false;
  let node = 2 ** h + q;
  let tmp = H(I, u32(node), u16(0x8282), Kc);
  for (let i = 0; i < h; i++) {
    const path = sig.subarray(8 + otsLen + i * 32, 8 + otsLen + (i + 1) * 32);
    tmp = node % 2 === 1 ? H(I, u32(node >> 1), u16(0x8383), path, tmp) : H(I, u32(node >> 1), u16(0x8383), tmp, path);
    node = node >> 1;
  }
  return tmp.equals(T1);
}

/** Length of an LMS signature starting at `at` (read from its typecodes), or -1. */
function lmsSigLength(sig: Buffer, at: number): number {
  if (sig.length < at + 8) return -1;
  const o = OTS[sig.readUInt32BE(at + 4)];
  if (!o) return -1;
  const otsLen = 4 + 32 + o.p * 32;
  if (sig.length < at + 4 + otsLen + 4) return -1;
  const h = LMS_H[sig.readUInt32BE(at + 4 + otsLen)];
  return h ? 4 + otsLen + 4 + h * 32 : -1;
}

/** HSS verification (RFC 8554 Algorithm 8 / §6.3). */
export function hssVerify(pub: Buffer, msg: Buffer, sig: Buffer): boolean {
  if (pub.length !== 60 || sig.length < 4) return false;
  const L = pub.readUInt32BE(0);
  const nspk = sig.readUInt32BE(0);
  if (nspk + 1 !== L) return false;
  let key = pub.subarray(4);
  let at = 4;
  for (let i = 0; i < nspk; i++) {
    const n = lmsSigLength(sig, at);
    if (n < 0 || sig.length < at + n + 56) return false;
    const next = sig.subarray(at + n, at + n + 56);
    if (!lmsVerify(key, next, sig.subarray(at, at + n))) return false;
    key = next;
    at += n + 56;
  }
  return lmsVerify(key, msg, sig.subarray(at));
}

/** A whole LMS tree, issuer side (test grade): public key and nodes T[2..2^(h+1)-1]. */
export interface RefTree { pub: Buffer; nodes: Buffer; root: Buffer }

export function otsPublicKey(otsType: number, I: Buffer, q: number, seed: Buffer): Buffer {
  const o = OTS[otsType]!;
  const ys: Buffer[] = [];
  for (let i = 0; i < o.p; i++) {
    let tmp = H(I, u32(q), u16(i), u8(0xff), seed);
    for (let j = 0; j < (1 << o.w) - 1; j++) tmp = H(I, u32(q), u16(i), u8(j), tmp);
    ys.push(tmp);
  }
  return H(I, u32(q), u16(0x8080), ...ys);
}

export function refKeygen(lmsType: number, otsType: number, I: Buffer, seed: Buffer): RefTree {
  const h = LMS_H[lmsType]!;
  const T: Buffer[] = new Array(2 ** (h + 1));
  for (let q = 0; q < 2 ** h; q++) {
    const r = 2 ** h + q;
    T[r] = H(I, u32(r), u16(0x8282), otsPublicKey(otsType, I, q, seed));
  }
  for (let r = 2 ** h - 1; r >= 1; r--) T[r] = H(I, u32(r), u16(0x8383), T[2 * r]!, T[2 * r + 1]!);
  return { pub: Buffer.concat([u32(lmsType), u32(otsType), I, T[1]!]), nodes: Buffer.concat(T.slice(2) as Buffer[]), root: T[1]! };
}

/** The firmware's natives over Node: SHA-256 of flat bytes, E.toUint8Array / E.toString alike. */
function bytesOf(parts: unknown[], out: number[]): void {
  for (const v of parts) {
    if (typeof v === "string") for (let i = 0; i < v.length; i++) out.push(v.charCodeAt(i) & 255);
    else if (typeof v === "number") out.push(v & 255);
    else if (v instanceof Uint8Array) for (const b of v) out.push(b);
    else if (Array.isArray(v)) bytesOf(v, out);
    else throw new Error(`natives: cannot convert ${typeof v}`);
  }
}
export const nodeLmsNatives: LmsNatives = {
  sha: (d) => sha256(d as Uint8Array),
  flat: (...parts) => { const out: number[] = []; bytesOf(parts, out); return Uint8Array.from(out); },
  str: (...parts) => { const out: number[] = []; bytesOf(parts, out); return Buffer.from(out).toString("latin1"); },
};

export const bin = (s: string) => Buffer.from(s, "latin1");
export const latin1 = (b: Uint8Array) => Buffer.from(b).toString("latin1");
