/**
 * HSS (RFC 8554 §6): L levels of LMS trees; each level's tree signs the public key of the tree
 * below, the bottom tree signs messages. Serialisations are RFC 8554's.
 *
 * Signing state is ONE counter: the global index n of the next one-time key. Level keys below the
 * top are derived from their parent's seed and the parent leaf that signs them, and the randomizer C
 * is derived too (lmots.ts), so the whole signature for index n is a pure function of (seed, I, n,
 * message): a restart recomputes exactly the trees and signatures it had. `HssSigner.sign` hands the
 * advanced state to the caller's `persist` BEFORE it computes the signature; if persisting throws,
 * no signature exists. A one-time key is therefore never used twice, provided the caller keeps only
 * the newest persisted state (never restores an older copy).
 */
import { LmsError, assertBytes, concat, readU32, u32str, writeU32 } from "./bytes.ts";
import { sha256 } from "./hash.ts";
import { LmsTree, assertLmsSignature, lmsSignatureLength, parseLmsPublicKey, type LmsPublicKey, type LmsTreeOptions } from "./lms.ts";
import { I_BYTES, LMS_PUBLIC_KEY_BYTES, SEED_BYTES, lmotsParams, lmsParams, lmsSignatureBytes, type LmotsParams, type LmsParams } from "./params.ts";

export interface HssLevel { readonly lms: LmsParams; readonly ots: LmotsParams }

/** RFC 8554 §6: 1 ≤ L ≤ 8. */
export const MAX_LEVELS = 8;
/** The global index is a JS number: the levels' heights may add up to 48 at most (2^48 signatures). */
export const MAX_TOTAL_HEIGHT = 48;

/** What a private HSS key is: parameters, top SEED and I, and the index of the next unused one-time key. */
export interface HssPrivateState {
  readonly levels: readonly HssLevel[];
  readonly seed: Uint8Array;
  readonly I: Uint8Array;
  readonly next: number;
}

const STATE_MAGIC = new TextEncoder().encode("KC-HSS-PRIV-1");
/** Child-key derivation indices, next to Appendix A's q / i / 0xff layout (values no chain index i reaches). */
const CHILD_SEED = 0xfffe;
const CHILD_I = 0xffff;

export function checkLevels(levels: readonly HssLevel[]): void {
  if (!Array.isArray(levels) || levels.length < 1 || levels.length > MAX_LEVELS) throw new LmsError(`HSS needs 1..${MAX_LEVELS} levels, got ${Array.isArray(levels) ? levels.length : typeof levels}`);
  let total = 0;
  for (const level of levels) {
    lmsParams(level.lms.typecode);
    lmotsParams(level.ots.typecode);
    total += level.lms.h;
  }
  if (total > MAX_TOTAL_HEIGHT) throw new LmsError(`HSS levels add up to height ${total}: this library counts signatures in a JS number, at most height ${MAX_TOTAL_HEIGHT}`);
}

/** Signatures an HSS key can make: 2^(h1+…+hL). */
export function hssCapacity(levels: readonly HssLevel[]): number {
  checkLevels(levels);
  return 2 ** levels.reduce((s, l) => s + l.lms.h, 0);
}

/** HSS signature bytes (§6.2): u32 Nspk + per lower level (LMS signature + LMS public key) + the bottom LMS signature. */
export function hssSignatureBytes(levels: readonly HssLevel[]): number {
  checkLevels(levels);
  let n = 4;
  for (let i = 0; i < levels.length; i++) n += lmsSignatureBytes(levels[i]!.lms, levels[i]!.ots) + (i > 0 ? LMS_PUBLIC_KEY_BYTES : 0);
  return n;
}

export const HSS_PUBLIC_KEY_BYTES = 4 + LMS_PUBLIC_KEY_BYTES;

function u16(n: number): Uint8Array {
  return Uint8Array.of(n >>> 8, n & 0xff);
}

