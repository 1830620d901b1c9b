/**
 * CRC-32 (IEEE 802.3, reflected polynomial 0xEDB88320, init and final XOR 0xFFFFFFFF) — the
 * CRC of zlib, PNG and Ethernet. Check value: "123456789" → 0xCBF43926.
 */
import { crc32 as zlibCrc32 } from "node:zlib";

/** CRC-32 of `bytes[start, end)`, as an unsigned 32-bit number (node:zlib's native implementation). */
export function crc32(bytes: Uint8Array, start = 0, end = bytes.length): number {
  return zlibCrc32(bytes.subarray(start, end)) >>> 0;
}
