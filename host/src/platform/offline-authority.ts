/**
 * The credit authority of offline payments (docs/OFFLINE.md §Platform): an HSS key held by the
 * platform, the licenses it signs at personalisation, their revocation and the signed revocation
 * list terminals download.
 *
 * The authority key is created on first use, its private state sealed like the issuers' master keys
 * (keystore.ts). Every signature advances the state's one-time key index; the advanced, re-sealed
 * state is written in the same ledger transaction as what the signature is for, before the
 * signature can leave the platform. A transaction that rolls back leaves no released signature and
 * the signer is rebuilt from the ledger on its next use, so the ledger's index is always the truth.
 */
import { createHash, randomBytes } from "node:crypto";
import type { Row } from "./ledger.ts";
import { all, get, run, tx, type Work } from "./work.ts";
import type { SecretSealer } from "./keystore.ts";
import { HssSigner, LMOTS, LMS, LmsError, hssCapacity, hssKeyFromSeed, parseHssPublicKey, parseHssState, type HssLevel } from "../lms/index.ts";
import { dateOf, requireDate } from "../offline/fields.ts";
import { encodeLicense, encodeLicenseBody, licenseSignedMessage, type LicenseBody } from "../offline/license.ts";
import { encodeRevocationBody, encodeRevocationList, revocationSignedMessage } from "../offline/revocations.ts";
import { OfflineError } from "../offline/errors.ts";
import { assertAmountMinor, assertCurrency } from "../qr/currency.ts";
import { Refusal } from "./refusal.ts";

export const AUTHORITY_ID = "default";
/**
 * Authority key: 2 levels of H10 with W8 — 2^20 (about a million) licenses and revocation lists,
 * a 2,964-byte signature. W8 because the license travels to a terminal with every offline payment
 * (W4 would make it 5,076 bytes: 7 more 480-byte chunks per payment); the price is key generation,
 * a few seconds per 1,024-leaf tree on the host (the top tree at first use, a bottom tree every
 * 1,024 signatures) — bench section offline-host.
 */
export const DEFAULT_AUTHORITY_LEVELS: readonly HssLevel[] = Object.freeze([
  { lms: LMS.LMS_SHA256_M32_H10, ots: LMOTS.LMOTS_SHA256_N32_W8 },
  { lms: LMS.LMS_SHA256_M32_H10, ots: LMOTS.LMOTS_SHA256_N32_W8 },
]);
/** A license without an explicit expiry is valid this long. */
export const DEFAULT_LICENSE_DAYS = 365;

export interface OfflineAuthorityOptions {
  /** HSS levels of the authority key when it is created (tests use small trees). */
  authorityLevels?: readonly HssLevel[];
}

/** A refused offline request: HTTP status, stable reason, message (service.ts turns it into a PlatformError). */
export class OfflineRefusal extends Refusal {}

export interface LicenseLimits {
  currency: string;
  perTransactionLimit: number;
  cumulativeLimit: number;
  /** YYYYMMDD; default today + DEFAULT_LICENSE_DAYS. */
  expiry?: number;
}

export interface IssuedLicense {
  serial: number;
  carrierId: string;
  /** The signed license, as the carrier stores and presents it. */
  license: Uint8Array;
  body: LicenseBody;
}

export interface IssuedOfflineKey extends IssuedLicense {
  /** The carrier's HSS private state (lms/hss.ts format): for the PERSONALISE payload only, never stored here. */
  privateState: Uint8Array;
  seed: Uint8Array;
  I: Uint8Array;
  levels: readonly HssLevel[];
  publicKey: Uint8Array;
}

export interface RevocationListView {
  sequence: number;
  list: Uint8Array;
  revoked: number[];
}

const hex = (b: Uint8Array): string => Buffer.from(b).toString("hex");
export const keyHash = (publicKey: Uint8Array): string => createHash("sha256").update(publicKey).digest("hex");

