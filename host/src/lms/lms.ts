/**
 * LMS (RFC 8554 §5): a Merkle tree over 2^h LM-OTS keys. The signing side (LmsTree) keeps the
 * tree's upper levels in memory and recomputes the few lower-level siblings a signature needs;
 * it does not track which leaves were used — that is the caller's state (hss.ts).
 */
import { LmsError, assertBytes, concat, equalBytes, readU32, u32str, writeU32 } from "./bytes.ts";
import { N, sha256 } from "./hash.ts";
import { D_INTR, D_LEAF, lmotsCandidate, lmotsPublicKey, lmotsSign } from "./lmots.ts";
import { I_BYTES, LMS_PUBLIC_KEY_BYTES, SEED_BYTES, lmotsParams, lmsParams, lmsSignatureBytes, type LmotsParams, type LmsParams } from "./params.ts";

/** Levels cached in memory at most: 2^16 nodes (2 MiB). Taller trees recompute the rest per signature. */
const MAX_CACHED_LEVELS = 16;

function u16(n: number): Uint8Array {
  return Uint8Array.of(n >>> 8, n & 0xff);
}

function leafHash(I: Uint8Array, r: number, k: Uint8Array): Uint8Array {
  return sha256(concat(I, u32str(r), u16(D_LEAF), k));
}

function interiorHash(I: Uint8Array, r: number, left: Uint8Array, right: Uint8Array): Uint8Array {
  return sha256(concat(I, u32str(r), u16(D_INTR), left, right));
}

export interface LmsTreeOptions {
  /** Node heights below this are recomputed at signing instead of cached (default: keep at most 2^16 nodes). */
  cacheFromHeight?: number;
}

/** The private side of one LMS key: parameters, identifier I and SEED (Appendix A). */
export class LmsTree {
  readonly lms: LmsParams;
  readonly ots: LmotsParams;
  readonly I: Uint8Array;
  private readonly seed: Uint8Array;
  private readonly cut: number;
  /** Nodes 1 .. 2^(h−cut+1)−1, 32 bytes each (node r at r·32). */
  private readonly cache: Uint8Array;
  readonly root: Uint8Array;

  /** Computes the whole tree once (2^h LM-OTS public keys): the cost of key generation. */
  constructor(lms: LmsParams, ots: LmotsParams, I: Uint8Array, seed: Uint8Array, opts: LmsTreeOptions = {}) {
    assertBytes("I", I, I_BYTES);
    assertBytes("SEED", seed, SEED_BYTES);
    this.lms = lmsParams(lms.typecode);
    this.ots = lmotsParams(ots.typecode);
    this.I = I.slice();
    this.seed = seed.slice();
    const cut = opts.cacheFromHeight ?? Math.max(0, lms.h + 1 - MAX_CACHED_LEVELS);
    if (!Number.isInteger(cut) || cut < 0 || cut > lms.h) throw new LmsError(`cacheFromHeight must be an integer in 0..${lms.h}, got ${cut}`);
    this.cut = cut;
    this.cache = new Uint8Array((1 << (lms.h - cut + 1)) * N);
    this.root = this.node(1, true);
  }

  /** Leaves (one-time keys) in this tree. */
  get leaves(): number {
    return 2 ** this.lms.h;
  }

  /** u32str(type) || u32str(otstype) || I || T[1] (§5.3). */
  get publicKey(): Uint8Array {
    return concat(u32str(this.lms.typecode), u32str(this.ots.typecode), this.I, this.root);
  }

  private heightOf(r: number): number {
    return this.lms.h - (31 - Math.clz32(r));
  }

  /** T[r], from the cache when its height is cached; `fill` stores what it computes (key generation). */
  private node(r: number, fill = false): Uint8Array {
    const height = this.heightOf(r);
    const cached = height >= this.cut;
    if (cached && !fill) return this.cache.slice(r * N, (r + 1) * N);
    let value: Uint8Array;
    if (height === 0) {
      const q = r - 2 ** this.lms.h;
      value = leafHash(this.I, r, lmotsPublicKey(this.ots, this.I, q, this.seed));
    } else {
      value = interiorHash(this.I, r, this.node(2 * r, fill), this.node(2 * r + 1, fill));
    }
    if (cached) this.cache.set(value, r * N);
    return value;
  }

  /**
   * T[2] … T[2^(h+1) − 1] in order, 32 bytes each: the tree an issuer hands a carrier that signs
   * without rebuilding it (docs/OFFLINE.md Part A §2). Lower levels not cached are recomputed.
   */
  nodes(): Uint8Array {
    const count = 2 ** (this.lms.h + 1) - 2;
    const out = new Uint8Array(count * N);
    for (let r = 2; r < count + 2; r++) out.set(this.node(r), (r - 2) * N);
    return out;
  }

