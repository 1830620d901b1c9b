// One offline authorization (PROTOCOL.md §11): the carrier's risk rules, then the signing step —
// leaf reserved durably FIRST (key-store.ts reserveLeaf), then the HSS signature over
// "KC-OFFLINE-v1" ‖ canonical CBOR {1: carrier id, 2: amount, 3: currency, 4: terminal id,
// 5: terminal nonce, 6: date, 7: offline ATC}. The offline ATC is the leaf index + 1: durable with
// the leaf, strictly increasing, never reused.
import { encode, text } from "../codec.ts";
import { hssSign1, type LmsNatives } from "./lms.ts";
import { authPath, reserveLeaf, type OfflineKey } from "./key-store.ts";
import type { StoreEnv } from "../store/ports.ts";

export const OFFLINE_DOMAIN = "KC-OFFLINE-v1";

export interface OfflineRequest { amount: number; currency: string; terminalId: string; terminalNonce: string; date: number }

export interface OfflineAuthorization { atc: number; signature: string }

/** The byte string the carrier signs (and the terminal and the clearing verify). */
export function offlineSignedMessage(carrierId: string, r: OfflineRequest, atc: number): string {
  return OFFLINE_DOMAIN + encode({ 1: carrierId, 2: r.amount, 3: text(r.currency), 4: r.terminalId, 5: r.terminalNonce, 6: r.date, 7: atc });
}

export const RULE_OK = 0;
export const RULE_LIMIT = 1;
export const RULE_EXHAUSTED = 2;
export const RULE_BAD = 3;

/**
 * The carrier's offline risk rules, checked before anything is shown or written: currency, license
 * expiry, per-transaction limit, the cumulative limit since the last online contact (then: go
 * online), and a one-time key left. Returns [rule, detail].
 */
export function offlineRefusal(key: OfflineKey, r: OfflineRequest): [number, string] {
  if (r.currency !== key.currency) return [RULE_BAD, "currency " + key.currency + " only"];
  if (r.date > key.expiry) return [RULE_LIMIT, "license expired: go online"];
  if (r.amount > key.perTxLimit) return [RULE_LIMIT, "over the offline per-transaction limit " + key.perTxLimit + ": go online"];
  if (key.cumulative + r.amount > key.cumulativeLimit) return [RULE_LIMIT, "offline limit reached (" + key.cumulative + " of " + key.cumulativeLimit + " since the last online payment): go online"];
  if (key.next >= 1 << key.lms.h) return [RULE_EXHAUSTED, "no one-time keys left: re-issue"];
  return [RULE_OK, ""];
}

/**
 * The signing step. The leaf is spent in flash before the signature exists; a power cut anywhere
 * in here loses at most that leaf (never reuses it). `c` is the fresh 32-byte randomizer.
 * Returns null when every leaf is used.
 */
export function signOffline(env: StoreEnv, key: OfflineKey, nat: LmsNatives, carrierId: string, r: OfflineRequest, c: string): OfflineAuthorization | null {
  const q = reserveLeaf(env, key, r.amount, r.terminalId, r.date);
  if (q < 0) return null;
  const message = offlineSignedMessage(carrierId, r, q + 1);
  return { atc: q + 1, signature: hssSign1(nat, key.ots, key.lms, key.id, q, key.seed, c, message, authPath(env, key, q)) };
}
