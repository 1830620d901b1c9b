// LMS / LM-OTS signing (RFC 8554, SHA-256, N32/M32) for the carrier's offline authorizations
// (docs/OFFLINE.md, PROTOCOL.md §11). Signing only: the carrier never verifies. Key generation is the
// issuer's (docs/OFFLINE.md "Who generates the key"); the carrier holds I, SEED and the tree nodes.
//
// Cost on the board is one native SHA-256 per Winternitz chain step plus the JavaScript around it
// (~0.2 ms per statement), so the chain loop is one statement per step over native calls and flat
// buffers: `t = sha(flat(I‖q, i hi, i lo, j, t))`. The natives come in as a port (platform.ts wires
// crypto.SHA256, E.toUint8Array and E.toString; Node tests wire @noble/hashes and Buffers).
import { u32be } from "../store/bytes.ts";
import { raise } from "../raise.ts";

/** What the signer needs from the board. Hash values are opaque (ArrayBuffer on a board). */
export interface LmsNatives {
  /** SHA-256 of a flat buffer (crypto.SHA256): 32 bytes, opaque. */
  sha(data: unknown): unknown;
  /** Concatenates strings, numbers (one byte each), arrays and buffers into a flat buffer (E.toUint8Array). */
  flat(...parts: unknown[]): unknown;
  /** The same, as a byte string (E.toString). */
  str(...parts: unknown[]): string;
}

/** LM-OTS parameter sets of RFC 8554 §4.1 (Table 1): typecode → w, p, ls (n = 32). */
export interface OtsParams { type: number; w: number; p: number; ls: number }
/** LMS parameter sets of RFC 8554 §5.1 (Table 2): typecode → h (m = 32). */
export interface LmsParams { type: number; h: number }

export const LMOTS_SHA256_N32_W1 = 1;
export const LMOTS_SHA256_N32_W2 = 2;
export const LMOTS_SHA256_N32_W4 = 3;
export const LMOTS_SHA256_N32_W8 = 4;
export const LMS_SHA256_M32_H5 = 5;
export const LMS_SHA256_M32_H10 = 6;
export const LMS_SHA256_M32_H15 = 7;
export const LMS_SHA256_M32_H20 = 8;
export const LMS_SHA256_M32_H25 = 9;
export const LMS_N = 32;

// Domain separators (RFC 8554 §4.3, §5.3): D_PBLC 8080, D_MESG 8181, D_LEAF 8282, D_INTR 8383.
export const D_MESG = "\x81\x81";

export function otsParams(type: number): OtsParams {
  if (type === LMOTS_SHA256_N32_W1) return { type: type, w: 1, p: 265, ls: 7 };
  if (type === LMOTS_SHA256_N32_W2) return { type: type, w: 2, p: 133, ls: 6 };
  if (type === LMOTS_SHA256_N32_W4) return { type: type, w: 4, p: 67, ls: 4 };
  if (type === LMOTS_SHA256_N32_W8) return { type: type, w: 8, p: 34, ls: 0 };
  return raise("lms: unsupported LM-OTS type " + type);
}

export function lmsParams(type: number): LmsParams {
  if (type >= LMS_SHA256_M32_H5 && type <= LMS_SHA256_M32_H25) return { type: type, h: (type - 4) * 5 };
  return raise("lms: unsupported LMS type " + type);
}

/** Bytes of an LM-OTS signature: u32 type ‖ C ‖ p × n. */
export function otsSignatureBytes(ots: OtsParams): number {
  return 4 + LMS_N + ots.p * LMS_N;
}

/** Bytes of an LMS signature: u32 q ‖ LM-OTS signature ‖ u32 LMS type ‖ h × m. */
export function lmsSignatureBytes(ots: OtsParams, lms: LmsParams): number {
  return 4 + otsSignatureBytes(ots) + 4 + lms.h * LMS_N;
}

/**
 * LM-OTS signature (RFC 8554 §4.5) of `message` with one-time key q of the tree (I, SEED), as the
 * parts of its byte string (u32 type, C, y_0 … y_(p−1)) for one final native concatenation.
 * The private chain starts x_i = H(I ‖ u32 q ‖ u16 i ‖ ff ‖ SEED) (RFC 8554 Appendix A, the
 * derivation its test case 2 uses). `c` is the 32-byte randomizer C (fresh random bytes on the
 * carrier; fixed ones for the vectors).
 */
