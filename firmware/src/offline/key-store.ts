// The carrier's offline signing key and its one-time-key bookkeeping: one write-once Storage file
// (docs/OFFLINE.md "Key file", STORAGE.md-style; the store v2 may host it as a record type later).
//
//   0     "KCO1"
//   4     u32be LMS type ‖ u32be LM-OTS type ‖ I (16) ‖ SEED (32)
//   60    u64be per-transaction limit ‖ u64be cumulative limit ‖ u32be expiry YYYYMMDD ‖ currency (3) ‖ 00
//         (the license's fields 5, 6, 7, 4: the carrier enforces them, PROTOCOL.md §11)
//   84    tree nodes T[2] … T[2^(h+1) − 1], 32 B each (lms.ts authPathOffsets)
//   K     u32 crc32(bytes 0 … K−1)                 K = 84 + (2^(h+1) − 2) × 32; written last at install
//   K+4   leaf slots, 2^h × 20 B: 00 ‖ amount u56be ‖ terminal id (8) ‖ date u32be  (all ff = leaf
//         unused): the reservation of the leaf IS the offline log entry (offline ATC = leaf + 1)
//   …     online marks, (2^h + 16) × 4 B: u16be leaf ‖ u16be (leaf xor ffff)  (all ff = unused)
//
// A one-time key is never used twice: reserveLeaf() writes the leaf's slot (one write call) and
// returns only after it; the signature is computed after that. Slots are taken in order, so the
// used ones are a prefix; a slot with ANY bit cleared counts as used (a torn write burns a leaf, it
// never frees one), and a torn amount reads as more than was paid (unwritten bytes are ff), so the
// cumulative offline amount can only be over-counted after a power cut, never under-counted.
// An online mark says "the carrier was online when leaf n was next": the cumulative offline amount
// is the sum over the leaves used since the last valid mark (a torn mark fails its check and is
// ignored: the older mark counts, again the pessimistic side).
import { lmsParams, otsParams, authPathOffsets, LMS_N, type LmsParams, type OtsParams } from "./lms.ts";
import { readU32, readU32be, readU64be, u32, u32be, u64be, chr, filled } from "../store/bytes.ts";
import { canCreate } from "../store/space.ts";
import { storeFull, type StoreEnv } from "../store/ports.ts";
import { raise } from "../raise.ts";

export const OFFLINE_KEY_FILE = "kc.olk";
export const OFFLINE_KEY_MAGIC = "KCO1";
export const KEY_HEADER_BYTES = 84;
export const LEAF_SLOT_BYTES = 20;
export const MARK_SLOT_BYTES = 4;
export const EXTRA_MARKS = 16;
// Storage.write pieces at install: one page's worth at most, so no single call holds 64 KB in RAM.
const INSTALL_PIECE = 2048;
const TWO_POW_32 = 4294967296;
const FREE_SLOT = /* @__PURE__ */ filled("\xff", LEAF_SLOT_BYTES);
const FREE_MARK = /* @__PURE__ */ filled("\xff", MARK_SLOT_BYTES);

/** What openOfflineKey() found, and the bookkeeping kept in RAM between payments. */
/** What personalisation installs (docs/OFFLINE.md "Key file"). */
export interface OfflineKeyInstall {
  lmsType: number; otsType: number; id: string; seed: string;
  perTxLimit: number; cumulativeLimit: number; expiry: number; currency: string;
  /** T[2] … T[2^(h+1) − 1] as the issuer computed them. */
  nodes: string;
}

export interface OfflineKey {
  perTxLimit: number; cumulativeLimit: number; expiry: number; currency: string;
  ots: OtsParams;
  lms: LmsParams;
  id: string;
  seed: string;
  /** Offsets of the leaf slots and of the online marks. */
  leafAt: number;
  markAt: number;
  marks: number;
  /** Next unused leaf (2^h: none left). */
  next: number;
  /** Next unused online-mark slot, and the leaf of the last valid mark (0: none yet). */
  nextMark: number;
  since: number;
  /** Offline amount authorized since the last online contact (minor units; over-counted after a torn write). */
  cumulative: number;
}

export function keyBytes(lms: LmsParams): number {
  return KEY_HEADER_BYTES + ((1 << (lms.h + 1)) - 2) * LMS_N;
}

export function offlineKeyFileBytes(lmsType: number): number {
  const lms = lmsParams(lmsType);
  const leaves = 1 << lms.h;
  return keyBytes(lms) + 4 + leaves * LEAF_SLOT_BYTES + (leaves + EXTRA_MARKS) * MARK_SLOT_BYTES;
}

/** The key section (bytes 0 … K−1: header and tree) the issuer sends, in order (PROTOCOL.md §11.5). */
export function encodeKeySection(k: OfflineKeyInstall): string {
  return OFFLINE_KEY_MAGIC + u32be(k.lmsType) + u32be(k.otsType) + k.id + k.seed +
    u64be(k.perTxLimit) + u64be(k.cumulativeLimit) + u32be(k.expiry) + k.currency + "\x00" + k.nodes;
}

