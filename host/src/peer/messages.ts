/**
 * The peer payment's byte layouts and seal, platform and host side (PROTOCOL.md §12, docs/PEER.md §3):
 * byte for byte firmware/src/peer/messages.ts; firmware/vectors/peer.json pins both.
 *   R      = "KCPR" ‖ 01 ‖ u8 len ‖ payee id ‖ u64 amount ‖ currency(3) ‖ u32 expiry ‖ nonce(16)
 *   I      = "KCPI" ‖ 01 ‖ u8 len ‖ payer id ‖ SHA-256(R) ‖ u64 amount ‖ currency(3) ‖ u32 ATC
 *   header = "KCPS" ‖ 01 ‖ u8 kind ‖ u8 len ‖ carrier id ‖ u8 len ‖ id       (id: R's nonce | u32 ATC)
 *   sealed = header ‖ AES-128-CTR(K_msg, P) ‖ HMAC(K_peer, 02 ‖ header ‖ C)[0:16]
 *   K_msg  = HMAC(K_peer, 01 ‖ header)[0:16];   K_peer = HMAC(K_ac, "KeyCarrier v1 peer key")
 */
import { createCipheriv, createHash, createHmac, timingSafeEqual } from "node:crypto";

export const PEER_KEY_LABEL = "KeyCarrier v1 peer key";
export const KIND_REQUEST = 1;
export const KIND_INSTRUCTION = 2;
export const NONCE_BYTES = 16;
export const DIGEST_BYTES = 32;
export const TAG_BYTES = 16;
export const MIN_PARTY_ID = 4;
export const MAX_PARTY_ID = 16;
export const MAX_AMOUNT = Number.MAX_SAFE_INTEGER;

const ascii = (s: string): Uint8Array => Uint8Array.from(s, (c) => c.charCodeAt(0) & 0xff);
const cat = (...parts: Uint8Array[]): Uint8Array => new Uint8Array(Buffer.concat(parts));
const u8 = (n: number): Uint8Array => Uint8Array.of(n);
function u32(n: number): Uint8Array {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n);
  return b;
}
function u64(n: number): Uint8Array {
  const b = Buffer.alloc(8);
  b.writeUInt32BE(Math.floor(n / 2 ** 32));
  b.writeUInt32BE(n % 2 ** 32, 4);
  return b;
}
const readU32 = (b: Uint8Array, at: number): number => Buffer.from(b.buffer, b.byteOffset, b.byteLength).readUInt32BE(at);
const readU64 = (b: Uint8Array, at: number): number => readU32(b, at) * 2 ** 32 + readU32(b, at + 4);
const hmac = (k: Uint8Array, m: Uint8Array): Uint8Array => new Uint8Array(createHmac("sha256", k).update(m).digest());
const same = (a: Uint8Array, b: Uint8Array): boolean => a.length === b.length && Buffer.from(a).equals(Buffer.from(b));

/** Why a peer message was refused: the platform's HTTP reason. */
export class PeerMessageError extends Error {
  constructor(readonly reason: "bad-seal" | "bad-request" | "bad-instruction", message: string) {
    super(message);
    this.name = "PeerMessageError";
  }
}

export interface PeerRequest { payeeId: Uint8Array; amount: number; currency: string; expiry: number; nonce: Uint8Array }
export interface PeerInstruction { payerId: Uint8Array; digest: Uint8Array; amount: number; currency: string; atc: number }

export function peerKey(cryptogramKey: Uint8Array): Uint8Array {
  return hmac(cryptogramKey, ascii(PEER_KEY_LABEL));
}

export function sha256(b: Uint8Array): Uint8Array {
  return new Uint8Array(createHash("sha256").update(b).digest());
}

export function encodeRequest(r: PeerRequest): Uint8Array {
  return cat(ascii("KCPR"), u8(1), u8(r.payeeId.length), r.payeeId, u64(r.amount), ascii(r.currency), u32(r.expiry), r.nonce);
}

/** R as any side receives it; throws PeerMessageError("bad-request") unless a well-formed v1 request. */
export function parseRequest(b: Uint8Array): PeerRequest {
  const bad = (why: string): never => { throw new PeerMessageError("bad-request", `not a peer request: ${why}`); };
  if (b.length < 6 || !same(b.subarray(0, 4), ascii("KCPR")) || b[4] !== 1) bad("magic or format");
  const n = b[5]!;
  if (n < MIN_PARTY_ID || n > MAX_PARTY_ID || b.length !== 6 + n + 31) bad("length");
  const at = 6 + n;
  const amount = readU64(b, at);
  const currency = Buffer.from(b.subarray(at + 8, at + 11)).toString("latin1");
  const expiry = readU32(b, at + 11);
  if (amount < 1 || amount > MAX_AMOUNT) bad("amount");
  if (!/^[A-Z]{3}$/.test(currency)) bad("currency");
  if (expiry < 1) bad("expiry");
  return { payeeId: b.slice(6, at), amount, currency, expiry, nonce: b.slice(at + 15, at + 31) };
}

