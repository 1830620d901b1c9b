// The crypto the firmware builds on: exactly what Espruino boards compute natively (facts §3),
// over byte strings (chars 0-255), injected so channel code runs unchanged under Node tests.
// HMAC-SHA256 is composed here from two native SHA-256 calls with precomputed padded keys, so no
// per-byte JavaScript runs per message (docs/CHANNEL.md §5).
import { filled } from "../store/bytes.ts";
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
const ZERO_BLOCK = /* @__PURE__ */ filled("\x00", HMAC_BLOCK_BYTES);

/** K⊕ipad and K⊕opad (RFC 2104), each one 64-byte SHA-256 block: computed once per key. */
export interface HmacPads { inner: string; outer: string }

// Byte string ↔ bytes, one native call each: Espruino's E.toUint8Array / E.toString, registered by
// createEspruinoPrimitives before any key exists (Node tests register Buffer-based ones,
// firmware/test/channel/node-primitives.ts). No plain-JS default: it would cost the bundle bytes the
// board never runs.
let toBytes: (s: string) => Uint8Array;
let fromBytes: (b: Uint8Array) => string;

/** The native byte-string converters the pads use (createEspruinoPrimitives registers Espruino's). */
export function useNativeBytes(to: (s: string) => Uint8Array, from: (b: Uint8Array) => string): void {
  toBytes = to;
  fromBytes = from;
}

// XORs the 16 words of a 64-byte block with x: unrolled, because on the board each loop step costs
// about as much as four of these element updates (board/docs/cost-model.md).
function xorBlock(w: Int32Array, x: number): void {
  w[0] ^= x; w[1] ^= x; w[2] ^= x; w[3] ^= x; w[4] ^= x; w[5] ^= x; w[6] ^= x; w[7] ^= x;
  w[8] ^= x; w[9] ^= x; w[10] ^= x; w[11] ^= x; w[12] ^= x; w[13] ^= x; w[14] ^= x; w[15] ^= x;
}

// Keys past a block are not needed by this firmware and are refused. Once per key (per session for
// session keys), never per message. Espruino has no native XOR: the key, zero-filled to a block, is
// XORed a 32-bit word at a time over one flat buffer (16 element updates per pad), where a byte
// string built four key bytes per step cost ~22 ms per key on a Puck.js (issue #12).
export function hmacPads(key: string): HmacPads {
  if (typeof key !== "string" || key.length < 16 || key.length > HMAC_BLOCK_BYTES) {
    raise("hmac: key must be 16-64 bytes");
  }
  const b = toBytes(key + ZERO_BLOCK.substr(key.length));
  const w = new Int32Array(b.buffer, b.byteOffset, 16);
  xorBlock(w, 0x36363636);
  const inner = fromBytes(b);
  // 0x36 ^ 0x6a = 0x5c: the outer pad from the inner one
  xorBlock(w, 0x6a6a6a6a);
  return { inner: inner, outer: fromBytes(b) };
}

/** HMAC-SHA256(K, message) = SHA256(K⊕opad ‖ SHA256(K⊕ipad ‖ message)): two native calls. */
export function hmacSha256(prims: CryptoPrimitives, pads: HmacPads, message: string): string {
  return prims.sha256(pads.outer + prims.sha256(pads.inner + message));
}

// The big-endian packers live with the little-endian ones (store/bytes.ts); re-exported for callers.
export { readU32be, u32be } from "../store/bytes.ts";
