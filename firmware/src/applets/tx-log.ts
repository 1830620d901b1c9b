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

export function encodeEntry(atc: number, result: number, o: Order): string {
  return u32be(atc) + chr(result, o.orderId.length) + o.orderId + chr(o.merchantId.length) + o.merchantId + u64be(o.amount) + o.currency;
}

export function chainNext(sha256: (s: string) => string, prevHash: string, entry: string): string {
  return sha256(CHAIN_MAGIC + prevHash + entry);
}

/** The result byte and the (merchant id, order id) key of an entry, without decoding the rest. */
export function entryResult(entry: string): number {
  return entry.charCodeAt(4);
}

export function entryOrderKey(entry: string): string {
  const orderLen = entry.charCodeAt(5);
  const merchantAt = 6 + orderLen;
  return entry.substr(merchantAt, 1 + entry.charCodeAt(merchantAt)) + entry.substr(5, 1 + orderLen);
}

export function orderKey(o: Order): string {
  return chr(o.merchantId.length) + o.merchantId + chr(o.orderId.length) + o.orderId;
}
