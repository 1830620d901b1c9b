/**
 * Why an offline payment artefact (license, authorization, revocation list) was refused. `reason`
 * is a stable id shared by the terminal (`keycarrier pos`) and clearing (docs/OFFLINE.md §Refusals).
 */
export type OfflineReason =
  | "bad-format" | "forged-license" | "license-expired" | "license-revoked" | "wrong-carrier" | "currency-mismatch"
  | "bad-signature" | "over-transaction-limit" | "over-cumulative-limit" | "replayed-authorization" | "reused-leaf"
  | "duplicate-atc" | "bad-revocation-list" | "stale-revocation-list" | "unknown-carrier"
  /** The carrier refused: its offline limits are reached (go online), its one-time keys are used up, or it holds no license. */
  | "carrier-offline-limit" | "carrier-keys-exhausted" | "carrier-no-license" | "declined" | "no-revocation-list";

export class OfflineError extends Error {
  constructor(readonly reason: OfflineReason, message: string) {
    super(message);
    this.name = "OfflineError";
  }
}
