// The authorization cryptogram (docs/CHANNEL.md §7): a 16-byte HMAC-SHA256 under the carrier's
// cryptogram key over a fixed binary layout of the order, the carrier and the ATC. Byte for byte
// the layout of host/src/channel/keys.ts authorizationMessage(); channel.json pins both.
import { hmacPads, hmacSha256, u32be, type CryptoPrimitives } from "../crypto/primitives.ts";
import { chr } from "../store/bytes.ts";

export const CRYPTOGRAM_BYTES = 16;
export const CRYPTOGRAM_MAGIC = "KCAC";
export const CRYPTOGRAM_FORMAT = 1;
const TWO_POW_32 = 4294967296;

/** Byte strings for ids; amount in minor units; currency ISO 4217 alphabetic; atc 1…2^32−1. */
export interface AuthorizationFields {
  carrierId: string;
  orderId: string;
  merchantId: string;
  amount: number;
  currency: string;
  atc: number;
}

// No checks here: every field was validated where it entered the carrier (order ids, amount and
// currency by PAY's parseOrder, PROTOCOL.md §7.5; the carrier id by PERSONALISE) or is the carrier's
// own (the ATC PAY just committed), so this is only the layout, line for line the platform's
// authorizationMessage() (host/src/channel/keys.ts), which asserts the same fields on its side.
export function authorizationMessage(f: AuthorizationFields): string {
  const a = f.amount;
  // Two 32-bit halves: the board never computes an integer beyond 2^53 (facts rule 9). Spelled out
  // rather than store/bytes.ts u64be: in a bundle where this is u64be's only caller, terser inlines
  // it with its own vars after the return, which the hoisting gate rejects (channel cost test).
  const high = Math.floor(a / TWO_POW_32);
  return CRYPTOGRAM_MAGIC + chr(CRYPTOGRAM_FORMAT, f.carrierId.length) + f.carrierId +
    chr(f.orderId.length) + f.orderId + chr(f.merchantId.length) + f.merchantId +
    u32be(high) + u32be(a - high * TWO_POW_32) + f.currency + u32be(f.atc);
}

export interface CryptogramSigner {
  sign(f: AuthorizationFields): string;
  // HMAC(K_ac, label) in full: keys derived from K_ac (the PIN verdict key, security/verdict.ts), so
  // K_ac itself MACs only cryptograms.
  derive(label: string): string;
}

// The key's HMAC pads are computed once, here, so signing costs two native SHA-256 calls. The
// caller must durably commit f.atc as used BEFORE the cryptogram leaves the carrier (issue 6 §5).
export function createCryptogramSigner(prims: CryptoPrimitives, cryptogramKey: string): CryptogramSigner {
  const pads = hmacPads(cryptogramKey);
  return {
    sign: function (f: AuthorizationFields): string {
      return hmacSha256(prims, pads, authorizationMessage(f)).substr(0, CRYPTOGRAM_BYTES);
    },
    derive: function (label: string): string {
      return hmacSha256(prims, pads, label);
    },
  };
}
