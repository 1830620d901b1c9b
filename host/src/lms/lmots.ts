/**
 * LM-OTS one-time signatures, RFC 8554 §4, with private keys derived from a seed as in Appendix A.
 * Each Winternitz chain step hashes I || u32str(q) || u16str(i) || u8str(j) || tmp (55 bytes, one
 * SHA-256 block) in one reused buffer.
 */
import { LmsError, assertBytes, concat, readU32, u32str, writeU32 } from "./bytes.ts";
import { N, sha256, sha256Short } from "./hash.ts";
import { I_BYTES, SEED_BYTES, lmotsParams, type LmotsParams } from "./params.ts";

/** Domain separators of RFC 8554 §4.3 / §5.3. */
export const D_PBLC = 0x8080;
export const D_MESG = 0x8181;
export const D_LEAF = 0x8282;
export const D_INTR = 0x8383;
/** Appendix A's private element derivation uses j = 0xff. */
const D_PRIV = 0xff;
/**
 * The randomizer C is derived from the seed (as the reference implementation hash-sigs does: i =
 * 0xFFFD), so signing is deterministic: a leaf re-signing the same message after a crash reveals
 * nothing new. RFC 8554 allows any C that the signer does not let an attacker choose.
 */
const C_INDEX = 0xfffd;

function u16(n: number): Uint8Array {
  return Uint8Array.of(n >>> 8, n & 0xff);
}

/** coef(S, i, w) of §3.1.3: the i-th w-bit digit of S, most significant first. */
export function coef(s: Uint8Array, i: number, w: number): number {
  const perByte = 8 / w;
  const byte = s[Math.floor(i / perByte)]!;
  const shift = 8 - (w * (i % perByte) + w);
  return (byte >>> shift) & ((1 << w) - 1);
}

/** Cksm(S) of §4.4, shifted left by ls, as the 2 bytes appended to Q. */
export function checksum(q: Uint8Array, ots: LmotsParams): Uint8Array {
  const digits = (N * 8) / ots.w;
  const max = (1 << ots.w) - 1;
  let sum = 0;
  for (let i = 0; i < digits; i++) sum += max - coef(q, i, ots.w);
  return u16((sum << ots.ls) & 0xffff);
}

/** The p chain start/end digits for message hash Q: coef(Q || Cksm(Q), i, w). */
function digits(qHash: Uint8Array, ots: LmotsParams): number[] {
  const s = concat(qHash, checksum(qHash, ots));
  const out = new Array<number>(ots.p);
  for (let i = 0; i < ots.p; i++) out[i] = coef(s, i, ots.w);
  return out;
}

/** Walks chain i from step `from` (inclusive) to `to` (exclusive), starting at `start`. */
function chain(buf: Uint8Array, i: number, start: Uint8Array, from: number, to: number): Uint8Array {
  buf[20] = i >>> 8;
  buf[21] = i & 0xff;
  buf.set(start, 23);
  for (let j = from; j < to; j++) {
    buf[22] = j;
    sha256Short(buf, CHAIN_INPUT, buf, 23); // tmp = H(I || q || i || j || tmp), in place
  }
  return buf.slice(23, 23 + N);
}

/** I || u32str(q) || u16str(i) || u8str(j) || tmp: 55 bytes, one SHA-256 block. */
const CHAIN_INPUT = I_BYTES + 4 + 2 + 1 + N;

function chainBuffer(I: Uint8Array, q: number): Uint8Array {
  const buf = new Uint8Array(CHAIN_INPUT);
  buf.set(I, 0);
  writeU32(buf, 16, q);
  return buf;
}

/** x_q[i] = H(I || u32str(q) || u16str(i) || u8str(0xff) || SEED) (Appendix A). */
export function privateElement(I: Uint8Array, q: number, i: number, seed: Uint8Array): Uint8Array {
  return sha256(concat(I, u32str(q), u16(i), Uint8Array.of(D_PRIV), seed));
}