function limitsOf(l: LicenseLimits, today: number): Required<LicenseLimits> {
  try {
    assertCurrency(l.currency);
    assertAmountMinor(l.perTransactionLimit);
    assertAmountMinor(l.cumulativeLimit);
  } catch (e) {
    throw new OfflineRefusal(400, "bad-request", `license limits: ${(e as Error).message}`);
  }
  if (l.cumulativeLimit < l.perTransactionLimit) throw new OfflineRefusal(400, "bad-request", `the cumulative offline limit (${l.cumulativeLimit}) must be at least the per-transaction limit (${l.perTransactionLimit})`);
  let expiry: number;
  try {
    expiry = l.expiry === undefined ? addDays(today, DEFAULT_LICENSE_DAYS) : requireDate("expiry", l.expiry);
  } catch (e) {
    throw new OfflineRefusal(400, "bad-request", (e as Error).message);
  }
  if (expiry < today) throw new OfflineRefusal(400, "bad-request", `expiry ${expiry} is in the past (today ${today})`);
  return { currency: l.currency, perTransactionLimit: l.perTransactionLimit, cumulativeLimit: l.cumulativeLimit, expiry };
}

function addDays(yyyymmdd: number, days: number): number {
  const t = Date.UTC(Math.floor(yyyymmdd / 10000), (Math.floor(yyyymmdd / 100) % 100) - 1, yyyymmdd % 100);
  return dateOf(t + days * 86_400_000);
}

export class OfflineAuthority {
  private signer: HssSigner | undefined;
  private readonly levels: readonly HssLevel[];

  constructor(private readonly sealer: SecretSealer, private readonly now: () => number, opts: OfflineAuthorityOptions = {}) {
    this.levels = opts.authorityLevels ?? DEFAULT_AUTHORITY_LEVELS;
  }

  private label(): string {
    return `offline authority ${AUTHORITY_ID} private state`;
  }

  private *row(): Work<Row | undefined> {
    return yield* get("SELECT public_key, private_state, key_protection, next_index FROM offline_authority WHERE authority_id = ?", [AUTHORITY_ID]);
  }

  /**
   * The authority's HSS public key (RFC 8554), creating the key (and an empty revocation list) on
   * first use. Read from the ledger: no tree is built for it (terminals and clearing only verify).
   * Two processes creating it at once: the primary key lets one win, the other's operation runs again.
   */
  *publicKey(): Work<Uint8Array> {
    const row = yield* this.row();
    if (row) return new Uint8Array(row.public_key as Uint8Array);
    return yield* tx(function* (this: OfflineAuthority) {
      const again = yield* this.row();
      return again ? new Uint8Array(again.public_key as Uint8Array) : (yield* this.createKey()).publicKey;
    }.bind(this));
  }

  /** The signer matching the ledger's state: rebuilt whenever the in-memory index differs from the stored one. */
  private *currentSigner(): Work<HssSigner> {
    const row = yield* this.row();
    if (!row) return yield* this.createKey();
    const next = Number(row.next_index);
    // The cached signer only if it is the ledger's key at the ledger's index (a key made by a
    // transaction that rolled back, or that lost a race with another process, is not).
    if (this.signer && this.signer.next === next && Buffer.from(this.signer.publicKey).equals(Buffer.from(row.public_key as Uint8Array))) return this.signer;
    const state = this.sealer.open(row.private_state as Uint8Array, String(row.key_protection), this.label());
    const signer = new HssSigner(state);
    if (signer.next !== next) throw new OfflineRefusal(503, "authority-key-inconsistent", `the authority key's sealed state is at index ${signer.next}, the ledger says ${next}: refusing to sign`);
    this.signer = signer;
    return signer;
  }

  private *createKey(): Work<HssSigner> {
    const signer = new HssSigner(hssKeyFromSeed(this.levels, randomBytes(32), randomBytes(16)));
    yield* run("INSERT INTO offline_authority (authority_id, public_key, private_state, key_protection, next_index, created_at) VALUES (?, ?, ?, ?, 0, ?)", [
      AUTHORITY_ID, signer.publicKey, this.sealer.seal(signer.serialisedState, this.label()), this.sealer.protection, this.now(),
    ]);
    this.signer = signer;
    yield* this.publishRevocations();
    return signer;
  }

