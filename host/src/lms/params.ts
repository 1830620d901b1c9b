/**
 * The RFC 8554 parameter sets with SHA-256 and 32-byte outputs: LM-OTS §4.1 (Table 1) and LMS §5.1
 * (Table 2). Typecodes are the IANA values of RFC 8554 §8.
 */
import { LmsError } from "./bytes.ts";

export interface LmotsParams {
  readonly name: string;
  readonly typecode: number;
  /** Bytes of hash output (n). */
  readonly n: 32;
  /** Winternitz parameter (bits per chain). */
  readonly w: 1 | 2 | 4 | 8;
  /** Number of n-byte chains in a signature (p). */
  readonly p: number;
  /** Left shift of the checksum (ls). */
  readonly ls: number;
  /** Signature bytes: 4 + n + p·n. */
  readonly sigBytes: number;
}

export interface LmsParams {
  readonly name: string;
  readonly typecode: number;
  readonly m: 32;
  /** Tree height: 2^h one-time keys. */
  readonly h: 5 | 10 | 15 | 20 | 25;
}

function lmots(name: string, typecode: number, w: 1 | 2 | 4 | 8, p: number, ls: number): LmotsParams {
  return Object.freeze({ name, typecode, n: 32, w, p, ls, sigBytes: 4 + 32 + p * 32 });
}

/** RFC 8554 Table 1 (values of p and ls computed per Appendix B). */
export const LMOTS = Object.freeze({
  LMOTS_SHA256_N32_W1: lmots("LMOTS_SHA256_N32_W1", 1, 1, 265, 7),
  LMOTS_SHA256_N32_W2: lmots("LMOTS_SHA256_N32_W2", 2, 2, 133, 6),
  LMOTS_SHA256_N32_W4: lmots("LMOTS_SHA256_N32_W4", 3, 4, 67, 4),
  LMOTS_SHA256_N32_W8: lmots("LMOTS_SHA256_N32_W8", 4, 8, 34, 0),
});

function lms(name: string, typecode: number, h: 5 | 10 | 15 | 20 | 25): LmsParams {
  return Object.freeze({ name, typecode, m: 32, h });
}

/** RFC 8554 Table 2. */
export const LMS = Object.freeze({
  LMS_SHA256_M32_H5: lms("LMS_SHA256_M32_H5", 5, 5),
  LMS_SHA256_M32_H10: lms("LMS_SHA256_M32_H10", 6, 10),
  LMS_SHA256_M32_H15: lms("LMS_SHA256_M32_H15", 7, 15),
  LMS_SHA256_M32_H20: lms("LMS_SHA256_M32_H20", 8, 20),
  LMS_SHA256_M32_H25: lms("LMS_SHA256_M32_H25", 9, 25),
});

const lmotsByCode = new Map<number, LmotsParams>(Object.values(LMOTS).map((p) => [p.typecode, p]));
const lmsByCode = new Map<number, LmsParams>(Object.values(LMS).map((p) => [p.typecode, p]));

export function lmotsParams(typecode: number): LmotsParams {
  const p = lmotsByCode.get(typecode);
  if (!p) throw new LmsError(`unknown LM-OTS typecode 0x${typecode.toString(16).padStart(8, "0")} (supported: SHA-256/N32 W1, W2, W4, W8 = 1..4)`);
  return p;
}

export function lmsParams(typecode: number): LmsParams {
  const p = lmsByCode.get(typecode);
  if (!p) throw new LmsError(`unknown LMS typecode 0x${typecode.toString(16).padStart(8, "0")} (supported: SHA-256/M32 H5..H25 = 5..9)`);
  return p;
}

/** A parameter set by name or typecode: "LMS_SHA256_M32_H10" / 6, "LMOTS_SHA256_N32_W4" / 3, or short "H10" / "W4". */
export function lmsParamsFrom(v: string | number): LmsParams {
  if (typeof v === "number") return lmsParams(v);
  const byName = (LMS as Record<string, LmsParams>)[v] ?? (LMS as Record<string, LmsParams>)[`LMS_SHA256_M32_${v.toUpperCase()}`];
  if (!byName) throw new LmsError(`unknown LMS parameter set "${v}" (use H5, H10, H15, H20 or H25)`);
  return byName;
}

export function lmotsParamsFrom(v: string | number): LmotsParams {
  if (typeof v === "number") return lmotsParams(v);
  const byName = (LMOTS as Record<string, LmotsParams>)[v] ?? (LMOTS as Record<string, LmotsParams>)[`LMOTS_SHA256_N32_${v.toUpperCase()}`];
  if (!byName) throw new LmsError(`unknown LM-OTS parameter set "${v}" (use W1, W2, W4 or W8)`);
  return byName;
}

/** LMS signature bytes (RFC 8554 §5.4): u32 q || LM-OTS signature || u32 type || h·m path. */
export function lmsSignatureBytes(lmsP: LmsParams, ots: LmotsParams): number {
  return 4 + ots.sigBytes + 4 + lmsP.h * lmsP.m;
}

/** LMS public key bytes (§5.3): u32 type || u32 otstype || I (16) || T[1] (m). */
export const LMS_PUBLIC_KEY_BYTES = 4 + 4 + 16 + 32;
export const I_BYTES = 16;
export const SEED_BYTES = 32;