/** The SEED and I of the tree that leaf q of a parent tree signs. */
export function childKey(parentI: Uint8Array, parentSeed: Uint8Array, q: number): { seed: Uint8Array; I: Uint8Array } {
  const seed = sha256(concat(parentI, u32str(q), u16(CHILD_SEED), Uint8Array.of(0xff), parentSeed));
  const I = sha256(concat(parentI, u32str(q), u16(CHILD_I), Uint8Array.of(0xff), parentSeed)).slice(0, I_BYTES);
  return { seed, I };
}

/** Splits global index n into each level's leaf q (top first). */
export function levelIndices(levels: readonly HssLevel[], n: number): number[] {
  const qs = new Array<number>(levels.length);
  let rest = n;
  for (let i = levels.length - 1; i >= 0; i--) {
    const leaves = 2 ** levels[i]!.lms.h;
    qs[i] = rest % leaves;
    rest = Math.floor(rest / leaves);
  }
  return qs;
}

export function serialiseHssState(state: HssPrivateState): Uint8Array {
  checkLevels(state.levels);
  assertBytes("SEED", state.seed, SEED_BYTES);
  assertBytes("I", state.I, I_BYTES);
  const out = new Uint8Array(STATE_MAGIC.length + 4 + state.levels.length * 8 + SEED_BYTES + I_BYTES + 8);
  out.set(STATE_MAGIC);
  let at = STATE_MAGIC.length;
  writeU32(out, at, state.levels.length);
  at += 4;
  for (const l of state.levels) {
    writeU32(out, at, l.lms.typecode);
    writeU32(out, at + 4, l.ots.typecode);
    at += 8;
  }
  out.set(state.seed, at);
  at += SEED_BYTES;
  out.set(state.I, at);
  at += I_BYTES;
  writeU32(out, at, Math.floor(state.next / 2 ** 32));
  writeU32(out, at + 4, state.next % 2 ** 32);
  return out;
}

export function parseHssState(bytes: Uint8Array): HssPrivateState {
  assertBytes("HSS private state", bytes);
  const magicOk = bytes.length > STATE_MAGIC.length && STATE_MAGIC.every((b, i) => bytes[i] === b);
  if (!magicOk) throw new LmsError("not an HSS private state (magic KC-HSS-PRIV-1 missing)");
  let at = STATE_MAGIC.length;
  const L = readU32(bytes, at);
  at += 4;
  if (L < 1 || L > MAX_LEVELS) throw new LmsError(`HSS private state names ${L} levels`);
  const expected = STATE_MAGIC.length + 4 + L * 8 + SEED_BYTES + I_BYTES + 8;
  if (bytes.length !== expected) throw new LmsError(`HSS private state must be ${expected} bytes for ${L} levels, got ${bytes.length}`);
  const levels: HssLevel[] = [];
  for (let i = 0; i < L; i++, at += 8) levels.push({ lms: lmsParams(readU32(bytes, at)), ots: lmotsParams(readU32(bytes, at + 4)) });
  checkLevels(levels);
  const seed = bytes.slice(at, at + SEED_BYTES);
  at += SEED_BYTES;
  const I = bytes.slice(at, at + I_BYTES);
  at += I_BYTES;
  const next = readU32(bytes, at) * 2 ** 32 + readU32(bytes, at + 4);
  if (next > hssCapacity(levels)) throw new LmsError(`HSS private state's next index ${next} is beyond the key's ${hssCapacity(levels)} signatures`);
  return { levels, seed, I, next };
}

/** A new HSS private state from a 32-byte SEED and 16-byte I (random ones in production). */
export function hssKeyFromSeed(levels: readonly HssLevel[], seed: Uint8Array, I: Uint8Array): HssPrivateState {
  checkLevels(levels);
  assertBytes("SEED", seed, SEED_BYTES);
  assertBytes("I", I, I_BYTES);
  return { levels: levels.map((l) => ({ lms: l.lms, ots: l.ots })), seed: seed.slice(), I: I.slice(), next: 0 };
}

