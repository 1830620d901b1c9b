// The platform's PIN verdict as the carrier receives it in PAY (PROTOCOL.md §7.5, docs/CHANNEL.md §8).
// The PIN itself never reaches the carrier: the host encrypts it to the platform, the platform checks
// it against its own verifier and try counter (the issuer's), and answers a verdict MAC'd under the
// carrier's cryptogram key K_ac over the carrier id, the carrier nonce of the open session, the order
// and the verdict, and the channel counter of the PAY request that carries it (so a verdict is good
// for one request in one session: the channel never accepts a counter twice). The carrier counts the verdicts it receives (security/carrier.ts countVerdict).
// Byte for byte host/src/platform/online-pin.ts verdictMessage(); firmware/vectors/online-pin.json pins both.
import { chr, u32be } from "../store/bytes.ts";

export const VERDICT_MAGIC = "KCPV";
export const VERDICT_FORMAT = 1;
// The same message with the merchant's name at the end (a carrier with a screen, PAY field 0): V2 below.
export const VERDICT_FORMAT_NAMED = 2;
// PAY field 0 and V2's name: 1-42 bytes, two lines of the screen's 6x8 font (docs/DISPLAY.md).
export const MERCHANT_NAME_MAX_BYTES = 42;
export const VERDICT_MAC_BYTES = 16;
// K_pv = HMAC-SHA256(K_ac, this label): the verdict key (host/src/platform/online-pin.ts verdictKey).
export const VERDICT_KEY_LABEL = "KeyCarrier v1 PIN verdict key";
// Verdict codes on the wire (PAY field 5) and what countVerdict's judge returns.
export const VERDICT_OK = 0;
export const VERDICT_WRONG = 1;
export const VERDICT_BLOCKED = 2;
// Only the judge returns this: the MAC did not verify (forged, replayed into another session, or
// for another order): counted like a wrong PIN.
export const VERDICT_FORGED = -1;
const TWO_POW_32 = 4294967296;

export interface VerdictFields {
  carrierId: string;
  // the carrier nonce of the session (16 B) ‖ u32be channel counter of the PAY request carrying the verdict
  binding: string;
  orderId: string;
  merchantId: string;
  amount: number;
  currency: string;
  verdict: number;
  triesLeft: number;
}

// "KCPV" | 01 | len cid | cid | session nonce 16 | request counter u32be | len oid | oid | len mid | mid | amount u64be |
// currency 3 | verdict u8 | tries left u8. Starts with its own magic, so a MAC under K_ac over it is
// never a valid cryptogram ("KCAC…") and the other way round.
// With name (a carrier with a screen, KC_DISPLAY bundles only: PAY field 0): V2, the same with format
// byte 2 and "len name | name" appended, the merchant's name as the platform registered it and the
// screen shows it (PROTOCOL.md §7.5). The format byte keeps a V1 MAC (no name) from ever verifying
// as a V2 one and the other way round.
export function verdictMessage(f: VerdictFields, name?: string): string {
  const a = f.amount;
  const high = Math.floor(a / TWO_POW_32);
  const v = VERDICT_MAGIC + chr(VERDICT_FORMAT, f.carrierId.length) + f.carrierId + f.binding +
    chr(f.orderId.length) + f.orderId + chr(f.merchantId.length) + f.merchantId +
    u32be(high) + u32be(a - high * TWO_POW_32) + f.currency + chr(f.verdict, f.triesLeft);
  return KC_DISPLAY && name !== undefined ? v.substr(0, 4) + chr(VERDICT_FORMAT_NAMED) + v.substr(5) + chr(name.length) + name : v;
}
