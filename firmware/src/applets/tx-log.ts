// The hash-chained transaction log (PROTOCOL.md §7.6): canonical entry bytes and the chain.
//   entry = u32 ATC ‖ u8 result ‖ u8 len ‖ orderId ‖ u8 len ‖ merchantId ‖ u64 amount ‖ currency(3)
//   h_i   = SHA-256("KCLG" ‖ h_(i-1) ‖ entry_i), h_0 = 32 zero bytes
import { chr, u32be, u64be } from "../store/bytes.ts";

export const RESULT_DECLINED = 0;
export const RESULT_AUTHORIZED = 1;
export const CHAIN_MAGIC = "KCLG";
export const ZERO_HASH = "\x00".repeat(32);

export interface Order { orderId: string; merchantId: string; amount: number; currency: string }

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