/** Signs with an HSS private state, keeping the trees of the current path in memory. */
export class HssSigner {
  private state: HssPrivateState;
  /** trees[i] with the parent leaf that signs it (undefined for the top). */
  private readonly trees: Array<{ tree: LmsTree; parentQ: number | undefined } | undefined>;
  readonly publicKey: Uint8Array;

  /** Builds the top tree now (the cost of key generation: 2^h1 LM-OTS keys). */
  constructor(state: HssPrivateState | Uint8Array, private readonly treeOptions: LmsTreeOptions = {}) {
    this.state = state instanceof Uint8Array ? parseHssState(state) : parseHssState(serialiseHssState(state));
    this.trees = new Array(this.state.levels.length).fill(undefined);
    const top = this.state.levels[0]!;
    this.trees[0] = { tree: new LmsTree(top.lms, top.ots, this.state.I, this.state.seed, treeOptions), parentQ: undefined };
    this.publicKey = concat(u32str(this.state.levels.length), this.trees[0].tree.publicKey);
  }

  get levels(): readonly HssLevel[] {
    return this.state.levels;
  }

  /** Index of the next one-time key. */
  get next(): number {
    return this.state.next;
  }

  get capacity(): number {
    return hssCapacity(this.state.levels);
  }

  get remaining(): number {
    return this.capacity - this.state.next;
  }

  /** The current private state (serialised): what a caller persists. */
  get serialisedState(): Uint8Array {
    return serialiseHssState(this.state);
  }

  /** The tree at `level` for global index path `qs`, building it (and those above) when the path moved. */
  private treeAt(level: number, qs: number[]): LmsTree {
    const have = this.trees[level];
    if (level === 0) return have!.tree;
    this.treeAt(level - 1, qs);
    const parentQ = qs[level - 1]!;
    if (have && have.parentQ === parentQ) return have.tree; // (a rebuilt parent drops its children below)
    const parentSeedI = level === 1 ? { seed: this.state.seed, I: this.state.I } : this.childSeeds[level - 1]!;
    const child = childKey(parentSeedI.I, parentSeedI.seed, parentQ);
    this.childSeeds[level] = child;
    const l = this.state.levels[level]!;
    const tree = new LmsTree(l.lms, l.ots, child.I, child.seed, this.treeOptions);
    this.trees[level] = { tree, parentQ };
    // Everything below hangs off this tree: drop it.
    for (let i = level + 1; i < this.trees.length; i++) this.trees[i] = undefined;
    return tree;
  }

  private readonly childSeeds: Array<{ seed: Uint8Array; I: Uint8Array } | undefined> = [];

  /**
   * Signs `message` with the next one-time key. `persist` receives the serialised state with the
   * index already advanced and must store it durably (synchronously) before returning; if it
   * throws, no signature is made and the in-memory index does not advance either.
   */
  sign(message: Uint8Array, persist: (state: Uint8Array) => void): Uint8Array {
    assertBytes("message", message);
    if (typeof persist !== "function") throw new LmsError("HssSigner.sign needs a persist callback: the advanced index must be stored before a signature exists");
    const n = this.state.next;
    if (n >= this.capacity) throw new LmsError(`HSS key exhausted: all ${this.capacity} one-time keys are used — issue a new key`);
    const advanced: HssPrivateState = { ...this.state, next: n + 1 };
    persist(serialiseHssState(advanced));
    this.state = advanced;
    return this.signAt(n, message);
  }

  private signAt(n: number, message: Uint8Array): Uint8Array {
    const qs = levelIndices(this.state.levels, n);
    const L = this.state.levels.length;
    const parts: Uint8Array[] = [u32str(L - 1)];
    for (let i = 1; i < L; i++) {
      const child = this.treeAt(i, qs);
      const parent = this.treeAt(i - 1, qs);
      const childPub = child.publicKey;
      parts.push(parent.sign(qs[i - 1]!, childPub), childPub);
    }
    parts.push(this.treeAt(L - 1, qs).sign(qs[L - 1]!, message));
    return concat(...parts);
  }
}

