/**
 * Clearing of offline payments (docs/OFFLINE.md §Clearing): a terminal uploads its log; each record
 * is checked on its own and settles exactly once, with a per-record status.
 *
 * Checks, in order: the record's fields; the license (authority signature, issued by this platform,
 * not expired on the payment date, not revoked before the payment date); the authorization (carrier
 * and currency of the license, per-transaction limit, the carrier's HSS signature); then against the
 * ledger: the same authorization cleared before (a retry: "already-cleared", nothing settles again),
 * the same one-time key (leaf) of the carrier key, the same carrier ATC with another signature, the
 * same terminal nonce, and the cumulative offline limit. The unique constraints of
 * offline_clearings (005_offline_credit.sql) back every duplicate check.
 */
import { createHash, randomBytes } from "node:crypto";
import { get, isUniqueViolation, run, tx, type Work } from "./work.ts";
import { keyHash, type OfflineAuthority } from "./offline-authority.ts";
import { OfflineError, type OfflineReason } from "../offline/errors.ts";
import { dateOf } from "../offline/fields.ts";
import { verifyLicense } from "../offline/license.ts";
import { verifyAuthorization, type OfflineAuthorization } from "../offline/authorization.ts";

/** One uploaded record, as JSON (hex for bytes). */
export interface ClearingRecordJson {
  license?: unknown; amount?: unknown; currency?: unknown; terminalId?: unknown; terminalNonce?: unknown;
  date?: unknown; atc?: unknown; signature?: unknown;
}

export type ClearingOutcome =
  | { status: "cleared"; clearingId: string; carrierId: string; atc: number; amount: number; currency: string }
  | { status: "already-cleared"; clearingId: string; carrierId: string; atc: number }
  | { status: "refused"; reason: OfflineReason; message: string };
/** A record's outcome, with its position in the upload. */
export type ClearingResult = ClearingOutcome & { index: number };

/** Records per upload request (the POS splits longer logs). */
export const MAX_CLEARING_RECORDS = 100;

const sha256Hex = (b: Uint8Array): string => createHash("sha256").update(b).digest("hex");

function bytesField(field: string, v: unknown, max: number): Uint8Array {
  if (typeof v !== "string" || !/^([0-9a-f]{2})*$/.test(v) || v.length === 0 || v.length > max * 2) {
    throw new OfflineError("bad-format", `${field} must be lowercase hex of 1–${max} bytes`);
  }
  return Uint8Array.from(Buffer.from(v, "hex"));
}

/** Turns a JSON record into typed values; field-level checks happen in the offline modules. */
export function parseClearingRecord(r: ClearingRecordJson): { license: Uint8Array; auth: Omit<OfflineAuthorization, "carrierId"> } {
  if (!r || typeof r !== "object") throw new OfflineError("bad-format", "each record must be a JSON object");
  return {
    license: bytesField("license", r.license, 64 * 1024),
    auth: {
      amount: r.amount as number, currency: r.currency as string,
      terminalId: bytesField("terminalId", r.terminalId, 8), terminalNonce: bytesField("terminalNonce", r.terminalNonce, 16),
      date: r.date as number, atc: r.atc as number, signature: bytesField("signature", r.signature, 64 * 1024),
    },
  };
}

export class OfflineClearing {
  constructor(
    private readonly authority: OfflineAuthority,
    private readonly now: () => number,
    private readonly onRefusal: (reason: string, entityId: string) => void = () => {},
  ) {}

  /**
   * Clears a batch for `merchantId`: one transaction per record, so one refusal costs no other record.
   * A record whose transaction lost a unique-constraint race to another process (PostgreSQL) is
   * checked once more on its own, so it gets the answer a sequential run gives (already cleared,
   * duplicate …) and the records before it are not cleared a second time by a re-run of the batch.
   */
  *clear(merchantId: number, records: unknown): Work<ClearingResult[]> {
    if (!Array.isArray(records) || records.length === 0 || records.length > MAX_CLEARING_RECORDS) {
      throw new OfflineError("bad-format", `records must be an array of 1–${MAX_CLEARING_RECORDS} records`);
    }
    const authorityKey = yield* this.authority.publicKey();
    const results: ClearingResult[] = [];
    for (const [index, r] of records.entries()) {
      try {
        let outcome: ClearingOutcome;
        try {
          outcome = yield* this.clearOne(merchantId, r as ClearingRecordJson, authorityKey);
        } catch (e) {
          if (!isUniqueViolation(e)) throw e;
          outcome = yield* this.clearOne(merchantId, r as ClearingRecordJson, authorityKey);
        }
        results.push({ index, ...outcome } as ClearingResult);
      } catch (e) {
        if (!(e instanceof OfflineError)) throw e;
        this.onRefusal(e.reason, `record ${index}`);
        results.push({ index, status: "refused", reason: e.reason, message: e.message } as ClearingResult);
      }
    }
    return results;
  }

