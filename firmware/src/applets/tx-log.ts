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

// The ATC of the newest kept AUTHORIZED entry for this (order, merchant): 0 if none, -1 if it was
// for another amount or currency (then nothing may be signed for the order again). One native
// compare per kept entry, in the loop's head.
export function earlierAtc(e: ReadonlyArray<{ atc: number; entry: string }>, o: Order): number {
  const part = entryOrderPart(RESULT_AUTHORIZED, o);
  const n = part.length;
  let i = e.length - 1;
  while (i >= 0 && e[i]!.entry.substr(ENTRY_ORDER_AT, n) !== part) i--;
  if (i < 0) return 0;
  return e[i]!.entry.substr(ENTRY_ORDER_AT + n) === u64be(o.amount) + o.currency ? e[i]!.atc : -1;
}

export function encodeEntry(atc: number, result: number, o: Order): string {
  return u32be(atc) + entryOrderPart(result, o) + u64be(o.amount) + o.currency;
}

export function chainNext(sha256: (s: string) => string, prevHash: string, entry: string): string {
  return sha256(CHAIN_MAGIC + prevHash + entry);
}