/**
 * Writes one piece of the key section (OFFLINE_INSTALL, or installOfflineKey at once). Pieces come
 * in order: `expected` is where the next one must start (the caller keeps it, 0 at first; a piece
 * at 0 always starts again). The piece at offset 0 carries the header: it (re)creates the file,
 * sized for its LMS type. The CRC goes in after the last piece, so a cut install reads as no key.
 * Returns the next expected offset; the key section's length K when the key is sealed and opens.
 * The same piece again (a host retry) is accepted. Bad input raises the reason; no room: StoreFull.
 */
export function writeKeyPiece(env: StoreEnv, expected: number, offset: number, piece: string): number {
  const st = env.storage;
  let k = 0;
  if (offset === 0) {
    if (piece.length < KEY_HEADER_BYTES || piece.substr(0, 4) !== OFFLINE_KEY_MAGIC) raise("offline key: the first piece must hold the " + KEY_HEADER_BYTES + "-byte header");
    const lms = lmsParams(readU32be(piece, 4));
    otsParams(readU32be(piece, 8));
    k = keyBytes(lms);
    if (piece.length > k) raise("offline key: piece past the key section");
    if (expected === piece.length && st.read(OFFLINE_KEY_FILE, 0, piece.length) === piece) return expected;
    const size = offlineKeyFileBytes(lms.type);
    st.erase(OFFLINE_KEY_FILE);
    if (!canCreate(env, size)) storeFull("no room for the offline key (" + size + " B)");
    st.write(OFFLINE_KEY_FILE, piece, 0, size);
  } else {
    const head = st.read(OFFLINE_KEY_FILE, 0, KEY_HEADER_BYTES);
    if (expected === 0 || head === undefined || head.substr(0, 4) !== OFFLINE_KEY_MAGIC) raise("offline key: send the piece at offset 0 first");
    k = keyBytes(lmsParams(readU32be(head, 4)));
    if (offset + piece.length === expected && st.read(OFFLINE_KEY_FILE, offset, piece.length) === piece) return expected;
    if (offset !== expected) raise("offline key: expected the piece at " + expected);
    if (offset + piece.length > k) raise("offline key: piece past the key section");
    st.write(OFFLINE_KEY_FILE, piece, offset);
  }
  const next = offset + piece.length;
  if (next < k) return next;
  st.write(OFFLINE_KEY_FILE, u32(env.crc32(st.read(OFFLINE_KEY_FILE, 0, k)!)), k);
  if (openOfflineKey(env) === null) raise("offline key: the sealed key does not open");
  return k;
}

/** Installs the whole key at once (tests, and a host that has it in one piece): pieces in order. */
export function installOfflineKey(env: StoreEnv, k: OfflineKeyInstall): void {
  if (k.id.length !== 16 || k.seed.length !== LMS_N) raise("offline key: I must be 16 B and SEED 32 B");
  if (k.currency.length !== 3 || !(k.perTxLimit >= 0 && k.cumulativeLimit >= 0 && k.expiry >= 0)) raise("offline key: bad limits");
  const lms = lmsParams(k.lmsType);
  if (k.nodes.length !== keyBytes(lms) - KEY_HEADER_BYTES) raise("offline key: " + (keyBytes(lms) - KEY_HEADER_BYTES) + " B of tree nodes expected, got " + k.nodes.length);
  const section = encodeKeySection(k);
  let next = 0;
  while (next < section.length) next = writeKeyPiece(env, next, next, section.substr(next, INSTALL_PIECE));
}

export function eraseOfflineKey(env: StoreEnv): void {
  env.storage.erase(OFFLINE_KEY_FILE);
}

