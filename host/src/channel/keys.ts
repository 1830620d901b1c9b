// Per-carrier key diversification and the authorization cryptogram, platform side (docs/CHANNEL.md
// §2 and §7). Byte layouts here are normative and mirrored byte for byte by
// firmware/src/channel/cryptogram.ts; firmware/vectors/channel.json pins both.
import { hmac } from "@noble/hashes/hmac.js";
import { sha256 } from "@noble/hashes/sha2.js";

export const ISSUER_MASTER_KEY_BYTES = 32;
export const CARRIER_ID_MIN_BYTES = 4;
export const CARRIER_ID_MAX_BYTES = 32;
export const CHANNEL_KEY_BYTES = 32;
export const CRYPTOGRAM_KEY_BYTES = 32;
export const CRYPTOGRAM_BYTES = 16;
export const ID_FIELD_MAX_BYTES = 64;
export const MAX_AMOUNT = 9007199254740991; // 2^53 - 1: the firmware never computes beyond it
export const MAX_ATC = 0xffffffff;

const ascii = (s: string): Uint8Array => Uint8Array.from(s, (c) => c.charCodeAt(0));

export function concatBytes(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) { out.set(p, at); at += p.length; }
  return out;
}

export function hmacSha256(key: Uint8Array, message: Uint8Array): Uint8Array {
  return hmac(sha256, key, message);
}

// Compares without an early exit, so the time does not reveal where two MACs first differ.
export function constantTimeEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a[i]! ^ b[i]!;
  return diff === 0;
}

function assertBytes(value: unknown, what: string, min: number, max: number): asserts value is Uint8Array {
  if (!(value instanceof Uint8Array)) throw new TypeError(`${what} must be a Uint8Array, got ${typeof value}`);
  if (value.length < min || value.length > max) {
    throw new RangeError(`${what} must be ${min === max ? min : `${min}-${max}`} bytes, got ${value.length}`);
  }
}

export function assertCarrierId(carrierId: Uint8Array): void {
  assertBytes(carrierId, "carrierId", CARRIER_ID_MIN_BYTES, CARRIER_ID_MAX_BYTES);
}

export interface CarrierKeys {
  /** Static key of the secure channel: mutual authentication and session-key derivation (§3). */
  channelKey: Uint8Array;
  /** Key of the authorization cryptogram (§7); never used for anything else. */
  cryptogramKey: Uint8Array;
}

// K = HMAC-SHA256(IMK, "KeyCarrier v1 " ‖ label ‖ 0x00 ‖ len(carrierId) ‖ carrierId): one PRF call
// per key, a label per purpose so no key doubles as another, the length prefix so no two
// (label, id) pairs share an input.
export function diversifyKey(issuerMasterKey: Uint8Array, carrierId: Uint8Array, label: string): Uint8Array {
  assertBytes(issuerMasterKey, "issuerMasterKey", ISSUER_MASTER_KEY_BYTES, ISSUER_MASTER_KEY_BYTES);
  assertCarrierId(carrierId);
  if (!/^[a-z]{1,32}$/.test(label)) throw new RangeError(`key label must be 1-32 lowercase letters, got ${JSON.stringify(label)}`);
  return hmacSha256(issuerMasterKey, concatBytes(ascii(`KeyCarrier v1 ${label}`), Uint8Array.of(0, carrierId.length), carrierId));
}

export function diversifyCarrierKeys(issuerMasterKey: Uint8Array, carrierId: Uint8Array): CarrierKeys {
  return {
    channelKey: diversifyKey(issuerMasterKey, carrierId, "channel"),
    cryptogramKey: diversifyKey(issuerMasterKey, carrierId, "cryptogram"),
  };
}

export interface AuthorizationFields {
  carrierId: Uint8Array;     // 4-32 bytes
  orderId: Uint8Array;       // 1-64 bytes, as the platform issued it
  merchantId: Uint8Array;    // 1-64 bytes
  amount: number;            // minor units (cents), integer 0 … 2^53−1
  currency: string;          // ISO 4217 alphabetic code, e.g. "EUR"
  atc: number;               // application transaction counter, 1 … 2^32−1, strictly increasing per carrier
}