  /**
   * Algorithm 5: signs with leaf q. Stateless: the caller must never pass the same q twice for
   * different messages (HssSigner does this with a persisted counter).
   */
  sign(q: number, message: Uint8Array, randomizer?: Uint8Array): Uint8Array {
    if (!Number.isInteger(q) || q < 0 || q >= this.leaves) throw new LmsError(`leaf index q must be in 0..${this.leaves - 1}, got ${q}`);
    assertBytes("message", message);
    const ots = lmotsSign(this.ots, this.I, q, this.seed, message, randomizer);
    const sig = new Uint8Array(lmsSignatureBytes(this.lms, this.ots));
    writeU32(sig, 0, q);
    sig.set(ots, 4);
    let at = 4 + ots.length;
    writeU32(sig, at, this.lms.typecode);
    at += 4;
    let r = 2 ** this.lms.h + q;
    for (let i = 0; i < this.lms.h; i++, r = Math.floor(r / 2)) {
      sig.set(this.node(r ^ 1), at);
      at += N;
    }
    return sig;
  }
}

/** A parsed LMS public key (§5.3). */
export interface LmsPublicKey { lms: LmsParams; ots: LmotsParams; I: Uint8Array; root: Uint8Array }

export function parseLmsPublicKey(key: Uint8Array): LmsPublicKey {
  assertBytes("LMS public key", key);
  if (key.length < 8) throw new LmsError(`LMS public key of ${key.length} bytes is too short (needs ${LMS_PUBLIC_KEY_BYTES})`);
  const lms = lmsParams(readU32(key, 0));
  const ots = lmotsParams(readU32(key, 4));
  if (key.length !== LMS_PUBLIC_KEY_BYTES) throw new LmsError(`LMS public key must be ${LMS_PUBLIC_KEY_BYTES} bytes, got ${key.length}`);
  return { lms, ots, I: key.slice(8, 24), root: key.slice(24, 56) };
}

/** The length of the LMS signature starting at `at` in `bytes` (for HSS parsing); throws if it cannot be one. */
export function lmsSignatureLength(bytes: Uint8Array, at: number): number {
  if (bytes.length - at < 8) throw new LmsError(`LMS signature truncated: ${bytes.length - at} bytes left where at least 8 are needed`);
  const ots = lmotsParams(readU32(bytes, at + 4));
  const typeAt = at + 4 + ots.sigBytes;
  if (bytes.length - typeAt < 4) throw new LmsError(`LMS signature truncated inside its ${ots.name} signature`);
  const lms = lmsParams(readU32(bytes, typeAt));
  return lmsSignatureBytes(lms, ots);
}

/**
 * Algorithm 6a: checks an LMS signature; throws LmsError with the reason when it is malformed or
 * does not verify.
 */
export function assertLmsSignature(publicKey: Uint8Array | LmsPublicKey, message: Uint8Array, sig: Uint8Array): void {
  const pub = publicKey instanceof Uint8Array ? parseLmsPublicKey(publicKey) : publicKey;
  assertBytes("message", message);
  assertBytes("LMS signature", sig);
  if (sig.length < 8) throw new LmsError(`LMS signature of ${sig.length} bytes is too short`);
  const q = readU32(sig, 0);
  const otsType = readU32(sig, 4);
  if (otsType !== pub.ots.typecode) throw new LmsError(`LMS signature uses LM-OTS type ${otsType}, the public key ${pub.ots.name} (${pub.ots.typecode})`);
  const otsEnd = 4 + pub.ots.sigBytes;
  if (sig.length < otsEnd + 4) throw new LmsError(`LMS signature of ${sig.length} bytes is truncated (expected ${lmsSignatureBytes(pub.lms, pub.ots)})`);
  const type = readU32(sig, otsEnd);
  if (type !== pub.lms.typecode) throw new LmsError(`LMS signature uses LMS type ${type}, the public key ${pub.lms.name} (${pub.lms.typecode})`);
  const expected = lmsSignatureBytes(pub.lms, pub.ots);
  if (sig.length !== expected) throw new LmsError(`LMS signature must be ${expected} bytes for ${pub.lms.name}/${pub.ots.name}, got ${sig.length}`);
  const leaves = 2 ** pub.lms.h;
  if (q >= leaves) throw new LmsError(`LMS signature leaf q = ${q} is outside the tree (0..${leaves - 1})`);
  const kc = lmotsCandidate(sig.subarray(4, otsEnd), pub.ots.typecode, pub.I, q, message);
  let r = leaves + q;
  let tmp = leafHash(pub.I, r, kc);
  let at = otsEnd + 4;
  while (r > 1) {
    const sibling = sig.subarray(at, at + N);
    const parent = Math.floor(r / 2);
    tmp = r % 2 === 1 ? interiorHash(pub.I, parent, sibling, tmp) : interiorHash(pub.I, parent, tmp, sibling);
    r = parent;
    at += N;
  }
  if (!equalBytes(tmp, pub.root)) throw new LmsError("LMS signature does not verify: the computed root differs from the public key");
}

/** Algorithm 6: true when the signature verifies; false for any malformed or wrong signature. */
export function lmsVerify(publicKey: Uint8Array, message: Uint8Array, sig: Uint8Array): boolean {
  try {
    assertLmsSignature(publicKey, message, sig);
    return true;
  } catch (e) {
    if (e instanceof LmsError) return false;
    throw e;
  }
}

/** The leaf index q an LMS signature names (no verification). */
export function lmsSignatureLeaf(sig: Uint8Array): number {
  assertBytes("LMS signature", sig);
  if (sig.length < 4) throw new LmsError("LMS signature too short to hold q");
  return readU32(sig, 0);
}
