/**
 * `keycarrier pos`: an offline payment terminal (docs/OFFLINE.md §Terminal). It holds the credit
 * authority's public key and the newest revocation list, runs OFFLINE_LICENSE / OFFLINE_PAY /
 * OFFLINE_SIG_READ against a carrier over any transport, verifies everything itself (no network),
 * logs each authorization, and later uploads the log for clearing.
 *
 * Refused at the terminal: a license not signed by the authority (forged-license), expired or
 * revoked; a currency or amount the license does not allow (before the carrier is asked); a
 * signature that does not cover exactly this request with the terminal's fresh nonce (an altered
 * amount, a replayed authorization); a second authorization with an ATC or one-time key this
 * terminal already logged for that carrier (replayed-authorization, reused-leaf). Cumulative
 * offline limits are the carrier's and clearing's to enforce: one terminal sees only its own log.
 */
import { createHash, randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import type { KeyCarrier } from "../client.ts";
import { parseHssPublicKey } from "../lms/index.ts";
import { OfflineError } from "../offline/errors.ts";
import { dateOf, TERMINAL_ID_BYTES } from "../offline/fields.ts";
import { verifyLicense, type License } from "../offline/license.ts";
import { verifyAuthorization, checkPayRequest, type OfflinePayRequest } from "../offline/authorization.ts";
import { verifyRevocationList, type RevocationList } from "../offline/revocations.ts";
import type { PlatformClient } from "../platform/client.ts";
import type { ClearingResult } from "../platform/offline-clearing.ts";
import { offlinePay, readLicense, type PayOptions } from "./carrier-io.ts";
import { PosLog, type PaymentRow } from "./log.ts";

const AUTHORITY_KEY = "authority_public_key";
const TERMINAL_ID = "terminal_id";
const REVOCATIONS = "revocation_list";
/** JSON bytes per upload request, below the platform's 64 KiB request limit. */
export const UPLOAD_BATCH_BYTES = 56 * 1024;
export const UPLOAD_BATCH_RECORDS = 100;

const hex = (b: Uint8Array): string => Buffer.from(b).toString("hex");

export interface AcceptedPayment {
  id: number;
  carrierId: string;
  licenseSerial: number;
  atc: number;
  leafIndex: number;
  amount: number;
  currency: string;
  date: number;
  terminalNonce: string;
  signatureBytes: number;
  licenseBytes: number;
}

export interface UploadSummary {
  uploaded: number;
  cleared: number;
  alreadyCleared: number;
  refused: Array<{ id: number; reason: string; message: string }>;
}

export class PosTerminal {
  private constructor(readonly log: PosLog, private readonly now: () => number) {}

  /** Creates (or re-opens) a terminal log with the authority key it trusts from now on. */
  static init(file: string, authorityPublicKey: Uint8Array, opts: { terminalId?: Uint8Array; now?: () => number } = {}): PosTerminal {
    parseHssPublicKey(authorityPublicKey);
    const log = new PosLog(file);
    const existing = log.getConfig(AUTHORITY_KEY);
    if (existing && hex(existing) !== hex(authorityPublicKey)) {
      log.close();
      throw new OfflineError("bad-format", `${file} already trusts another authority key (${hex(existing).slice(0, 24)}…): use a new log file for another authority`);
    }
    log.setConfig(AUTHORITY_KEY, authorityPublicKey);
    if (!log.getConfig(TERMINAL_ID)) {
      const id = opts.terminalId ?? Uint8Array.from(randomBytes(TERMINAL_ID_BYTES));
      if (id.length !== TERMINAL_ID_BYTES) throw new OfflineError("bad-format", `terminal id must be ${TERMINAL_ID_BYTES} bytes`);
      log.setConfig(TERMINAL_ID, id);
    }
    return new PosTerminal(log, opts.now ?? Date.now);
  }

  /** Opens an initialised terminal log. */
  static open(file: string, opts: { now?: () => number } = {}): PosTerminal {
    if (!existsSync(file)) throw new OfflineError("bad-format", `${file} is not an initialised terminal log — run \`keycarrier pos init --log ${file} --authority HEX\` first`);
    const log = new PosLog(file);
    if (!log.getConfig(AUTHORITY_KEY)) {
      log.close();
      throw new OfflineError("bad-format", `${file} is not an initialised terminal log — run \`keycarrier pos init --log ${file} --authority HEX\` first`);
    }
    return new PosTerminal(log, opts.now ?? Date.now);
  }

  close(): void {
    this.log.close();
  }

  get authorityPublicKey(): Uint8Array {
    return this.log.getConfig(AUTHORITY_KEY)!;
  }

  get terminalId(): Uint8Array {
    return this.log.getConfig(TERMINAL_ID)!;
  }

  /** The stored revocation list (verified when it was stored), or undefined before the first download. */
  get revocations(): RevocationList | undefined {
    const bytes = this.log.getConfig(REVOCATIONS);
    return bytes ? verifyRevocationList(bytes, this.authorityPublicKey) : undefined;
  }

  /** Verifies and stores a revocation list; an older one than the stored list is refused. */
  setRevocationList(bytes: Uint8Array): RevocationList {
    const list = verifyRevocationList(bytes, this.authorityPublicKey);
    const current = this.revocations;
    if (current && list.sequence < current.sequence) {
      throw new OfflineError("stale-revocation-list", `revocation list ${list.sequence} is older than the stored list ${current.sequence}`);
    }
    this.log.setConfig(REVOCATIONS, bytes);
    return list;
  }

  private refuse(e: unknown, carrierId: string | undefined, amount: number | undefined): never {
    if (e instanceof OfflineError) this.log.noteRefusal(this.now(), carrierId, amount, e.reason, e.message);
    throw e;
  }

  /** Reads and verifies the carrier's license (authority signature, expiry, revocation). */
  async checkLicense(kc: KeyCarrier): Promise<License> {
    const list = this.revocations;
    if (!list) throw new OfflineError("no-revocation-list", "this terminal has no revocation list yet — download one (`keycarrier pos revocations`) before accepting offline payments");
    const bytes = await readLicense(kc);
    return verifyLicense(bytes, this.authorityPublicKey, { today: dateOf(this.now()), revoked: new Set(list.revoked) });
  }

  /**
   * One offline payment: license, request, the cardholder's press, signature; verified and logged.
   * Throws OfflineError (logged as a refusal) when anything does not hold.
   */
  async pay(kc: KeyCarrier, amount: number, currency: string, opts: PayOptions = {}): Promise<AcceptedPayment> {
    let license: License;
    try {
      license = await this.checkLicense(kc);
    } catch (e) {
      return this.refuse(e, undefined, amount);
    }
    const body = license.body;
    const carrierId = hex(body.carrierId);
    const req: OfflinePayRequest = { amount, currency, terminalId: this.terminalId, terminalNonce: Uint8Array.from(randomBytes(16)), date: dateOf(this.now()) };
    try {
      checkPayRequest(req);
      if (currency !== body.currency) throw new OfflineError("currency-mismatch", `the carrier's license allows offline payments in ${body.currency} only, not ${currency}`);
      if (amount > body.perTransactionLimit) throw new OfflineError("over-transaction-limit", `${amount} is over the carrier's per-transaction offline limit ${body.perTransactionLimit} — pay online`);
    } catch (e) {
      return this.refuse(e, carrierId, amount);
    }
    let answer;
    try {
      answer = await offlinePay(kc, req, opts);
    } catch (e) {
      return this.refuse(e, carrierId, amount);
    }
    try {
      // Verified against what THIS terminal asked, with its fresh nonce: an altered amount or a replayed answer fails here.
      const info = verifyAuthorization(body, { ...req, carrierId: body.carrierId, atc: answer.atc, signature: answer.signature });
      const keyHash = createHash("sha256").update(body.publicKey).digest("hex");
      const id = this.log.transaction(() => {
        const seenAtc = this.log.findByAtc(carrierId, answer.atc);
        if (seenAtc) throw new OfflineError("replayed-authorization", `this terminal already logged carrier ${carrierId}'s offline ATC ${answer.atc} (payment ${seenAtc.id})`);
        const seenLeaf = this.log.findByLeaf(keyHash, info.index);
        if (seenLeaf) throw new OfflineError("reused-leaf", `carrier ${carrierId} signed with one-time key ${info.index} again (first in payment ${seenLeaf.id}): its key state is broken — refused, report the carrier`);
        return this.log.insertPayment({
          carrierId, licenseSerial: body.serial, license: license.bytes, keyHash, leafIndex: info.index, atc: answer.atc, amount, currency,
          terminalId: hex(req.terminalId), terminalNonce: hex(req.terminalNonce), date: req.date, signature: answer.signature, createdAt: this.now(),
        });
      });
      return {
        id, carrierId, licenseSerial: body.serial, atc: answer.atc, leafIndex: info.index, amount, currency, date: req.date, terminalNonce: hex(req.terminalNonce),
        signatureBytes: answer.signature.length, licenseBytes: license.bytes.length,
      };
    } catch (e) {
      return this.refuse(e, carrierId, amount);
    }
  }

  /** The JSON record clearing takes (offline-clearing.ts). */
  static record(p: PaymentRow) {
    return {
      license: hex(p.license), amount: p.amount, currency: p.currency, terminalId: p.terminalId, terminalNonce: p.terminalNonce,
      date: p.date, atc: p.atc, signature: hex(p.signature),
    };
  }

  /**
   * Uploads every record without a clearing answer, in batches under the platform's request limit,
   * and stores each record's status. A retry after a lost answer is safe: clearing answers
   * already-cleared for a record it settled before.
   */
  async upload(client: PlatformClient): Promise<UploadSummary> {
    const summary: UploadSummary = { uploaded: 0, cleared: 0, alreadyCleared: 0, refused: [] };
    const pending = this.log.pending();
    let batch: PaymentRow[] = [];
    let size = 0;
    const flush = async () => {
      if (batch.length === 0) return;
      const { results } = await client.clearOffline(batch.map((p) => PosTerminal.record(p)));
      if (!Array.isArray(results) || results.length !== batch.length) throw new OfflineError("bad-format", `the platform answered ${Array.isArray(results) ? results.length : "no"} results for ${batch.length} records`);
      results.forEach((r: ClearingResult, i) => {
        const p = batch[i]!;
        if (r.status === "refused") {
          this.log.setUploadResult(p.id, "refused", r.reason, null, this.now());
          summary.refused.push({ id: p.id, reason: r.reason, message: r.message });
        } else {
          this.log.setUploadResult(p.id, r.status, null, r.clearingId, this.now());
          if (r.status === "cleared") summary.cleared++;
          else summary.alreadyCleared++;
        }
      });
      summary.uploaded += batch.length;
      batch = [];
      size = 0;
    };
    for (const p of pending) {
      const bytes = JSON.stringify(PosTerminal.record(p)).length + 1;
      if (batch.length > 0 && (size + bytes > UPLOAD_BATCH_BYTES || batch.length >= UPLOAD_BATCH_RECORDS)) await flush();
      batch.push(p);
      size += bytes;
    }
    await flush();
    return summary;
  }
}
