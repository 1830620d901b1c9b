/**
 * SHA-256 for LMS/HSS (RFC 8554 uses SHA-256 with M = N = 32).
 *
 * General hashing goes through @noble/hashes. The Winternitz chains — 15 to 255 hashes per chain,
 * over a million per tree — hash 55-byte inputs, which fit one SHA-256 block: `sha256Short` runs
 * the FIPS 180-4 compression once on a preallocated block and schedule, about 4× faster than a
 * fresh hash object per call. Tests check it against @noble/hashes on every length 0..55.
 */
import { sha256 as nobleSha256 } from "@noble/hashes/sha2.js";

export const N = 32;

export function sha256(data: Uint8Array): Uint8Array {
  return nobleSha256(data);
}

// FIPS 180-4 §4.2.2 constants and §5.3.3 initial hash value.
const K = Uint32Array.from([
  0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
  0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
  0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
  0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
  0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
  0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
  0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
  0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
]);
const IV = Uint32Array.from([0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19]);
const W = new Uint32Array(64);
const BLOCK = new Uint8Array(64);
/** Largest input that fits one padded block: 64 − 1 (0x80) − 8 (bit length). */
export const SHORT_MAX = 55;

/**
 * SHA-256 of `src[0..len)` (len ≤ 55) written to `out[outAt..outAt+32)`. `out` may be `src`:
 * the input is copied into the block before the digest is written.
 */
export function sha256Short(src: Uint8Array, len: number, out: Uint8Array, outAt: number): void {
  if (len > SHORT_MAX || len < 0 || len > src.length) throw new RangeError(`sha256Short takes 0..${SHORT_MAX} bytes, got ${len}`);
  for (let i = 0; i < len; i++) BLOCK[i] = src[i]!;
  BLOCK[len] = 0x80;
  for (let i = len + 1; i < 62; i++) BLOCK[i] = 0;
  const bits = len * 8;
  BLOCK[62] = bits >>> 8;
  BLOCK[63] = bits & 0xff;
  for (let t = 0; t < 16; t++) {
    const i = t * 4;
    W[t] = (BLOCK[i]! << 24) | (BLOCK[i + 1]! << 16) | (BLOCK[i + 2]! << 8) | BLOCK[i + 3]!;
  }
  for (let t = 16; t < 64; t++) {
    const w15 = W[t - 15]!;
    const w2 = W[t - 2]!;
    const s0 = ((w15 >>> 7) | (w15 << 25)) ^ ((w15 >>> 18) | (w15 << 14)) ^ (w15 >>> 3);
    const s1 = ((w2 >>> 17) | (w2 << 15)) ^ ((w2 >>> 19) | (w2 << 13)) ^ (w2 >>> 10);
    W[t] = (s1 + W[t - 7]! + s0 + W[t - 16]!) | 0;
  }
  let a = IV[0]!, b = IV[1]!, c = IV[2]!, d = IV[3]!, e = IV[4]!, f = IV[5]!, g = IV[6]!, h = IV[7]!;
  for (let t = 0; t < 64; t++) {
    const S1 = ((e >>> 6) | (e << 26)) ^ ((e >>> 11) | (e << 21)) ^ ((e >>> 25) | (e << 7));
    const t1 = (h + S1 + ((e & f) ^ (~e & g)) + K[t]! + W[t]!) | 0;
    const S0 = ((a >>> 2) | (a << 30)) ^ ((a >>> 13) | (a << 19)) ^ ((a >>> 22) | (a << 10));
    const t2 = (S0 + ((a & b) ^ (a & c) ^ (b & c))) | 0;
    h = g;
    g = f;
    f = e;
    e = (d + t1) | 0;
    d = c;
    c = b;
    b = a;
    a = (t1 + t2) | 0;
  }
  put(out, outAt, a + IV[0]!);
  put(out, outAt + 4, b + IV[1]!);
  put(out, outAt + 8, c + IV[2]!);
  put(out, outAt + 12, d + IV[3]!);
  put(out, outAt + 16, e + IV[4]!);
  put(out, outAt + 20, f + IV[5]!);
  put(out, outAt + 24, g + IV[6]!);
  put(out, outAt + 28, h + IV[7]!);
}

function put(out: Uint8Array, o: number, v: number): void {
  out[o] = v >>> 24;
  out[o + 1] = (v >>> 16) & 0xff;
  out[o + 2] = (v >>> 8) & 0xff;
  out[o + 3] = v & 0xff;
}