  /**
   * Signs inside the caller's transaction, which stores the advanced state: the signature leaves the
   * platform only once that transaction committed. The conditional UPDATE claims the index (on
   * PostgreSQL the callers' transactions are serializable: a concurrent signer's commit makes this
   * one fail to serialize and run again from the ledger's new index).
   */
  private *sign(message: Uint8Array): Work<{ signature: Uint8Array; index: number }> {
    const signer = yield* this.currentSigner();
    const index = signer.next;
    let advanced: Uint8Array | undefined;
    let signature: Uint8Array;
    try {
      signature = signer.sign(message, (state) => (advanced = state));
    } catch (e) {
      if (e instanceof LmsError) throw new OfflineRefusal(503, "authority-key-exhausted", `the credit authority cannot sign: ${e.message}`);
      throw e;
    }
    const changed = yield* run("UPDATE offline_authority SET private_state = ?, key_protection = ?, next_index = ? WHERE authority_id = ? AND next_index = ?", [
      this.sealer.seal(advanced!, this.label()), this.sealer.protection, index + 1, AUTHORITY_ID, index,
    ]);
    if (changed !== 1) throw new OfflineRefusal(503, "authority-key-inconsistent", "the authority key's index moved under this signature: refusing to sign");
    return { signature, index };
  }

  /** How many more licenses and revocation lists the authority key can sign. */
  *remainingSignatures(): Work<number> {
    yield* this.publicKey();
    const row = (yield* this.row())!;
    const state = parseHssState(this.sealer.open(row.private_state as Uint8Array, String(row.key_protection), this.label()));
    return hssCapacity(state.levels) - Number(row.next_index);
  }

  private *carrier(carrierId: string): Work<void> {
    if (typeof carrierId !== "string" || !/^[0-9a-f]{16}$/.test(carrierId)) throw new OfflineRefusal(400, "bad-request", `carrierId must be 16 lowercase hex digits, got ${JSON.stringify(carrierId)}`);
    const row = yield* get("SELECT state FROM carriers WHERE carrier_id = ?", [carrierId]);
    if (!row) throw new OfflineRefusal(404, "unknown-carrier", `carrier ${carrierId} was never issued by this platform`);
    if (row.state !== "issued") throw new OfflineRefusal(403, "carrier-blocked", `carrier ${carrierId} is blocked: no offline license`);
  }

  /** Certifies a carrier's HSS public key (the carrier generated its key): signs and records a license. */
  *issueLicense(carrierId: string, publicKey: Uint8Array, limits: LicenseLimits): Work<IssuedLicense> {
    const today = dateOf(this.now());
    const l = limitsOf(limits, today);
    try {
      parseHssPublicKey(publicKey);
    } catch (e) {
      throw new OfflineRefusal(400, "bad-request", `carrier public key: ${(e as Error).message}`);
    }
    yield* this.publicKey(); // the key exists before the signing transaction (its creation signs too)
    return yield* tx(function* (this: OfflineAuthority): Work<IssuedLicense> {
      yield* this.carrier(carrierId);
      const serial = Number((yield* get("SELECT COALESCE(max(serial), 0) + 1 AS s FROM offline_licenses"))!.s);
      const body: LicenseBody = {
        carrierId: Uint8Array.from(Buffer.from(carrierId, "hex")), publicKey: publicKey.slice(), currency: l.currency,
        perTransactionLimit: l.perTransactionLimit, cumulativeLimit: l.cumulativeLimit, expiry: l.expiry, serial,
      };
      let bodyBytes: Uint8Array;
      try {
        bodyBytes = encodeLicenseBody(body);
      } catch (e) {
        if (e instanceof OfflineError) throw new OfflineRefusal(400, "bad-request", e.message);
        throw e;
      }
      const { signature, index } = yield* this.sign(licenseSignedMessage(bodyBytes));
      const license = encodeLicense(bodyBytes, signature);
      yield* run(
        "INSERT INTO offline_licenses (serial, carrier_id, public_key, key_hash, currency, per_tx_limit, cumulative_limit, expiry, license, authority_index, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [serial, carrierId, hex(publicKey), keyHash(publicKey), l.currency, l.perTransactionLimit, l.cumulativeLimit, l.expiry, license, index, this.now()],
      );
      yield* this.audit("offline_license", String(serial), "issued", { carrierId, currency: l.currency, perTransactionLimit: l.perTransactionLimit, cumulativeLimit: l.cumulativeLimit, expiry: l.expiry, authorityIndex: index });
      return { serial, carrierId, license, body };
    }.bind(this), { serializable: true });
  }

