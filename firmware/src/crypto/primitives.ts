// The crypto the firmware builds on: exactly what Espruino boards compute natively (facts §3),
// over byte strings (chars 0-255), injected so channel code runs unchanged under Node tests.
// HMAC-SHA256 is composed here from two native SHA-256 calls with precomputed padded keys, so no
// per-byte JavaScript runs per message (docs/CHANNEL.md §5).
import { chr, filled } from "../store/bytes.ts";
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
const IPAD_BLOCK = filled("\x36", HMAC_BLOCK_BYTES);
const OPAD_BLOCK = filled("\x5c", HMAC_BLOCK_BYTES);

/** K⊕ipad and K⊕opad (RFC 2104), each one 64-byte SHA-256 block: computed once per key. */
export interface HmacPads { inner: string; outer: string }

// Keys past a block are not needed by this firmware and are refused. Once per key (per session for
// session keys), never per message: four key bytes per loop step, because on the board each
// statement costs ~0.2 ms and the loop step itself as much again (a byte per step cost ~36 ms for a
// 32-byte key; four per step ~12 ms; eight would save ~3 ms more for ~130 more bundle bytes).
export function hmacPads(key: string): HmacPads {
  if (typeof key !== "string" || key.length < 16 || key.length > HMAC_BLOCK_BYTES) {
    raise("hmac: key must be 16-64 bytes");
  }
  let inner = "";
  let outer = "";
  // A step may read up to 3 bytes past the key: charCodeAt gives NaN there (0 on some engines), and
  // both XOR to the pad byte itself, which is what the zero bytes past the key must give.
  for (let i = 0; i < key.length; i += 4) {
    const a = key.charCodeAt(i), b = key.charCodeAt(i + 1), c = key.charCodeAt(i + 2), d = key.charCodeAt(i + 3);
    inner += chr(a ^ 0x36, b ^ 0x36, c ^ 0x36, d ^ 0x36);
    outer += chr(a ^ 0x5c, b ^ 0x5c, c ^ 0x5c, d ^ 0x5c);
  }
  // The rest of the block is zero bytes, so its pads are the pad constants themselves.
  return { inner: inner + IPAD_BLOCK.substr(inner.length), outer: outer + OPAD_BLOCK.substr(outer.length) };
}

/** HMAC-SHA256(K, message) = SHA256(K⊕opad ‖ SHA256(K⊕ipad ‖ message)): two native calls. */
export function hmacSha256(prims: CryptoPrimitives, pads: HmacPads, message: string): string {
  return prims.sha256(pads.outer + prims.sha256(pads.inner + message));
}

// The big-endian packers live with the little-endian ones (store/bytes.ts); re-exported for callers.
export { readU32be, u32be } from "../store/bytes.ts";
