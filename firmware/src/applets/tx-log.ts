// The hash-chained transaction log (PROTOCOL.md §7.6): canonical entry bytes and the chain.
//   entry = u32 ATC ‖ u8 result ‖ u8 len ‖ orderId ‖ u8 len ‖ merchantId ‖ u64 amount ‖ currency(3)
//   h_i   = SHA-256("KCLG" ‖ h_(i-1) ‖ entry_i), h_0 = 32 zero bytes
import { u32be } from "../crypto/primitives.ts";
import { chr } from "../store/bytes.ts";

export const RESULT_DECLINED = 0;
export const RESULT_AUTHORIZED = 1;
export const CHAIN_MAGIC = "KCLG";
export const ZERO_HASH = "\x00".repeat(32);
const TWO_POW_32 = 4294967296;

export interface Order { orderId: string; merchantId: string; amount: number; currency: string }

// An integer 0..2^53-1 as 8 bytes big-endian (two 32-bit halves: Espruino's bit operators are 32-bit).
export function u64be(n: number): string {
  const high = Math.floor(n / TWO_POW_32);
  return u32be(high) + u32be(n - high * TWO_POW_32);
}

// Entry bytes 4… up to the amount: result ‖ len ‖ orderId ‖ len ‖ merchantId. The length prefixes
// make it unambiguous, so comparing it finds an entry of this result for this (order, merchant).
export const ENTRY_ORDER_AT = 4;
export function entryOrderPart(result: number, o: Order): string {
  return chr(result, o.orderId.length) + o.orderId + chr(o.merchantId.length) + o.merchantId;
}

export function encodeEntry(atc: number, result: number, o: Order): string {
  return u32be(atc) + entryOrderPart(result, o) + u64be(o.amount) + o.currency;
}

export function chainNext(sha256: (s: string) => string, prevHash: string, entry: string): string {
  return sha256(CHAIN_MAGIC + prevHash + entry);
}