function messageHash(I: Uint8Array, q: number, C: Uint8Array, message: Uint8Array): Uint8Array {
  return sha256(concat(I, u32str(q), u16(D_MESG), C, message));
}

function publicHash(I: Uint8Array, q: number, ys: Uint8Array[]): Uint8Array {
  return sha256(concat(I, u32str(q), u16(D_PBLC), ...ys));
}

function checkKeyInputs(I: Uint8Array, q: number, seed: Uint8Array): void {
  assertBytes("I", I, I_BYTES);
  assertBytes("SEED", seed, SEED_BYTES);
  if (!Number.isInteger(q) || q < 0 || q > 0xffffffff) throw new LmsError(`LM-OTS key index q must be a 32-bit unsigned integer, got ${q}`);
}

/** The LM-OTS public key hash K of leaf q (Algorithm 1, the value the LMS leaf hashes). */
export function lmotsPublicKey(ots: LmotsParams, I: Uint8Array, q: number, seed: Uint8Array): Uint8Array {
  checkKeyInputs(I, q, seed);
  const buf = chainBuffer(I, q);
  const end = (1 << ots.w) - 1;
  const ys = new Array<Uint8Array>(ots.p);
  for (let i = 0; i < ots.p; i++) ys[i] = chain(buf, i, privateElement(I, q, i, seed), 0, end);
  return publicHash(I, q, ys);
}

/** The deterministic randomizer C of leaf q. */
export function lmotsRandomizer(I: Uint8Array, q: number, seed: Uint8Array): Uint8Array {
  return sha256(concat(I, u32str(q), u16(C_INDEX), Uint8Array.of(D_PRIV), seed));
}

/**
 * Algorithm 3: signs `message` with one-time key q. The caller (lms.ts) guarantees q is used once.
 * `randomizer` overrides C (test vectors only).
 */
export function lmotsSign(ots: LmotsParams, I: Uint8Array, q: number, seed: Uint8Array, message: Uint8Array, randomizer?: Uint8Array): Uint8Array {
  checkKeyInputs(I, q, seed);
  assertBytes("message", message);
  const C = randomizer ?? lmotsRandomizer(I, q, seed);
  assertBytes("C", C, N);
  const a = digits(messageHash(I, q, C, message), ots);
  const buf = chainBuffer(I, q);
  const sig = new Uint8Array(ots.sigBytes);
  writeU32(sig, 0, ots.typecode);
  sig.set(C, 4);
  for (let i = 0; i < ots.p; i++) sig.set(chain(buf, i, privateElement(I, q, i, seed), 0, a[i]!), 4 + N + i * N);
  return sig;
}

/**
 * Algorithm 4b: the candidate public key Kc for a signature; throws LmsError for a malformed one.
 * `expectedType` is the LM-OTS typecode the LMS public key names (§5.4.2 step 2).
 */
export function lmotsCandidate(sig: Uint8Array, expectedType: number, I: Uint8Array, q: number, message: Uint8Array): Uint8Array {
  assertBytes("LM-OTS signature", sig);
  if (sig.length < 4) throw new LmsError(`LM-OTS signature of ${sig.length} bytes is shorter than its 4-byte type`);
  const type = readU32(sig, 0);
  if (type !== expectedType) throw new LmsError(`LM-OTS signature type ${type} differs from the public key's LM-OTS type ${expectedType}`);
  const ots = lmotsParams(type);
  if (sig.length !== ots.sigBytes) throw new LmsError(`${ots.name} signature must be ${ots.sigBytes} bytes, got ${sig.length}`);
  const C = sig.subarray(4, 4 + N);
  const a = digits(messageHash(I, q, C, message), ots);
  const buf = chainBuffer(I, q);
  const end = (1 << ots.w) - 1;
  const zs = new Array<Uint8Array>(ots.p);
  for (let i = 0; i < ots.p; i++) zs[i] = chain(buf, i, sig.subarray(4 + N + i * N, 4 + N + (i + 1) * N), a[i]!, end);
  return publicHash(I, q, zs);
}