  /**
   * Generates the carrier's HSS key here (issuer-side key generation at personalisation) and
   * licenses it. The private state goes into the PERSONALISE payload; the platform keeps only the
   * public key. (The key is made before any query: a re-run of the operation makes a new one, and
   * only the licensed one is returned.)
   */
  *issueOfflineKey(carrierId: string, levels: readonly HssLevel[], limits: LicenseLimits): Work<IssuedOfflineKey> {
    const seed = Uint8Array.from(randomBytes(32));
    const I = Uint8Array.from(randomBytes(16));
    let signer: HssSigner;
    try {
      signer = new HssSigner(hssKeyFromSeed(levels, seed, I));
    } catch (e) {
      if (e instanceof LmsError) throw new OfflineRefusal(400, "bad-request", `carrier key parameters: ${e.message}`);
      throw e;
    }
    const issued = yield* this.issueLicense(carrierId, signer.publicKey, limits);
    return { ...issued, privateState: signer.serialisedState, seed, I, levels: signer.levels, publicKey: signer.publicKey };
  }

  /** Revokes one license, or every live license of a carrier; publishes a new signed list when anything changed. */
  *revoke(target: { serial?: number; carrierId?: string }, reason: string): Work<{ revoked: number[]; list: RevocationListView }> {
    if (typeof reason !== "string" || reason.length === 0 || reason.length > 200) throw new OfflineRefusal(400, "bad-request", "a revocation needs a reason of 1–200 characters");
    yield* this.publicKey();
    return yield* tx(function* (this: OfflineAuthority) {
      let serials: number[];
      if (target.serial !== undefined) {
        if (!Number.isSafeInteger(target.serial)) throw new OfflineRefusal(400, "bad-request", `serial must be an integer, got ${JSON.stringify(target.serial)}`);
        const row = yield* get("SELECT revoked_at FROM offline_licenses WHERE serial = ?", [target.serial]);
        if (!row) throw new OfflineRefusal(404, "unknown-license", `no offline license ${target.serial}`);
        serials = row.revoked_at === null ? [target.serial] : [];
      } else if (target.carrierId !== undefined) {
        if (!(yield* get("SELECT 1 FROM carriers WHERE carrier_id = ?", [target.carrierId]))) throw new OfflineRefusal(404, "unknown-carrier", `carrier ${target.carrierId} was never issued by this platform`);
        serials = (yield* all("SELECT serial FROM offline_licenses WHERE carrier_id = ? AND revoked_at IS NULL ORDER BY serial", [target.carrierId])).map((r) => Number(r.serial));
      } else {
        throw new OfflineRefusal(400, "bad-request", "name the license (serial) or the carrier (carrierId) to revoke");
      }
      for (const s of serials) {
        yield* run("UPDATE offline_licenses SET revoked_at = ?, revoked_reason = ? WHERE serial = ?", [this.now(), reason, s]);
        yield* this.audit("offline_license", String(s), "revoked", { reason });
      }
      if (serials.length > 0) yield* this.publishRevocations();
      return { revoked: serials, list: yield* this.revocationList() };
    }.bind(this), { serializable: true });
  }

  /** Signs and stores the list of all revoked serials under the next sequence number. */
  private *publishRevocations(): Work<void> {
    const sequence = Number((yield* get("SELECT COALESCE(max(sequence), 0) + 1 AS s FROM offline_revocation_lists"))!.s);
    const revoked = (yield* all("SELECT serial FROM offline_licenses WHERE revoked_at IS NOT NULL ORDER BY serial")).map((r) => Number(r.serial));
    const body = encodeRevocationBody({ sequence, issuedAt: Math.floor(this.now() / 1000), revoked });
    const { signature, index } = yield* this.sign(revocationSignedMessage(body));
    yield* run("INSERT INTO offline_revocation_lists (sequence, list, authority_index, created_at) VALUES (?, ?, ?, ?)", [sequence, encodeRevocationList(body, signature), index, this.now()]);
  }

  /** The newest signed revocation list (made with the authority key). */
  *revocationList(): Work<RevocationListView> {
    yield* this.publicKey();
    const row = (yield* get("SELECT sequence, list FROM offline_revocation_lists ORDER BY sequence DESC LIMIT 1"))!;
    const revoked = (yield* all("SELECT serial FROM offline_licenses WHERE revoked_at IS NOT NULL ORDER BY serial")).map((r) => Number(r.serial));
    return { sequence: Number(row.sequence), list: new Uint8Array(row.list as Uint8Array), revoked };
  }

  private *audit(entity: string, entityId: string, action: string, detail: object): Work<void> {
    yield* run("INSERT INTO audit (at, entity, entity_id, action, detail) VALUES (?, ?, ?, ?, ?)", [this.now(), entity, entityId, action, JSON.stringify(detail)]);
  }
}