export function otsSignParts(nat: LmsNatives, ots: OtsParams, id: string, q: number, seed: string, c: string, message: unknown): unknown[] {
  if (id.length !== 16 || seed.length !== LMS_N || c.length !== LMS_N) raise("lms: I must be 16 B, SEED and C 32 B");
  const sha = nat.sha, flat = nat.flat;
  const iq = id + u32be(q);
  // Q ‖ Cksm(Q), extended as the digits are read: the checksum digits follow the 8n/w digits of Q.
  let qc = nat.str(sha(flat(iq, D_MESG, c, message)));
  const w = ots.w, mask = (1 << w) - 1, u = (8 * LMS_N) / w, p = ots.p;
  let sum = 0;
  const y: unknown[] = [];
  for (let i = 0; i < p; i++) {
    if (i === u) {
      sum = sum << ots.ls;
      qc += String.fromCharCode(sum >> 8, sum & 255);
    }
    const bit = i * w;
    const a = (qc.charCodeAt(bit >> 3) >> (8 - w - (bit & 7))) & mask;
    sum += mask - a;
    const hi = i >> 8, lo = i & 255;
    // a mod 4 steps in one statement, then four per statement: on the board a statement and a loop
    // step cost about what a native SHA-256 of one block costs (board/docs/cost-model.md), and
    // nested native calls add none (docs/OFFLINE.md "Signing cost").
    let t = sha(flat(iq, hi, lo, 255, seed));
    let j = a & 3;
    t = j === 0 ? t : j === 1 ? sha(flat(iq, hi, lo, 0, t))
      : j === 2 ? sha(flat(iq, hi, lo, 1, sha(flat(iq, hi, lo, 0, t))))
      : sha(flat(iq, hi, lo, 2, sha(flat(iq, hi, lo, 1, sha(flat(iq, hi, lo, 0, t))))));
    for (; j < a; j += 4) t = sha(flat(iq, hi, lo, j + 3, sha(flat(iq, hi, lo, j + 2, sha(flat(iq, hi, lo, j + 1, sha(flat(iq, hi, lo, j, t))))))));
    y.push(t);
  }
  return [u32be(ots.type), c, y];
}

/** LM-OTS signature as a byte string: u32 type ‖ C ‖ y_0 … y_(p−1). */
export function otsSign(nat: LmsNatives, ots: OtsParams, id: string, q: number, seed: string, c: string, message: unknown): string {
  return nat.str(otsSignParts(nat, ots, id, q, seed, c, message));
}

function lmsSignParts(nat: LmsNatives, ots: OtsParams, lms: LmsParams, id: string, q: number, seed: string, c: string, message: unknown, path: string): unknown[] {
  if (!(q >= 0 && q < (1 << lms.h))) raise("lms: leaf " + q + " out of range");
  if (path.length !== lms.h * LMS_N) raise("lms: path must be " + lms.h * LMS_N + " B");
  return [u32be(q), otsSignParts(nat, ots, id, q, seed, c, message), u32be(lms.type), path];
}

/**
 * LMS signature (RFC 8554 §5.4.1) with leaf q: u32 q ‖ LM-OTS sig ‖ u32 LMS type ‖ path.
 * `path` is the authentication path of leaf q, h × 32 bytes from the leaf's sibling upwards
 * (authPathOffsets() says where each node is in the stored tree).
 */
export function lmsSign(nat: LmsNatives, ots: OtsParams, lms: LmsParams, id: string, q: number, seed: string, c: string, message: unknown, path: string): string {
  return nat.str(lmsSignParts(nat, ots, lms, id, q, seed, c, message, path));
}

/** HSS signature with one level (RFC 8554 §6.2, L = 1): u32 Nspk = 0 ‖ LMS signature. */
export function hssSign1(nat: LmsNatives, ots: OtsParams, lms: LmsParams, id: string, q: number, seed: string, c: string, message: unknown, path: string): string {
  return nat.str(u32be(0), lmsSignParts(nat, ots, lms, id, q, seed, c, message, path));
}

/**
 * The tree as the carrier stores it: nodes T[2] … T[2^(h+1) − 1] (RFC 8554 §5.3 numbering, the
 * root T[1] left out: it is in the public key), 32 bytes each, node r at offset (r − 2) × 32.
 * Returns the authentication path of leaf q: the sibling of each node from the leaf up.
 */
export function authPathOffsets(h: number, q: number): number[] {
  const out: number[] = [];
  let r = (1 << h) + q;
  for (let k = 0; k < h; k++) {
    out.push(((r ^ 1) - 2) * LMS_N);
    r = r >> 1;
  }
  return out;
}
