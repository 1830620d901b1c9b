// The crypto the firmware builds on: exactly what Espruino boards compute natively (facts §3),
// over byte strings (chars 0-255), injected so channel code runs unchanged under Node tests.
// HMAC-SHA256 is composed here from two native SHA-256 calls with precomputed padded keys, so no
// per-byte JavaScript runs per message (docs/CHANNEL.md §5).
import { chr } from "../store/bytes.ts";
import { raise } from "../raise.ts";

export interface CryptoPrimitives {
  /** SHA-256 of a byte string: 32-byte string. */
  sha256(bytes: string): string;
  /** AES-ECB encryption (AES-128 for 16-byte keys) of whole 16-byte blocks. */
  aesEcb(key: string, data: string): string;
  /** AES-CTR encryption with the counter block starting at 0 (the board ignores any IV; its CTR
   *  decrypt is wrong, so decryption is this same call). Any data length. */
  aesCtr0(key: string, data: string): string;
  /** n bytes from a cryptographically secure source (the board's hardware RNG). */
  random(n: number): string;
}

export const HMAC_BLOCK_BYTES = 64;

/** K⊕ipad and K⊕opad (RFC 2104), each one 64-byte SHA-256 block: computed once per key. */
export interface HmacPads { inner: string; outer: string }

// The only per-byte JavaScript loop in the channel: once per key (per session for session keys),
// never per message. Keys longer than a block are not needed by this firmware and are refused.
export function hmacPads(key: string): HmacPads {
  if (typeof key !== "string" || key.length < 16 || key.length > HMAC_BLOCK_BYTES) {
    raise("hmac: key must be 16-64 bytes, got " + (typeof key === "string" ? key.length : "a non-string"));
  }
  let inner = "";
  let outer = "";
  for (let i = 0; i < key.length; i++) {
    const k = key.charCodeAt(i);
    inner += chr(k ^ 0x36);
    outer += chr(k ^ 0x5c);
  }
  // Bytes past the key are zero, so their pads are the pad constants themselves.
  const rest = HMAC_BLOCK_BYTES - key.length;
  return { inner: inner + repeatByte("\x36", rest), outer: outer + repeatByte("\x5c", rest) };
}

function repeatByte(b: string, n: number): string {
  let s = "";
  while (s.length + 16 <= n) s += b + b + b + b + b + b + b + b + b + b + b + b + b + b + b + b;
  while (s.length < n) s += b;
  return s;
}

/** HMAC-SHA256(K, message) = SHA256(K⊕opad ‖ SHA256(K⊕ipad ‖ message)): two native calls. */
export function hmacSha256(prims: CryptoPrimitives, pads: HmacPads, message: string): string {
  return prims.sha256(pads.outer + prims.sha256(pads.inner + message));
}

// The big-endian packers live with the little-endian ones (store/bytes.ts); re-exported for callers.
export { readU32be, u32be } from "../store/bytes.ts";