export function encodeInstruction(i: PeerInstruction): Uint8Array {
  return cat(ascii("KCPI"), u8(1), u8(i.payerId.length), i.payerId, i.digest, u64(i.amount), ascii(i.currency), u32(i.atc));
}

export function parseInstruction(b: Uint8Array): PeerInstruction {
  const bad = (why: string): never => { throw new PeerMessageError("bad-instruction", `not a peer instruction: ${why}`); };
  if (b.length < 6 || !same(b.subarray(0, 4), ascii("KCPI")) || b[4] !== 1) bad("magic or format");
  const n = b[5]!;
  if (n < MIN_PARTY_ID || n > MAX_PARTY_ID || b.length !== 6 + n + DIGEST_BYTES + 15) bad("length");
  const at = 6 + n + DIGEST_BYTES;
  const amount = readU64(b, at);
  const currency = Buffer.from(b.subarray(at + 8, at + 11)).toString("latin1");
  const atc = readU32(b, at + 11);
  if (amount < 1 || amount > MAX_AMOUNT || !/^[A-Z]{3}$/.test(currency) || atc < 1) bad("fields");
  return { payerId: b.slice(6, 6 + n), digest: b.slice(6 + n, at), amount, currency, atc };
}

function header(kind: number, carrierId: Uint8Array, id: Uint8Array): Uint8Array {
  return cat(ascii("KCPS"), u8(1), u8(kind), u8(carrierId.length), carrierId, u8(id.length), id);
}

function ctr0(key: Uint8Array, data: Uint8Array): Uint8Array {
  const c = createCipheriv("aes-128-ctr", key, Buffer.alloc(16));
  return new Uint8Array(Buffer.concat([c.update(data), c.final()]));
}

/** What a carrier does (tests and attack rigs play a carrier with it). */
export function sealPeer(kpeer: Uint8Array, kind: number, carrierId: Uint8Array, id: Uint8Array, plain: Uint8Array): Uint8Array {
  const h = header(kind, carrierId, id);
  const c = ctr0(hmac(kpeer, cat(u8(1), h)).subarray(0, 16), plain);
  return cat(h, c, hmac(kpeer, cat(u8(2), h, c)).subarray(0, TAG_BYTES));
}

export interface SealHeader { kind: number; carrierId: Uint8Array; id: Uint8Array; length: number }

/** The clear header: who sealed it (which key opens it) and its id. Nothing in it is trusted before open(). */
export function sealHeader(sealed: Uint8Array): SealHeader {
  const bad = (): never => { throw new PeerMessageError("bad-seal", "not a sealed peer message (KCPS v1)"); };
  if (sealed.length < 8 || !same(sealed.subarray(0, 4), ascii("KCPS")) || sealed[4] !== 1) bad();
  const kind = sealed[5]!;
  const n = sealed[6]!;
  if ((kind !== KIND_REQUEST && kind !== KIND_INSTRUCTION) || n < MIN_PARTY_ID || n > MAX_PARTY_ID || sealed.length < 8 + n) bad();
  const idLen = sealed[7 + n]!;
  if (idLen !== (kind === KIND_REQUEST ? NONCE_BYTES : 4)) bad();
  const length = 8 + n + idLen;
  if (sealed.length < length + 1 + TAG_BYTES) bad();
  return { kind, carrierId: sealed.slice(7, 7 + n), id: sealed.slice(8 + n, length), length };
}

/** Checks the tag in constant time, then decrypts. Throws PeerMessageError("bad-seal") for any alteration. */
export function openPeer(kpeer: Uint8Array, sealed: Uint8Array): { header: SealHeader; plain: Uint8Array } {
  const h = sealHeader(sealed);
  const hdr = sealed.subarray(0, h.length);
  const c = sealed.subarray(h.length, sealed.length - TAG_BYTES);
  const tag = sealed.subarray(sealed.length - TAG_BYTES);
  const expected = hmac(kpeer, cat(u8(2), hdr, c)).subarray(0, TAG_BYTES);
  if (!timingSafeEqual(expected, tag)) throw new PeerMessageError("bad-seal", "the seal does not verify under this carrier's peer key: altered, truncated or not this carrier's");
  return { header: h, plain: ctr0(hmac(kpeer, cat(u8(1), hdr)).subarray(0, 16), c) };
}

export const instructionId = (atc: number): Uint8Array => u32(atc);