// First free slot of an area whose used slots are a prefix (binary search: log2(n) reads).
function firstFree(env: StoreEnv, at: number, slotBytes: number, count: number, free: string): number {
  let lo = 0, hi = count;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (env.storage.read(OFFLINE_KEY_FILE, at + mid * slotBytes, slotBytes) === free) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

/** Slot amount: 7 bytes big-endian after the 00 marker (a torn one reads high: its tail is ff). */
export interface OfflineLogEntry { atc: number; amount: number; terminalId: string; date: number }

function slotAmount(slot: string): number {
  return (readU32be(slot, 0) & 0xffffff) * TWO_POW_32 + readU32be(slot, 4);
}

/** Opens the installed key, or null (none, a torn install, a foreign file). */
export function openOfflineKey(env: StoreEnv): OfflineKey | null {
  const st = env.storage;
  const head = st.read(OFFLINE_KEY_FILE, 0, KEY_HEADER_BYTES);
  if (head === undefined || head.length !== KEY_HEADER_BYTES || head.substr(0, 4) !== OFFLINE_KEY_MAGIC) return null;
  const lmsType = readU32be(head, 4), otsType = readU32be(head, 8);
  if (!(lmsType >= 5 && lmsType <= 7) || !(otsType >= 1 && otsType <= 4)) return null;
  const lms = lmsParams(lmsType);
  const k = keyBytes(lms);
  // Storage.read with an offset gives a flash-backed string on a board: nothing 64 KB lands in RAM.
  const whole = st.read(OFFLINE_KEY_FILE);
  if (whole === undefined || whole.length !== offlineKeyFileBytes(lmsType)) return null;
  if (readU32(st.read(OFFLINE_KEY_FILE, k, 4)!, 0) !== env.crc32(st.read(OFFLINE_KEY_FILE, 0, k)!)) return null;
  const leaves = 1 << lms.h;
  const key: OfflineKey = {
    perTxLimit: readU64be(head, 60), cumulativeLimit: readU64be(head, 68), expiry: readU32be(head, 76), currency: head.substr(80, 3),
    ots: otsParams(otsType), lms: lms, id: head.substr(12, 16), seed: head.substr(28, 32),
    leafAt: k + 4, markAt: k + 4 + leaves * LEAF_SLOT_BYTES, marks: leaves + EXTRA_MARKS,
    next: 0, nextMark: 0, since: 0, cumulative: 0,
  };
  key.next = firstFree(env, key.leafAt, LEAF_SLOT_BYTES, leaves, FREE_SLOT);
  key.nextMark = firstFree(env, key.markAt, MARK_SLOT_BYTES, key.marks, FREE_MARK);
  // the newest mark whose check holds (a torn one does not)
  for (let m = key.nextMark - 1; m >= 0; m--) {
    const v = readU32be(st.read(OFFLINE_KEY_FILE, key.markAt + m * MARK_SLOT_BYTES, MARK_SLOT_BYTES)!, 0);
    if (((v >>> 16) ^ 0xffff) === (v & 0xffff)) {
      key.since = v >>> 16;
      break;
    }
  }
  for (let q = key.since; q < key.next; q++) key.cumulative += slotAmount(st.read(OFFLINE_KEY_FILE, key.leafAt + q * LEAF_SLOT_BYTES, LEAF_SLOT_BYTES)!);
  return key;
}

export function leavesLeft(key: OfflineKey): number {
  return (1 << key.lms.h) - key.next;
}

/**
 * Durably takes the next one-time key for a payment of `amount` at terminal `terminalId` (8 B) on
 * `date`: its slot (the offline log entry) is written in one call before this returns, so no
 * signature with leaf q can ever be made twice (the caller signs only after).
 * Returns q, or -1 when every leaf is used (OFFLINE_KEYS_EXHAUSTED).
 */
export function reserveLeaf(env: StoreEnv, key: OfflineKey, amount: number, terminalId: string, date: number): number {
  if (!(amount >= 0 && amount < 0x100000000000000)) raise("offline key: bad amount " + amount);
  if (terminalId.length !== 8) raise("offline key: terminal id must be 8 B");
  const q = key.next;
  if (q >= 1 << key.lms.h) return -1;
  const high = Math.floor(amount / TWO_POW_32);
  // RAM first: whatever the write does, this leaf is spent
  key.next = q + 1;
  key.cumulative += amount;
  env.storage.write(OFFLINE_KEY_FILE, chr(0, (high >>> 16) & 255, (high >>> 8) & 255, high & 255) + u32be(amount - high * TWO_POW_32) + terminalId + u32be(date), key.leafAt + q * LEAF_SLOT_BYTES);
  return q;
}

/** The offline log entry of leaf q (null: unused). A torn entry shows ff bytes: its amount reads high. */
export function offlineLogEntry(env: StoreEnv, key: OfflineKey, q: number): OfflineLogEntry | null {
  if (!(q >= 0 && q < key.next)) return null;
  const slot = env.storage.read(OFFLINE_KEY_FILE, key.leafAt + q * LEAF_SLOT_BYTES, LEAF_SLOT_BYTES)!;
  return { atc: q + 1, amount: slotAmount(slot), terminalId: slot.substr(8, 8), date: readU32be(slot, 16) };
}

/** The authentication path of leaf q, read out of the stored tree (h reads of 32 B). */
export function authPath(env: StoreEnv, key: OfflineKey, q: number): string {
  const offs = authPathOffsets(key.lms.h, q);
  let path = "";
  for (let i = 0; i < offs.length; i++) path += env.storage.read(OFFLINE_KEY_FILE, KEY_HEADER_BYTES + offs[i]!, LMS_N);
  return path;
}

/**
 * The carrier was online (an online PAY succeeded): the offline amount starts again from 0.
 * Writes a mark only when leaves were used since the last one. No room left (never in practice:
 * one mark per used leaf at most, plus 16 spare for torn ones): the amount is not reset, which is
 * the safe side (the carrier keeps asking to go online).
 */
export function markOnline(env: StoreEnv, key: OfflineKey): void {
  if (key.next === key.since || key.nextMark >= key.marks) return;
  const at = key.markAt + key.nextMark * MARK_SLOT_BYTES;
  key.nextMark++;
  env.storage.write(OFFLINE_KEY_FILE, chr(key.next >> 8, key.next & 255, (key.next >> 8) ^ 255, (key.next & 255) ^ 255), at);
  key.since = key.next;
  key.cumulative = 0;
}