export function assertAuthorizationFields(f: AuthorizationFields): void {
  assertCarrierId(f.carrierId);
  assertBytes(f.orderId, "orderId", 1, ID_FIELD_MAX_BYTES);
  assertBytes(f.merchantId, "merchantId", 1, ID_FIELD_MAX_BYTES);
  if (!Number.isSafeInteger(f.amount) || f.amount < 0) throw new RangeError(`amount must be an integer 0…2^53−1 in minor units, got ${f.amount}`);
  if (!/^[A-Z]{3}$/.test(f.currency)) throw new RangeError(`currency must be an ISO 4217 code of 3 capital letters, got ${JSON.stringify(f.currency)}`);
  if (!Number.isInteger(f.atc) || f.atc < 1 || f.atc > MAX_ATC) throw new RangeError(`atc must be an integer 1…${MAX_ATC}, got ${f.atc}`);
}

// "KCAC" ‖ 0x01 ‖ len‖carrierId ‖ len‖orderId ‖ len‖merchantId ‖ amount u64 BE ‖ currency 3 B ‖ atc u32 BE
export function authorizationMessage(f: AuthorizationFields): Uint8Array {
  assertAuthorizationFields(f);
  const tail = new Uint8Array(15);
  const view = new DataView(tail.buffer);
  view.setUint32(0, Math.floor(f.amount / 0x100000000));
  view.setUint32(4, f.amount % 0x100000000);
  tail.set(ascii(f.currency), 8);
  view.setUint32(11, f.atc);
  return concatBytes(
    ascii("KCAC"), Uint8Array.of(1),
    Uint8Array.of(f.carrierId.length), f.carrierId,
    Uint8Array.of(f.orderId.length), f.orderId,
    Uint8Array.of(f.merchantId.length), f.merchantId,
    tail,
  );
}

export function computeAuthorizationCryptogram(cryptogramKey: Uint8Array, f: AuthorizationFields): Uint8Array {
  assertBytes(cryptogramKey, "cryptogramKey", CRYPTOGRAM_KEY_BYTES, CRYPTOGRAM_KEY_BYTES);
  return hmacSha256(cryptogramKey, authorizationMessage(f)).slice(0, CRYPTOGRAM_BYTES);
}

/** What the platform already knows about this carrier, from its ledger. */
export interface CryptogramHistory {
  /**
   * True if this carrier's ATC was already accepted with an authorization. Uniqueness, not "above the
   * highest": a carrier answers a repeated order with its ORIGINAL ATC (PROTOCOL.md §7.5), so a host
   * that lost that reply and paid a newer order meanwhile submits a lower ATC that was never used.
   * The cryptogram binds order and ATC, each order settles once and each ATC once per carrier, so a
   * lower unused ATC replays nothing.
   */
  atcUsed: boolean;
  /** True if an authorization for this order was already accepted (from any carrier). */
  orderAlreadyAuthorized: boolean;
}

export type CryptogramVerdict =
  | { ok: true }
  | { ok: false; reason: "bad-cryptogram" | "atc-replayed" | "order-already-authorized"; detail: string };

// Checks the MAC first, so a forged request learns nothing about the ledger. The caller must record
// (carrierId, atc, orderId) atomically with the settlement it authorises (exactly-once).
export function verifyAuthorizationCryptogram(
  cryptogramKey: Uint8Array, f: AuthorizationFields, cryptogram: Uint8Array, history: CryptogramHistory,
): CryptogramVerdict {
  const expected = computeAuthorizationCryptogram(cryptogramKey, f);
  if (!(cryptogram instanceof Uint8Array) || !constantTimeEqual(expected, cryptogram)) {
    return { ok: false, reason: "bad-cryptogram", detail: "the cryptogram does not match these fields under this carrier's key: altered amount, payee, order or counter, or the wrong carrier" };
  }
  if (history.atcUsed) {
    return { ok: false, reason: "atc-replayed", detail: `ATC ${f.atc} of this carrier was already accepted: a replayed authorization` };
  }
  if (history.orderAlreadyAuthorized) {
    return { ok: false, reason: "order-already-authorized", detail: "this order already has an accepted authorization; it settles once" };
  }
  return { ok: true };
}
