// The authorization cryptogram (docs/CHANNEL.md §7): a 16-byte HMAC-SHA256 under the carrier's
// cryptogram key over a fixed binary layout of the order, the carrier and the ATC. Byte for byte
// the layout of host/src/channel/keys.ts authorizationMessage(); channel.json pins both.
import { hmacPads, hmacSha256, u32be, type CryptoPrimitives } from "../crypto/primitives.ts";
import { chr } from "../store/bytes.ts";
import { raise } from "../raise.ts";

export const CRYPTOGRAM_BYTES = 16;
export const CRYPTOGRAM_MAGIC = "KCAC";
export const CRYPTOGRAM_FORMAT = 1;
const TWO_POW_32 = 4294967296;
const MAX_AMOUNT = 9007199254740991;

/** Byte strings for ids; amount in minor units; currency ISO 4217 alphabetic; atc 1…2^32−1. */
export interface AuthorizationFields {
  carrierId: string;
  orderId: string;
  merchantId: string;
  amount: number;
  currency: string;
  atc: number;
}

function checkLength(v: string, what: string, min: number, max: number): void {
  if (typeof v !== "string" || v.length < min || v.length > max) raise("cryptogram: " + what + " must be " + min + "-" + max + " bytes");
}

function isCapitalLetter(c: number): boolean {
  return c >= 65 && c <= 90;
}

export function authorizationMessage(f: AuthorizationFields): string {
  checkLength(f.carrierId, "carrier id", 4, 32);
  checkLength(f.orderId, "order id", 1, 64);
  checkLength(f.merchantId, "merchant id", 1, 64);
  const a = f.amount;
  if (typeof a !== "number" || a < 0 || a > MAX_AMOUNT || Math.floor(a) !== a) raise("cryptogram: bad amount");
  const c = f.currency;
  if (typeof c !== "string" || c.length !== 3 || !isCapitalLetter(c.charCodeAt(0)) || !isCapitalLetter(c.charCodeAt(1)) || !isCapitalLetter(c.charCodeAt(2))) {
    raise("cryptogram: currency not ISO 4217");
  }
  if (typeof f.atc !== "number" || f.atc < 1 || f.atc > 0xffffffff || Math.floor(f.atc) !== f.atc) raise("cryptogram: bad atc");
  // Two 32-bit halves: the board never computes an integer beyond 2^53 (facts rule 9).
  const high = Math.floor(a / TWO_POW_32);
  return CRYPTOGRAM_MAGIC + chr(CRYPTOGRAM_FORMAT, f.carrierId.length) + f.carrierId +
    chr(f.orderId.length) + f.orderId + chr(f.merchantId.length) + f.merchantId +
    u32be(high) + u32be(a - high * TWO_POW_32) + c + u32be(f.atc);
}

export interface CryptogramSigner { sign(f: AuthorizationFields): string }

// The key's HMAC pads are computed once, here, so signing costs two native SHA-256 calls. The
// caller must durably commit f.atc as used BEFORE the cryptogram leaves the carrier (issue 6 §5).
export function createCryptogramSigner(prims: CryptoPrimitives, cryptogramKey: string): CryptogramSigner {
  if (typeof cryptogramKey !== "string" || cryptogramKey.length !== 32) raise("cryptogram: key must be 32 bytes");
  const pads = hmacPads(cryptogramKey);
  return {
    sign: function (f: AuthorizationFields): string {
      return hmacSha256(prims, pads, authorizationMessage(f)).substr(0, CRYPTOGRAM_BYTES);
    },
  };
}