/** A parsed HSS signature: the leaf index of every level and the signed public keys. */
export interface HssSignatureInfo {
  levels: HssLevel[];
  /** Leaf q of each level, top first. */
  qs: number[];
  /** The global one-time key index these qs name (unique per key: a reused leaf shows as a repeated index). */
  index: number;
}

export function parseHssPublicKey(key: Uint8Array): { L: number; lmsKey: Uint8Array } {
  assertBytes("HSS public key", key);
  if (key.length !== HSS_PUBLIC_KEY_BYTES) throw new LmsError(`HSS public key must be ${HSS_PUBLIC_KEY_BYTES} bytes, got ${key.length}`);
  const L = readU32(key, 0);
  if (L < 1 || L > MAX_LEVELS) throw new LmsError(`HSS public key names ${L} levels (RFC 8554 allows 1..${MAX_LEVELS})`);
  const lmsKey = key.slice(4);
  parseLmsPublicKey(lmsKey);
  return { L, lmsKey };
}

/**
 * Algorithm 8 (§6.3): verifies an HSS signature; throws LmsError with the reason when it is
 * malformed or does not verify. Returns the leaf indices it used.
 */
export function assertHssSignature(publicKey: Uint8Array, message: Uint8Array, sig: Uint8Array): HssSignatureInfo {
  const { L, lmsKey } = parseHssPublicKey(publicKey);
  assertBytes("message", message);
  assertBytes("HSS signature", sig);
  if (sig.length < 4) throw new LmsError(`HSS signature of ${sig.length} bytes is too short`);
  const nspk = readU32(sig, 0);
  if (nspk + 1 !== L) throw new LmsError(`HSS signature has ${nspk} signed public keys, the ${L}-level public key needs ${L - 1}`);
  let key = lmsKey;
  let at = 4;
  const levels: HssLevel[] = [];
  const qs: number[] = [];
  for (let i = 0; i < L; i++) {
    let signed: Uint8Array;
    let lmsSig: Uint8Array;
    let pub: LmsPublicKey;
    try {
      pub = parseLmsPublicKey(key);
      const len = lmsSignatureLength(sig, at);
      if (sig.length - at < len) throw new LmsError(`truncated: ${sig.length - at} bytes left, ${len} needed`);
      lmsSig = sig.subarray(at, at + len);
      at += len;
      if (i < L - 1) {
        if (sig.length - at < LMS_PUBLIC_KEY_BYTES) throw new LmsError(`truncated in the next level's public key`);
        signed = sig.subarray(at, at + LMS_PUBLIC_KEY_BYTES);
        at += LMS_PUBLIC_KEY_BYTES;
      } else {
        if (at !== sig.length) throw new LmsError(`${sig.length - at} trailing bytes after the signature`);
        signed = message;
      }
      assertLmsSignature(pub, signed, lmsSig);
    } catch (e) {
      if (e instanceof LmsError) throw new LmsError(`HSS signature, level ${i + 1} of ${L}: ${e.message}`);
      throw e;
    }
    levels.push({ lms: pub.lms, ots: pub.ots });
    qs.push(readU32(lmsSig, 0));
    key = signed;
  }
  let index = 0;
  for (let i = 0; i < L; i++) index = index * 2 ** levels[i]!.lms.h + qs[i]!;
  return { levels, qs, index };
}

/** True when the HSS signature verifies; false for any malformed or wrong signature or key. */
export function hssVerify(publicKey: Uint8Array, message: Uint8Array, sig: Uint8Array): boolean {
  try {
    assertHssSignature(publicKey, message, sig);
    return true;
  } catch (e) {
    if (e instanceof LmsError) return false;
    throw e;
  }
}
