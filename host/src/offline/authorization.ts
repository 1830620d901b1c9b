/**
 * The offline payment authorization (PROTOCOL.md §11): what a terminal asks (OFFLINE_PAY) and what
 * the carrier's HSS signature covers:
 *
 *   "KC-OFFLINE-v1" || canonical CBOR {1: carrier id, 2: amount, 3: currency, 4: terminal id,
 *                                      5: terminal nonce, 6: date, 7: offline ATC}
 */
import { encodeCbor } from "../codec.ts";
import { LmsError, assertHssSignature, concat, type HssSignatureInfo } from "./lms.ts";
import { OfflineError } from "./errors.ts";
import type { LicenseBody } from "./license.ts";
import {
  CARRIER_ID_BYTES, TERMINAL_ID_BYTES, TERMINAL_NONCE_BYTES, requireAmount, requireBytes, requireCurrency, requireDate, requireUint,
} from "./fields.ts";

export const AUTHORIZATION_DOMAIN = new TextEncoder().encode("KC-OFFLINE-v1");
/** The offline ATC is a carrier counter; 2^32 − 1 leaves room no carrier reaches. */
export const MAX_OFFLINE_ATC = 0xffffffff;

/** What the terminal sends in OFFLINE_PAY. */
export interface OfflinePayRequest {
  amount: number;
  currency: string;
  terminalId: Uint8Array;
  terminalNonce: Uint8Array;
  /** YYYYMMDD. */
  date: number;
}

/** A signed offline authorization as the terminal logs it and clearing checks it. */
export interface OfflineAuthorization extends OfflinePayRequest {
  carrierId: Uint8Array;
  atc: number;
  signature: Uint8Array;
}

export function checkPayRequest(r: OfflinePayRequest): OfflinePayRequest {
  requireAmount("amount", r.amount);
  requireCurrency("currency", r.currency);
  requireBytes("terminal id", r.terminalId, TERMINAL_ID_BYTES);
  requireBytes("terminal nonce", r.terminalNonce, TERMINAL_NONCE_BYTES);
  requireDate("date", r.date);
  return r;
}

/** The OFFLINE_PAY request body {1: amount, 2: currency, 3: terminal id, 4: terminal nonce, 5: date}. */
export function payRequestBody(r: OfflinePayRequest): Map<number, number | string | Uint8Array> {
  checkPayRequest(r);
  return new Map<number, number | string | Uint8Array>([[1, r.amount], [2, r.currency], [3, r.terminalId], [4, r.terminalNonce], [5, r.date]]);
}

/** The bytes the carrier signs. */
export function authorizationMessage(carrierId: Uint8Array, r: OfflinePayRequest, atc: number): Uint8Array {
  requireBytes("carrier id", carrierId, CARRIER_ID_BYTES);
  checkPayRequest(r);
  requireUint("offline ATC", atc, MAX_OFFLINE_ATC);
  return concat(AUTHORIZATION_DOMAIN, encodeCbor(new Map<number, number | string | Uint8Array>([
    [1, carrierId], [2, r.amount], [3, r.currency], [4, r.terminalId], [5, r.terminalNonce], [6, r.date], [7, atc],
  ])));
}

/**
 * Checks an authorization against its (already verified) license: the currency and per-transaction
 * limit the license sets, then the carrier's HSS signature under the licensed key. Returns the
 * one-time key (leaf) index the signature used. Throws OfflineError.
 */
export function verifyAuthorization(license: LicenseBody, a: OfflineAuthorization): HssSignatureInfo {
  checkPayRequest(a);
  requireUint("offline ATC", a.atc, MAX_OFFLINE_ATC);
  requireBytes("signature", a.signature);
  if (!Buffer.from(a.carrierId).equals(Buffer.from(license.carrierId))) {
    throw new OfflineError("wrong-carrier", `the authorization names carrier ${Buffer.from(a.carrierId).toString("hex")}, the license carrier ${Buffer.from(license.carrierId).toString("hex")}`);
  }
  if (a.currency !== license.currency) throw new OfflineError("currency-mismatch", `the license allows offline payments in ${license.currency} only, not ${a.currency}`);
  if (a.amount > license.perTransactionLimit) {
    throw new OfflineError("over-transaction-limit", `amount ${a.amount} is over the license's per-transaction offline limit ${license.perTransactionLimit} — go online`);
  }
  try {
    return assertHssSignature(license.publicKey, authorizationMessage(license.carrierId, a, a.atc), a.signature);
  } catch (e) {
    if (e instanceof LmsError) throw new OfflineError("bad-signature", `the carrier's signature does not cover this payment (amount, currency, terminal, nonce, date, ATC): ${e.message}`);
    throw e;
  }
}