  /**
   * One record, one transaction. Serializable on PostgreSQL: the cumulative limit is a sum read and
   * then exceeded or not, which no constraint enforces (two records of one carrier cleared at once by
   * two processes would both see the old sum).
   */
  private *clearOne(merchantId: number, record: ClearingRecordJson, authorityKey: Uint8Array): Work<ClearingOutcome> {
    const { license: licenseBytes, auth } = parseClearingRecord(record);
    // Expiry is judged on the payment's date: the terminal uploads later.
    const license = verifyLicense(licenseBytes, authorityKey, { today: typeof auth.date === "number" ? auth.date : 0 });
    const body = license.body;
    const carrierId = Buffer.from(body.carrierId).toString("hex");
    const info = verifyAuthorization(body, { ...auth, carrierId: body.carrierId });
    const signatureHash = sha256Hex(auth.signature);
    const kHash = keyHash(body.publicKey);
    const terminalId = Buffer.from(auth.terminalId).toString("hex");
    const nonce = Buffer.from(auth.terminalNonce).toString("hex");
    return yield* tx(function* (this: OfflineClearing): Work<ClearingOutcome> {
      const issued = yield* get("SELECT license, revoked_at FROM offline_licenses WHERE serial = ?", [body.serial]);
      if (!issued || !Buffer.from(issued.license as Uint8Array).equals(Buffer.from(licenseBytes))) {
        throw new OfflineError("forged-license", `license ${body.serial} verifies but is not the one this platform issued under that serial`);
      }
      if (issued.revoked_at !== null && auth.date > dateOf(Number(issued.revoked_at))) {
        throw new OfflineError("license-revoked", `license ${body.serial} of carrier ${carrierId} was revoked on ${dateOf(Number(issued.revoked_at))}, before this payment (${auth.date})`);
      }
      const sameAtc = yield* get("SELECT clearing_id, signature_hash, merchant_id FROM offline_clearings WHERE carrier_id = ? AND atc = ?", [carrierId, auth.atc]);
      if (sameAtc && sameAtc.signature_hash === signatureHash) {
        if (Number(sameAtc.merchant_id) === merchantId) return { status: "already-cleared", clearingId: String(sameAtc.clearing_id), carrierId, atc: auth.atc } as const;
        throw new OfflineError("replayed-authorization", `carrier ${carrierId}'s authorization with offline ATC ${auth.atc} was already cleared for another merchant`);
      }
      // The leaf before the ATC: the carrier's ATC is its leaf + 1, so a cloned or rolled-back
      // carrier repeats both — the one-time key is what is broken (and what to revoke for).
      if (yield* get("SELECT 1 FROM offline_clearings WHERE key_hash = ? AND leaf_index = ?", [kHash, info.index])) {
        throw new OfflineError("reused-leaf", `carrier ${carrierId} signed two payments with the same one-time key (leaf ${info.index}): the carrier's key state is broken — revoke it`);
      }
      if (sameAtc) throw new OfflineError("duplicate-atc", `carrier ${carrierId} already has a cleared offline payment with ATC ${auth.atc}: a counter value authorizes once`);
      if (yield* get("SELECT 1 FROM offline_clearings WHERE terminal_id = ? AND terminal_nonce = ?", [terminalId, nonce])) {
        throw new OfflineError("replayed-authorization", `terminal ${terminalId} already cleared a payment with nonce ${nonce}`);
      }
      const since = yield* this.lastOnlineDate(carrierId);
      const spent = Number((yield* get("SELECT COALESCE(sum(amount), 0) AS s FROM offline_clearings WHERE carrier_id = ? AND txn_date >= ?", [carrierId, since]))!.s);
      if (spent + auth.amount > body.cumulativeLimit) {
        throw new OfflineError("over-cumulative-limit", `carrier ${carrierId} would reach ${spent + auth.amount} offline since its last online contact (${since || "never"}), over the cumulative offline limit ${body.cumulativeLimit}`);
      }
      const clearingId = randomBytes(8).toString("hex");
      yield* run(
        "INSERT INTO offline_clearings (clearing_id, carrier_id, license_serial, key_hash, leaf_index, atc, merchant_id, terminal_id, terminal_nonce, amount, currency, txn_date, signature_hash, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [clearingId, carrierId, body.serial, kHash, info.index, auth.atc, merchantId, terminalId, nonce, auth.amount, auth.currency, auth.date, signatureHash, this.now()],
      );
      yield* run("INSERT INTO audit (at, entity, entity_id, action, detail) VALUES (?, ?, ?, ?, ?)", [
        this.now(), "offline_clearing", clearingId, "cleared", JSON.stringify({ carrierId, atc: auth.atc, leaf: info.index, merchantId, amount: auth.amount, currency: auth.currency, date: auth.date }),
      ]);
      return { status: "cleared", clearingId, carrierId, atc: auth.atc, amount: auth.amount, currency: auth.currency } as const;
    }.bind(this), { serializable: true });
  }

  /**
   * The day of the carrier's last online payment (YYYYMMDD), 0 if none: offline payments from that
   * day on count against the cumulative limit. Day granularity: a payment made offline on the same
   * day before going online still counts (errs towards refusing, never towards over-spending).
   */
  private *lastOnlineDate(carrierId: string): Work<number> {
    const row = yield* get("SELECT max(created_at) AS t FROM settlements WHERE carrier_id = ?", [carrierId]);
    return row?.t === null || row?.t === undefined ? 0 : dateOf(Number(row.t));
  }
}
