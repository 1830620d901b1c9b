/**
 * The reference payment platform's logic, independent of HTTP: issuers and carriers, merchants,
 * payment codes, orders, authorizations and exactly-once settlement, over the durable ledger.
 *
 * The logic (`PlatformOps`) is written once as `Work` (work.ts) and runs on either engine: on the
 * embedded SQLite ledger an operation runs synchronously, so nothing interleaves with it; on
 * PostgreSQL many run at once, in several processes, and the ledger's unique constraints and
 * serializable transactions decide every race (docs/PLATFORM.md §Engines). `Platform` is the
 * handle: `run(ops => ops.x(…))` on any engine, and the same operations as plain synchronous
 * methods on SQLite (in-process callers: personalisation, the CLI, tests).
 */
import { createHash, randomBytes } from "node:crypto";
import { diversifyCarrierKeys, verifyAuthorizationCryptogram, CRYPTOGRAM_BYTES, MAX_ATC, type AuthorizationFields, type CarrierKeys } from "../channel/keys.ts";
import { Ledger, LedgerError, type Row } from "./ledger.ts";
import { all, get, run, tx, type TxOptions, type Work } from "./work.ts";
import { openEngine, type Engine } from "./engine.ts";
import { SecretSealer, type KeyProtection } from "./keystore.ts";
import {
  signPaymentCode, verifyPaymentCode, parsePaymentCode, paymentCodeText, type ParsedPaymentCode, PaymentCodeError, ORDER_REF_BYTES, NONCE_BYTES, QR_KEY_BYTES,
} from "../qr/payload.ts";
import { assertAmountMinor, assertCurrency, AmountError, formatAmount } from "../qr/currency.ts";
import { DEFAULT_RISK_POLICY, checkAuthorizationRisk, effectiveLimits, type RiskPolicy } from "./risk.ts";
import { RefusalAudit, type RefusalAuditOptions } from "./refusal-audit.ts";
import {
  authenticate, adminKeyFile, hasAdminKey, issueApiKey, revokeMerchantKeys, writeKeyFile, type Principal,
} from "./auth.ts";
import { PinVerifier, type ChallengeView, type PinVerifierOptions, type VerdictView } from "./pin-verifier.ts";
import { PinPurpose } from "./online-pin.ts";
import { TransportKeys } from "./transport-keys.ts";
import { confusableWith, screenName, unshowableCharacters } from "./merchant-names.ts";
import { OfflineAuthority, type OfflineAuthorityOptions } from "./offline-authority.ts";
import { Refusal } from "./refusal.ts";
import { OfflineClearing, type ClearingResult } from "./offline-clearing.ts";
import { OfflineError } from "../offline/errors.ts";

/** A refused request: an HTTP status, a stable reason id for programs, and a message for people. */
export class PlatformError extends Error {
  /** Set once the refusal was counted in the bounded refusal audit (so the HTTP layer does not count it again). */
  counted = false;
  constructor(readonly httpStatus: number, readonly reason: string, message: string) {
    super(message);
    this.name = "PlatformError";
  }
}

export const DEFAULT_ISSUER = "dev-issuer";
export const CARRIER_ID_BYTES = 8;
export const ORDER_ID_BYTES = 12;
export const DEFAULT_CODE_TTL_SECONDS = 600;
export const MAX_CODE_TTL_SECONDS = 7 * 24 * 3600;
/** An order may still be authorized this long after its code expired (the carrier step takes time). */
export const AUTHORIZATION_GRACE_SECONDS = 120;

export interface PlatformOptions {
  /** Ledger file; omitted = in memory (tests, benchmarks). */
  dbFile?: string;
  /** Ledger location, a SQLite file or a `postgres://` URL (wins over dbFile). */
  db?: string;
  /** Where the admin key is written when this open creates it; default `<ledger file>.admin-key` (required to create one on PostgreSQL). */
  adminKeyFile?: string;
  /** 32-byte key sealing secrets at rest; omitted = DEV mode (plaintext secrets, see keystore.ts). */
  platformKey?: Uint8Array;
  /** Wall clock in Unix milliseconds (tests move it). */
  now?: () => number;
  /** Fault injection for tests: runs after an authorization is verified and recorded, before it settles. */
  faults?: { afterVerify?: (authorizationId: number) => void };
  /** Issuer risk rules at authorization (risk.ts); unset fields keep DEFAULT_RISK_POLICY. */
  risk?: Partial<RiskPolicy>;
  /** How refused requests reach the audit trail (refusal-audit.ts). */
  refusalAudit?: RefusalAuditOptions;
  /** Accept the public development transport key (TBK_DEV): development only; `npm start` sets it and says so. */
  allowDevTransportKey?: boolean;
  /** The issuer's PIN try limit and verifier cost (tests lower the cost). */
  pin?: PinVerifierOptions;
  /** Offline credit authority (offline-authority.ts); tests use a small authority key. */
  offline?: OfflineAuthorityOptions;
}

export interface CarrierView {
  carrierId: string; issuerId: string; state: string; lastAtc: number; createdAt: number;
  /** Per-payment limit (minor units) and currency the platform enforces at authorization. */
  limit: number; currency: string;
}
export interface MerchantView { merchantId: number; name: string; createdAt: number }
/** A merchant as registered: its API key is in the first answer only (only its hash is stored). */
export interface RegisteredMerchantView extends MerchantView { apiKey?: string }
export interface PaymentCodeView {
  code: string; codeHex: string; merchantId: number; orderRef: string; amount: number; currency: string;
  display: string; expiresAt: number;
}
export interface ValidatedCodeView {
  valid: true; merchantId: number; merchantName: string; orderRef: string; amount: number; currency: string;
  display: string; expiresAt: number;
}
export interface OrderView {
  orderId: string; merchantId: number; merchantName: string; orderRef: string; amount: number; currency: string;
  display: string; state: "open" | "settled"; createdAt: number;
  /** Exactly what the carrier's cryptogram covers (besides carrier id and ATC), as hex/ints. */
  cryptogramFields: { orderId: string; merchantId: string; amount: number; currency: string };
  settlement?: SettlementView;
}
export interface SettlementView {
  settlementId: string; orderId: string; merchantId: number; carrierId: string; atc: number; amount: number;
  currency: string; display: string; settledAt: number;
}
export interface AuditRow { seq: number; at: number; entity: string; entityId: string; action: string; detail: unknown }
export interface AuthorizationRequest { orderId: string; carrierId: string; atc: number; cryptogram: string }

const hex = (b: Uint8Array): string => Buffer.from(b).toString("hex");
const bytes = (h: string): Uint8Array => Uint8Array.from(Buffer.from(h, "hex"));

function isHex(v: unknown, nBytes?: number): v is string {
  return typeof v === "string" && /^([0-9a-f]{2})+$/.test(v) && (nBytes === undefined || v.length === nBytes * 2);
}
function requireHex(field: string, v: unknown, nBytes: number): string {
  if (!isHex(v, nBytes)) throw new PlatformError(400, "bad-request", `${field} must be ${nBytes * 2} lowercase hex digits, got ${JSON.stringify(v)}`);
  return v;
}
/** The cryptogram's merchant id field: the merchant number as 4 bytes big-endian. */
export function merchantIdBytes(merchantId: number): Uint8Array {
  const out = new Uint8Array(4);
  new DataView(out.buffer).setUint32(0, merchantId);
  return out;
}

function requestHash(endpoint: string, request: unknown): string {
  return createHash("sha256").update(endpoint).update("\0").update(JSON.stringify(request)).digest("hex");
}

export function assertIdempotencyKey(key: unknown): asserts key is string | undefined {
  if (key !== undefined && (typeof key !== "string" || !/^[\x21-\x7e]{1,64}$/.test(key))) {
    throw new PlatformError(400, "bad-request", "Idempotency-Key must be 1–64 printable ASCII characters without spaces (a UUID is a good choice)");
  }
}

/** Merchant names are unique by this key: NFKC, spaces collapsed, lower case ("Café", "CAFÉ " collide). */
export function merchantNameKey(name: string): string {
  return name.normalize("NFKC").trim().replace(/\s+/g, " ").toLowerCase();
}
/** Pending refusal counts taken for one aggregated audit row (refusal-audit.ts). */
type TakenRefusals = ReturnType<RefusalAudit["take"]>;

/**
 * The platform: its engine and its operations. `run` works on both engines; the synchronous
 * methods below are the same operations for in-process callers on the embedded SQLite ledger
 * (they refuse a PostgreSQL ledger, whose queries can only be awaited).
 */
export class Platform {
  readonly ops: PlatformOps;
  private flushTimer: NodeJS.Timeout | undefined;

  private constructor(readonly engine: Engine, opts: PlatformOptions) {
    this.ops = new PlatformOps(engine.location, opts);
  }

  /**
   * Opens the ledger (migrating it), creates the admin key on first open, and settles any
   * authorization a crash left verified but unsettled (on PostgreSQL also those another live
   * process is settling: the unique constraints let exactly one of them do it).
   */
  static async open(opts: PlatformOptions = {}): Promise<Platform> {
    const engine = await openEngine(opts.db ?? opts.dbFile);
    const platform = new Platform(engine, opts);
    try {
      await platform.run((o) => o.ensureAdminKey());
      // One operation per authorization: on PostgreSQL a lost race then costs one re-run of that one.
      for (const id of await platform.run((o) => o.pendingAuthorizations())) await platform.run((o) => o.recoverAuthorization(id));
    } catch (e) {
      await engine.close(true);
      throw e;
    }
    // Refusal counts reach the ledger at the next commit, or at the latest after the flush interval.
    platform.flushTimer = setInterval(() => {
      if (platform.refusals.due()) {
        platform.run((o) => o.flushRefusals()).catch(() => {
          /* the ledger is unwritable; the counts stay in memory (restored) and the next commit reports it */
        });
      }
    }, Math.max(1000, Math.min(opts.refusalAudit?.flushIntervalMs ?? 60_000, 60_000)));
    platform.flushTimer.unref();
    return platform;
  }

  /** Runs one operation on the ledger, whatever the engine (PostgreSQL may retry it: engine.ts). */
  run<T>(operation: (ops: PlatformOps) => Work<T>): Promise<T> {
    return this.engine.perform(() => operation(this.ops));
  }

  /** The embedded SQLite ledger (in-process callers and tests); a LedgerError on PostgreSQL. */
  get ledger(): Ledger {
    if (this.engine.kind !== "sqlite") {
      throw new LedgerError("in-process platform calls (provision, personalise, pay --db) need a SQLite ledger file, not a postgres:// URL — serve PostgreSQL with `keycarrier platform serve`; in code: platform.run(ops => …)");
    }
    return this.engine.ledger;
  }

  /** Runs an operation synchronously (SQLite only: in-process callers such as peer.ts's desk). */
  sync<T>(operation: (ops: PlatformOps) => Work<T>): T {
    return this.ledger.perform(operation(this.ops));
  }

  get risk(): RiskPolicy { return this.ops.risk; }
  get refusals(): RefusalAudit { return this.ops.refusals; }
  get keyProtection(): KeyProtection { return this.ops.keyProtection; }
  get devTransportKey(): boolean { return this.ops.devTransportKey; }
  get adminKeyFile(): string | undefined { return this.ops.adminKeyFile; }
  /** The admin API key when this process created it (first open of a ledger), else undefined. */
  get createdAdminKey(): string | undefined { return this.ops.createdAdminKey; }
  set createdAdminKey(key: string | undefined) { this.ops.createdAdminKey = key; }

  noteRefusal(entity: string, entityId: string, err: PlatformError): void { this.ops.noteRefusal(entity, entityId, err); }

  // The operations, synchronously, on the embedded SQLite ledger (see PlatformOps for each).
  authenticate(header: string | undefined): Principal | undefined { return this.sync((o) => o.authenticate(header)); }
  rotateMerchantKey(merchantId: number): { merchantId: number; apiKey: string } { return this.sync((o) => o.rotateMerchantKey(merchantId)); }
  flushRefusals(): void { this.sync((o) => o.flushRefusals()); }
  health(): HealthView { return this.sync((o) => o.health()); }
  issueCarrier(req: Parameters<PlatformOps["issueCarrier"]>[0] = {}, idempotencyKey?: string): CarrierView { return this.sync((o) => o.issueCarrier(req, idempotencyKey)); }
  getCarrier(carrierId: string): CarrierView { return this.sync((o) => o.getCarrier(carrierId)); }
  carrierKeys(carrierId: string): CarrierKeys { return this.sync((o) => o.carrierKeys(carrierId)); }
  provisionTransportKey(transportId: Uint8Array): Uint8Array { return this.sync((o) => o.provisionTransportKey(transportId)); }
  transportChannelKey(transportId: Uint8Array): Uint8Array { return this.sync((o) => o.transportChannelKey(transportId)); }
  pinChallenge(req: Parameters<PlatformOps["pinChallenge"]>[0]): ChallengeView { return this.sync((o) => o.pinChallenge(req)); }
  enrolPin(req: Parameters<PlatformOps["enrolPin"]>[0]): { triesLeft: number } { return this.sync((o) => o.enrolPin(req)); }
  changePin(req: Parameters<PlatformOps["changePin"]>[0]): { verdict: number; triesLeft: number } { return this.sync((o) => o.changePin(req)); }
  verifyOrderPin(req: Parameters<PlatformOps["verifyOrderPin"]>[0]): VerdictView { return this.sync((o) => o.verifyOrderPin(req)); }
  registerMerchant(req: Parameters<PlatformOps["registerMerchant"]>[0], idempotencyKey?: string): RegisteredMerchantView { return this.sync((o) => o.registerMerchant(req, idempotencyKey)); }
  issuePaymentCode(req: Parameters<PlatformOps["issuePaymentCode"]>[0], idempotencyKey?: string): PaymentCodeView { return this.sync((o) => o.issuePaymentCode(req, idempotencyKey)); }
  validatePaymentCode(req: { code?: unknown }): ValidatedCodeView { return this.sync((o) => o.validatePaymentCode(req)); }
  createOrder(req: { code?: unknown }, idempotencyKey?: string): OrderView & { created: boolean } { return this.sync((o) => o.createOrder(req, idempotencyKey)); }
  getOrder(orderId: string): OrderView { return this.sync((o) => o.getOrder(orderId)); }
  getSettlement(settlementId: string): SettlementView { return this.sync((o) => o.getSettlement(settlementId)); }
  authorize(req: Partial<Record<keyof AuthorizationRequest, unknown>>, idempotencyKey?: string): SettlementView { return this.sync((o) => o.authorize(req, idempotencyKey)); }
  recoverPending(): number { return this.sync((o) => o.recoverPending()); }
  auditTrail(opts: Parameters<PlatformOps["auditTrail"]>[0] = {}): AuditRow[] { return this.sync((o) => o.auditTrail(opts)); }
  offlineAuthority(): { publicKey: string; remainingSignatures: number } { return this.sync((o) => o.offlineAuthority()); }
  issueOfflineLicense(req: Parameters<PlatformOps["issueOfflineLicense"]>[0]): { serial: number; carrierId: string; license: string; expiry: number } { return this.sync((o) => o.issueOfflineLicense(req)); }
  revokeOffline(req: Parameters<PlatformOps["revokeOffline"]>[0]): { revoked: number[]; sequence: number; list: string } { return this.sync((o) => o.revokeOffline(req)); }
  offlineRevocations(): { sequence: number; list: string; revoked: number[] } { return this.sync((o) => o.offlineRevocations()); }
  clearOffline(merchantId: number, req: { records?: unknown }): { results: ClearingResult[] } { return this.sync((o) => o.clearOffline(merchantId, req)); }

  /** The credit authority, synchronously (SQLite; personalisation licenses the carrier's key through it). */
  get offline(): SyncOfflineAuthority {
    const a = this.ops.offline;
    return {
      publicKey: () => this.sync(() => a.publicKey()),
      remainingSignatures: () => this.sync(() => a.remainingSignatures()),
      issueLicense: (carrierId, publicKey, limits) => this.sync(() => a.issueLicense(carrierId, publicKey, limits)),
      issueOfflineKey: (carrierId, levels, limits) => this.sync(() => a.issueOfflineKey(carrierId, levels, limits)),
      revoke: (target, reason) => this.sync(() => a.revoke(target, reason)),
      revocationList: () => this.sync(() => a.revocationList()),
    };
  }

  /**
   * Flushes pending refusal counts and closes the ledger. On SQLite everything is done when this
   * returns; on PostgreSQL the returned promise resolves once the pool has closed.
   */
  close(): Promise<void> {
    clearInterval(this.flushTimer);
    if (this.engine.kind === "sqlite") {
      try {
        this.flushRefusals();
      } catch {
        /* closing an unwritable ledger: the counts are lost with the process, as at a crash */
      }
      return this.engine.close(false);
    }
    return this.run((o) => o.flushRefusals()).catch(() => {}).then(() => this.engine.close(false));
  }

  /** Drops the platform without any further write, as a process crash would. */
  crash(): Promise<void> {
    clearInterval(this.flushTimer);
    return this.engine.close(true);
  }
}

/** OfflineAuthority's operations as plain calls (each one operation on the SQLite ledger). */
export type SyncOfflineAuthority = { [K in "publicKey" | "remainingSignatures" | "issueLicense" | "issueOfflineKey" | "revoke" | "revocationList"]:
  OfflineAuthority[K] extends (...args: infer A) => Work<infer R> ? (...args: A) => R : never };

export interface HealthView { ok: true; schemaVersion: number; keyProtection: KeyProtection }

/** The platform's operations, engine-neutral (work.ts). */
export class PlatformOps {
  private readonly sealer: SecretSealer;
  /** The platform clock (Unix ms): PlatformOptions.now or Date.now. */
  readonly now: () => number;
  readonly risk: RiskPolicy;
  readonly refusals: RefusalAudit;
  /**
   * The admin API key when this process created it (first open of a ledger), else undefined. It is
   * also written to `adminKeyFile` (mode 0600); only its hash is in the ledger.
   */
  createdAdminKey: string | undefined;
  readonly adminKeyFile: string | undefined;
  /** The issuer's PIN verifier (peer.ts checks the payer's PIN with it). */
  readonly pins: PinVerifier;
  private readonly transport: TransportKeys;
  /** Offline credit payments: the authority key, licenses, revocations (offline-authority.ts) and clearing. */
  readonly offline: OfflineAuthority;
  private readonly clearing: OfflineClearing;

  constructor(ledgerFile: string | undefined, private readonly opts: PlatformOptions) {
    this.sealer = new SecretSealer(opts.platformKey);
    this.now = opts.now ?? Date.now;
    this.risk = { ...DEFAULT_RISK_POLICY, ...opts.risk };
    this.refusals = new RefusalAudit(this.now, opts.refusalAudit);
    this.adminKeyFile = opts.adminKeyFile ?? (ledgerFile === undefined ? undefined : adminKeyFile(ledgerFile));
    this.pins = new PinVerifier(this.sealer, this.now, opts.pin);
    this.transport = new TransportKeys(this.sealer, this.now, opts.allowDevTransportKey === true);
    this.offline = new OfflineAuthority(this.sealer, this.now, opts.offline);
    this.clearing = new OfflineClearing(this.offline, this.now, (reason, id) => this.refusals.count("offline_clearing", reason, id));
  }

  get devTransportKey(): boolean {
    return this.transport.allowDev;
  }

  get keyProtection(): KeyProtection {
    return this.sealer.protection;
  }

  /**
   * The first admin key, made once per ledger (the check is inside the transaction: on PostgreSQL
   * two processes opening a new ledger together make one key, the other's transaction is retried).
   */
  *ensureAdminKey(): Work<void> {
    let created: string | undefined;
    yield* this.tx(function* (this: PlatformOps) {
      created = undefined;
      if (yield* hasAdminKey()) return;
      const issued = yield* issueApiKey("admin", this.now());
      yield* this.audit("api_key", issued.keyId, "created", { role: "admin", file: this.adminKeyFile ?? null });
      created = issued.apiKey;
    }.bind(this), { serializable: true });
    if (created === undefined) return;
    // Written after the commit (a transaction body may run twice): a crash between the two leaves a
    // ledger whose admin key nobody has — add one in-process with issueApiKey, as for a lost key.
    if (this.adminKeyFile !== undefined) writeKeyFile(this.adminKeyFile, created);
    this.createdAdminKey = created;
  }

  /** Who presents `Authorization: <header>` (undefined: nobody known). Reads only. */
  *authenticate(header: string | undefined): Work<Principal | undefined> {
    return yield* authenticate(header);
  }

  /** A new key for a merchant (the old ones stop working): for a merchant whose key was lost. */
  *rotateMerchantKey(merchantId: number): Work<{ merchantId: number; apiKey: string }> {
    if (!(yield* this.merchantRow(merchantId))) throw new PlatformError(404, "unknown-merchant", `merchant ${merchantId} is not registered`);
    return yield* this.tx(function* (this: PlatformOps) {
      const revoked = yield* revokeMerchantKeys(merchantId, this.now());
      const issued = yield* issueApiKey("merchant", this.now(), merchantId);
      yield* this.audit("api_key", issued.keyId, "created", { role: "merchant", merchantId, revoked });
      return { merchantId, apiKey: issued.apiKey };
    }.bind(this));
  }

  /** Counts a refusal in the bounded refusal audit: no ledger write of its own. */
  noteRefusal(entity: string, entityId: string, err: PlatformError): void {
    if (err.counted) return;
    err.counted = true;
    this.refusals.count(entity, err.reason, entityId);
  }

  /** Writes pending refusal counts as one aggregated audit row (one commit). */
  *flushRefusals(): Work<void> {
    if (this.refusals.pending === 0) return;
    yield* this.tx(function* () {});
  }

  /**
   * One ledger transaction; pending refusal counts ride along as one aggregated audit row. The
   * counts are put back if the transaction does not commit, and before the body runs again (a
   * PostgreSQL retry), so a retried or failed transaction loses none.
   */
  private *tx<T>(body: () => Work<T>, opts: TxOptions = {}): Work<T> {
    let taken: TakenRefusals;
    const putBack = () => {
      if (taken) this.refusals.restore(taken);
      taken = undefined;
    };
    try {
      return yield* tx(function* (this: PlatformOps) {
        putBack();
        const result = yield* body();
        taken = this.refusals.take();
        if (taken) yield* this.audit("platform", "refusals", "refused", taken);
        return result;
      }.bind(this), opts);
    } catch (e) {
      putBack();
      throw e;
    }
  }

  *health(): Work<HealthView> {
    const row = yield* get("SELECT max(version) AS v FROM schema_version");
    return { ok: true, schemaVersion: Number(row?.v ?? 0), keyProtection: this.sealer.protection };
  }

  private *audit(entity: string, entityId: string | number, action: string, detail: object): Work<void> {
    yield* run("INSERT INTO audit (at, entity, entity_id, action, detail) VALUES (?, ?, ?, ?, ?)", [
      this.now(), entity, String(entityId), action, JSON.stringify(detail),
    ]);
  }

  /**
   * Counts a refusal in the bounded refusal audit (no ledger write of its own: refusal-audit.ts),
   * then throws it.
   */
  private reject(entity: string, entityId: string, err: PlatformError): never {
    this.noteRefusal(entity, entityId, err);
    throw err;
  }

  /**
   * Runs `body` once per Idempotency-Key: a repeat with the same request gets the stored answer,
   * a repeat with a different request is refused. The stored answer commits with the effect.
   */
  private *idempotent<T>(key: string | undefined, endpoint: string, request: unknown, body: () => Work<T>, opts: TxOptions = {}): Work<T> {
    assertIdempotencyKey(key);
    if (key === undefined) return yield* this.tx(body, opts);
    const hash = requestHash(endpoint, request);
    return yield* this.tx(function* (this: PlatformOps) {
      const stored = yield* this.storedAnswer<T>(key, hash);
      if (stored !== undefined) return stored;
      const result = yield* body();
      yield* this.storeAnswer(key, endpoint, hash, result);
      return result;
    }.bind(this), opts);
  }

  private *storedAnswer<T>(key: string, hash: string): Work<T | undefined> {
    const row = yield* get("SELECT request_hash, response FROM idempotency WHERE idempotency_key = ?", [key]);
    if (!row) return undefined;
    if (row.request_hash !== hash) {
      throw new PlatformError(409, "idempotency-key-reused", `Idempotency-Key "${key}" was already used for a different request — use a fresh key per intent`);
    }
    return JSON.parse(String(row.response)) as T;
  }

  private *storeAnswer(key: string, endpoint: string, hash: string, result: unknown): Work<void> {
    yield* run("INSERT INTO idempotency (idempotency_key, endpoint, request_hash, status, response, created_at) VALUES (?, ?, ?, ?, ?, ?)", [
      key, endpoint, hash, 200, JSON.stringify(result), this.now(),
    ]);
  }

  // ---- issuers and carriers -------------------------------------------------------------

  private *issuerMasterKey(issuerId: string): Work<Uint8Array> {
    const row = yield* get("SELECT master_key, key_protection FROM issuers WHERE issuer_id = ?", [issuerId]);
    if (!row) throw new PlatformError(404, "unknown-issuer", `issuer "${issuerId}" does not exist`);
    return this.sealer.open(row.master_key as Uint8Array, String(row.key_protection), `issuer ${issuerId} master key`);
  }

  private *ensureIssuer(issuerId: string): Work<void> {
    if (yield* get("SELECT 1 FROM issuers WHERE issuer_id = ?", [issuerId])) return;
    const sealed = this.sealer.seal(randomBytes(32), `issuer ${issuerId} master key`);
    yield* run("INSERT INTO issuers (issuer_id, master_key, key_protection, created_at) VALUES (?, ?, ?, ?)", [
      issuerId, sealed, this.sealer.protection, this.now(),
    ]);
    yield* this.audit("issuer", issuerId, "created", { keyProtection: this.sealer.protection });
  }

  /**
   * Creates a carrier identity under an issuer (created with a fresh master key if new), with the
   * per-payment limit (minor units) and currency the platform will enforce; personalisation installs
   * the same limit on the carrier.
   */
  *issueCarrier(req: { issuerId?: unknown; limit?: unknown; currency?: unknown } = {}, idempotencyKey?: string): Work<CarrierView> {
    const issuerId = req.issuerId ?? DEFAULT_ISSUER;
    if (typeof issuerId !== "string" || !/^[a-z0-9-]{1,32}$/.test(issuerId)) {
      throw new PlatformError(400, "bad-request", `issuerId must be 1–32 characters of a-z, 0-9 and "-", got ${JSON.stringify(issuerId)}`);
    }
    const limit = req.limit ?? this.risk.defaultLimitMinor;
    const currency = req.currency ?? this.risk.defaultCurrency;
    try {
      assertAmountMinor(limit);
      assertCurrency(currency);
    } catch (e) {
      throw new PlatformError(400, "bad-request", `carrier limit/currency: ${(e as AmountError).message}`);
    }
    return yield* this.idempotent(idempotencyKey, "issue-carrier", { issuerId, limit, currency }, function* (this: PlatformOps): Work<CarrierView> {
      yield* this.ensureIssuer(issuerId);
      const carrierId = hex(randomBytes(CARRIER_ID_BYTES));
      const at = this.now();
      yield* run("INSERT INTO carriers (carrier_id, issuer_id, state, last_atc, created_at, limit_minor, currency) VALUES (?, ?, 'issued', 0, ?, ?, ?)", [
        carrierId, issuerId, at, limit, currency,
      ]);
      yield* this.audit("carrier", carrierId, "issued", { issuerId, limit, currency });
      return { carrierId, issuerId, state: "issued", lastAtc: 0, createdAt: at, limit, currency };
    }.bind(this));
  }

  *getCarrier(carrierId: string): Work<CarrierView> {
    const row = yield* get("SELECT * FROM carriers WHERE carrier_id = ?", [carrierId]);
    if (!row) throw new PlatformError(404, "unknown-carrier", `carrier ${carrierId} was never issued by this platform`);
    const { limitMinor, currency } = effectiveLimits({ limitMinor: row.limit_minor === null ? null : Number(row.limit_minor), currency: row.currency === null ? null : String(row.currency), lastAtc: 0 }, this.risk);
    return {
      carrierId, issuerId: String(row.issuer_id), state: String(row.state), lastAtc: Number(row.last_atc), createdAt: Number(row.created_at),
      limit: limitMinor, currency,
    };
  }

  /**
   * The carrier's diversified keys, for the personalisation session (in-process only: the HTTP
   * API never returns keys). Derived on demand from the issuer master key; never stored.
   */
  *carrierKeys(carrierId: string): Work<CarrierKeys> {
    const carrier = yield* this.getCarrier(carrierId);
    return diversifyCarrierKeys(yield* this.issuerMasterKey(carrier.issuerId), bytes(carrierId));
  }

  // ---- offline credit payments (offline-authority.ts, offline-clearing.ts; docs/OFFLINE.md) ---

  /** Runs offline work, turning its refusals (OfflineRefusal, OfflineError) into PlatformErrors. */
  private *offlineRefusing<T>(body: () => Work<T>): Work<T> {
    try {
      return yield* body();
    } catch (e) {
      if (e instanceof Refusal) throw new PlatformError(e.httpStatus, e.reason, e.message);
      if (e instanceof OfflineError) throw new PlatformError(400, e.reason, e.message);
      throw e;
    }
  }

  /** The credit authority's HSS public key (terminals pre-store it). */
  *offlineAuthority(): Work<{ publicKey: string; remainingSignatures: number }> {
    return yield* this.offlineRefusing(function* (this: PlatformOps) {
      return { publicKey: hex(yield* this.offline.publicKey()), remainingSignatures: yield* this.offline.remainingSignatures() };
    }.bind(this));
  }

  /** Admin: licenses a carrier's HSS public key (the carrier generated it). */
  *issueOfflineLicense(req: { carrierId?: unknown; publicKey?: unknown; currency?: unknown; perTransactionLimit?: unknown; cumulativeLimit?: unknown; expiry?: unknown }): Work<{ serial: number; carrierId: string; license: string; expiry: number }> {
    const carrierId = requireHex("carrierId", req.carrierId, CARRIER_ID_BYTES);
    if (!isHex(req.publicKey)) throw new PlatformError(400, "bad-request", "publicKey must be the carrier's HSS public key in lowercase hex");
    return yield* this.offlineRefusing(function* (this: PlatformOps) {
      const issued = yield* this.offline.issueLicense(carrierId, bytes(req.publicKey as string), {
        currency: req.currency as string, perTransactionLimit: req.perTransactionLimit as number, cumulativeLimit: req.cumulativeLimit as number,
        ...(req.expiry === undefined ? {} : { expiry: req.expiry as number }),
      });
      return { serial: issued.serial, carrierId, license: hex(issued.license), expiry: issued.body.expiry };
    }.bind(this));
  }

  /** Admin: revokes a license (serial) or all licenses of a carrier (carrierId); returns the new signed list. */
  *revokeOffline(req: { serial?: unknown; carrierId?: unknown; reason?: unknown }): Work<{ revoked: number[]; sequence: number; list: string }> {
    return yield* this.offlineRefusing(function* (this: PlatformOps) {
      const target = req.serial !== undefined ? { serial: req.serial as number } : { carrierId: requireHex("carrierId", req.carrierId, CARRIER_ID_BYTES) };
      const r = yield* this.offline.revoke(target, typeof req.reason === "string" ? req.reason : "");
      return { revoked: r.revoked, sequence: r.list.sequence, list: hex(r.list.list) };
    }.bind(this));
  }

  /** The newest signed revocation list (terminals verify it with the authority key). */
  *offlineRevocations(): Work<{ sequence: number; list: string; revoked: number[] }> {
    return yield* this.offlineRefusing(function* (this: PlatformOps) {
      const r = yield* this.offline.revocationList();
      return { sequence: r.sequence, list: hex(r.list), revoked: r.revoked };
    }.bind(this));
  }

  /** A merchant's terminal uploads its offline log: a status per record (offline-clearing.ts). */
  *clearOffline(merchantId: number, req: { records?: unknown }): Work<{ results: ClearingResult[] }> {
    if (!(yield* this.merchantRow(merchantId))) throw new PlatformError(404, "unknown-merchant", `merchant ${merchantId} is not registered`);
    return yield* this.offlineRefusing(function* (this: PlatformOps) {
      return { results: yield* this.clearing.clear(merchantId, req.records) };
    }.bind(this));
  }

  // ---- transport keys and online PIN (transport-keys.ts, pin-verifier.ts) ------------------

  /** Factory step (in-process only): the kc.tk bytes for a carrier's transport id. */
  *provisionTransportKey(transportId: Uint8Array): Work<Uint8Array> {
    return yield* this.refusing(() => this.transport.provision(transportId));
  }

  /** The transport channel key of a provisioned carrier (in-process only, for the personalisation session). */
  *transportChannelKey(transportId: Uint8Array): Work<Uint8Array> {
    return yield* this.refusing(() => this.transport.channelKey(transportId));
  }

  private *refusing<T>(body: () => Work<T>): Work<T> {
    try {
      return yield* body();
    } catch (e) {
      if (e instanceof Refusal) throw new PlatformError(e.httpStatus, e.reason, e.message);
      throw e;
    }
  }

  /** A single-use challenge and the platform's PIN key for one PIN block (purpose pay needs the order). */
  *pinChallenge(req: { carrierId?: unknown; orderId?: unknown; purpose?: unknown }): Work<ChallengeView> {
    const carrierId = requireHex("carrierId", req.carrierId, CARRIER_ID_BYTES);
    yield* this.getCarrier(carrierId);
    const purposes: Record<string, PinPurpose> = { pay: PinPurpose.PAY, enrol: PinPurpose.ENROL, change: PinPurpose.CHANGE_OLD };
    const purpose = typeof req.purpose === "string" ? purposes[req.purpose] : undefined;
    if (purpose === undefined) throw new PlatformError(400, "bad-request", `purpose must be "pay", "enrol" or "change", got ${JSON.stringify(req.purpose)}`);
    const orderId = purpose === PinPurpose.PAY ? (yield* this.getOrder(requireHex("orderId", req.orderId, ORDER_ID_BYTES))).orderId : "";
    return yield* this.pins.challenge(carrierId, orderId, purpose);
  }

  /** Personalisation: the carrier's first PIN, as a PIN block (the carrier never sees it). */
  *enrolPin(req: { carrierId?: unknown; challenge?: unknown; pinBlock?: unknown }): Work<{ triesLeft: number }> {
    const carrierId = requireHex("carrierId", req.carrierId, CARRIER_ID_BYTES);
    return yield* this.refusing(function* (this: PlatformOps) {
      const r = yield* this.pins.enrol(carrierId, req.challenge, req.pinBlock);
      yield* this.tx(() => this.audit("carrier", carrierId, "pin-enrolled", {}));
      return r;
    }.bind(this));
  }

  /** PIN change, host ↔ platform: the old PIN is checked and counted. */
  *changePin(req: { carrierId?: unknown; challenge?: unknown; oldPinBlock?: unknown; newPinBlock?: unknown }): Work<{ verdict: number; triesLeft: number }> {
    const carrierId = requireHex("carrierId", req.carrierId, CARRIER_ID_BYTES);
    if ((yield* this.getCarrier(carrierId)).state !== "issued") throw new PlatformError(403, "carrier-blocked", `carrier ${carrierId} is blocked`);
    return yield* this.refusing(function* (this: PlatformOps) {
      const r = yield* this.pins.change(carrierId, req.challenge, req.oldPinBlock, req.newPinBlock);
      yield* this.tx(() => this.audit("carrier", carrierId, r.verdict === 0 ? "pin-changed" : "pin-change-refused", { verdict: r.verdict, triesLeft: r.triesLeft }));
      return r;
    }.bind(this));
  }

  /**
   * The online PIN check of a payment: the verdict (counted against the issuer's try limit) and its
   * MAC for the carrier, bound to the carrier nonce of the session PAY will travel in and the channel
   * counter of that PAY request.
   */
  *verifyOrderPin(req: { orderId?: unknown; carrierId?: unknown; challenge?: unknown; pinBlock?: unknown; sessionNonce?: unknown; requestCounter?: unknown }): Work<VerdictView> {
    const orderId = requireHex("orderId", req.orderId, ORDER_ID_BYTES);
    const carrierId = requireHex("carrierId", req.carrierId, CARRIER_ID_BYTES);
    const sessionNonce = bytes(requireHex("sessionNonce", req.sessionNonce, 16));
    const requestCounter = req.requestCounter;
    if (typeof requestCounter !== "number" || !Number.isInteger(requestCounter) || requestCounter < 0 || requestCounter > 0xffffffff) {
      throw new PlatformError(400, "bad-request", `requestCounter must be the channel counter of the PAY request (0 … 4294967295), got ${JSON.stringify(requestCounter)}`);
    }
    const order = yield* this.getOrder(orderId);
    const carrier = yield* this.getCarrier(carrierId);
    const { cryptogramKey } = diversifyCarrierKeys(yield* this.issuerMasterKey(carrier.issuerId), bytes(carrierId));
    return yield* this.refusing(function* (this: PlatformOps) {
      const v = yield* this.pins.verifyForOrder({
        carrierId, orderId, challenge: req.challenge, pinBlock: req.pinBlock, sessionNonce, requestCounter, cryptogramKey, carrierBlocked: carrier.state !== "issued",
        // merchantName: the registered name as a carrier's screen shows it (verdict format 2, PAY field 0)
        fields: { orderId: bytes(orderId), merchantId: merchantIdBytes(order.merchantId), amount: order.amount, currency: order.currency, merchantName: screenName(order.merchantName) },
      });
      yield* this.tx(() => this.audit("order", orderId, "pin-verdict", { carrierId, verdict: v.verdict, triesLeft: v.triesLeft }));
      return v;
    }.bind(this));
  }

  // ---- merchants and payment codes ------------------------------------------------------

  /**
   * Registers a merchant with a fresh QR key and API key. The API key is in this answer only (a
   * repeat with the same Idempotency-Key gets the merchant without it: rotateMerchantKey then).
   */
  *registerMerchant(req: { name?: unknown; merchantId?: unknown }, idempotencyKey?: string): Work<RegisteredMerchantView> {
    const { name, merchantId } = req;
    if (typeof name !== "string" || name.trim() === "" || name.length > 64) {
      throw new PlatformError(400, "bad-request", `name must be 1–64 characters, got ${JSON.stringify(name)}`);
    }
    if (merchantId !== undefined && (typeof merchantId !== "number" || !Number.isInteger(merchantId) || merchantId < 1 || merchantId > 0xffffffff)) {
      throw new PlatformError(400, "bad-request", `merchantId must be an integer 1 … 4294967295, got ${JSON.stringify(merchantId)}`);
    }
    const nameKey = merchantNameKey(name);
    let apiKey: string | undefined;
    const view: MerchantView = yield* this.idempotent(idempotencyKey, "register-merchant", { name, merchantId }, function* (this: PlatformOps): Work<MerchantView> {
      apiKey = undefined;
      const id = merchantId ?? Number((yield* get("SELECT coalesce(max(merchant_id), 0) + 1 AS next FROM merchants"))!.next);
      if (yield* get("SELECT 1 FROM merchants WHERE merchant_id = ?", [id])) {
        throw new PlatformError(409, "merchant-exists", `merchant ${id} is already registered — omit merchantId to get a new one`);
      }
      const taken = yield* get("SELECT merchant_id, name FROM merchants WHERE name_key = ?", [nameKey]);
      if (taken) {
        throw new PlatformError(409, "merchant-name-taken", `the name ${JSON.stringify(name)} is taken by merchant ${String(taken.merchant_id)} (${JSON.stringify(taken.name)}); names are unique ignoring case and spacing`);
      }
      const alike = confusableWith(name, (yield* all("SELECT merchant_id, name FROM merchants")).map((r) => ({ id: Number(r.merchant_id), name: String(r.name) })));
      if (alike) {
        throw new PlatformError(409, "merchant-name-confusable", `the name ${JSON.stringify(name)} looks like merchant ${alike.id}'s ${JSON.stringify(alike.name)} ` +
          `(the same after NFKC, case folding, accents and Unicode confusables, e.g. Cyrillic "а" for Latin "a"): a payer could not tell them apart — choose a distinct name`);
      }
      const unshowable = unshowableCharacters(name);
      if (unshowable.length > 0) {
        throw new PlatformError(400, "merchant-name-unshowable", `the name ${JSON.stringify(name)} has characters a carrier's screen cannot show (${unshowable.map((c) => JSON.stringify(c)).join(", ")}): ` +
          `carriers draw printable ASCII and Latin-1 (U+0020–U+007E, U+00A0–U+00FF) — register the name in those letters`);
      }
      const sealed = this.sealer.seal(randomBytes(QR_KEY_BYTES), `merchant ${id} QR key`);
      const at = this.now();
      yield* run("INSERT INTO merchants (merchant_id, name, qr_key, key_protection, created_at, name_key) VALUES (?, ?, ?, ?, ?, ?)", [id, name, sealed, this.sealer.protection, at, nameKey]);
      const issued = yield* issueApiKey("merchant", at, id);
      yield* this.audit("merchant", id, "registered", { name, keyId: issued.keyId });
      apiKey = issued.apiKey;
      return { merchantId: id, name, createdAt: at };
      // Serializable on PostgreSQL: "no existing name looks like this one" is read from every row,
      // which no unique constraint can enforce (two confusable names registered at once would both pass).
    }.bind(this), { serializable: true });
    return apiKey === undefined ? view : { ...view, apiKey };
  }

  private *merchantRow(merchantId: number): Work<Row | undefined> {
    return yield* get("SELECT * FROM merchants WHERE merchant_id = ?", [merchantId]);
  }

  private *merchantQrKey(merchantId: number): Work<Uint8Array | undefined> {
    const row = yield* this.merchantRow(merchantId);
    return row ? this.sealer.open(row.qr_key as Uint8Array, String(row.key_protection), `merchant ${merchantId} QR key`) : undefined;
  }

  /** Issues a signed payment code for an amount the merchant asks; the QR text is `code`. */
  *issuePaymentCode(req: { merchantId?: unknown; amount?: unknown; currency?: unknown; orderRef?: unknown; ttlSeconds?: unknown }, idempotencyKey?: string): Work<PaymentCodeView> {
    const { merchantId, amount, currency } = req;
    const ttl = req.ttlSeconds ?? DEFAULT_CODE_TTL_SECONDS;
    try {
      assertAmountMinor(amount);
      assertCurrency(currency);
    } catch (e) {
      throw new PlatformError(400, "bad-request", (e as AmountError).message);
    }
    if (typeof ttl !== "number" || !Number.isInteger(ttl) || ttl < 1 || ttl > MAX_CODE_TTL_SECONDS) {
      throw new PlatformError(400, "bad-request", `ttlSeconds must be an integer 1 … ${MAX_CODE_TTL_SECONDS}, got ${JSON.stringify(ttl)}`);
    }
    const orderRef = req.orderRef === undefined ? undefined : requireHex("orderRef", req.orderRef, ORDER_REF_BYTES);
    if (typeof merchantId !== "number") throw new PlatformError(400, "bad-request", `merchantId must be a number, got ${JSON.stringify(merchantId)}`);
    return yield* this.idempotent(idempotencyKey, "issue-code", { merchantId, amount, currency, orderRef, ttl }, function* (this: PlatformOps): Work<PaymentCodeView> {
      const qrKey = yield* this.merchantQrKey(merchantId);
      if (!qrKey) throw new PlatformError(404, "unknown-merchant", `merchant ${merchantId} is not registered — run \`keycarrier merchant register\` first`);
      const ref = orderRef ?? hex(randomBytes(ORDER_REF_BYTES));
      if (yield* get("SELECT 1 FROM payment_codes WHERE merchant_id = ? AND order_ref = ?", [merchantId, ref])) {
        throw new PlatformError(409, "order-ref-used", `merchant ${merchantId} already has a payment code for order reference ${ref}`);
      }
      const expiresAt = Math.floor(this.now() / 1000) + ttl;
      const nonce = randomBytes(NONCE_BYTES);
      const code = signPaymentCode({ merchantId, orderRef: bytes(ref), amount, currency, expiresAt, nonce }, qrKey);
      const inserted = yield* get(
        "INSERT INTO payment_codes (merchant_id, order_ref, nonce, amount, currency, expires_at_s, code_hex, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING code_id",
        [merchantId, ref, hex(nonce), amount, currency, expiresAt, hex(code), this.now()],
      );
      const codeId = Number(inserted!.code_id);
      yield* this.audit("payment_code", codeId, "issued", { merchantId, orderRef: ref, amount, currency, expiresAt });
      return { code: paymentCodeText(code), codeHex: hex(code), merchantId, orderRef: ref, amount, currency, display: formatAmount(amount, currency), expiresAt };
    }.bind(this));
  }

  /** Authenticates a scanned code; refuses it with the reason (expired, forged, truncated, not ours …). */
  private *checkCode(code: unknown): Work<{ row: Row; merchantName: string; parsed: ParsedPaymentCode }> {
    if (typeof code !== "string" || code.length === 0 || code.length > 512) {
      throw new PlatformError(400, "bad-request", "code must be the payment code text as scanned (a non-empty string)");
    }
    let parsed;
    try {
      const merchantId = parsePaymentCode(code).merchantId; // structure only: which merchant's key to check the MAC with
      const qrKey = yield* this.merchantQrKey(merchantId);
      parsed = verifyPaymentCode(code, () => qrKey, Math.floor(this.now() / 1000));
    } catch (e) {
      if (e instanceof PaymentCodeError) throw new PlatformError(422, e.reason, e.message);
      throw e;
    }
    const row = yield* get("SELECT * FROM payment_codes WHERE code_hex = ?", [hex(parsed.bytes)]);
    // A valid MAC means the platform signed it; a missing row means the ledger lost it (restored backup).
    if (!row) throw new PlatformError(422, "unknown-code", "this payment code is authentic but not in the ledger — ask the merchant for a new one");
    return { row, merchantName: String((yield* this.merchantRow(parsed.merchantId))!.name), parsed };
  }

  *validatePaymentCode(req: { code?: unknown }): Work<ValidatedCodeView> {
    const { row, merchantName, parsed } = yield* this.checkCode(req.code);
    const order = yield* get("SELECT state FROM orders WHERE code_id = ?", [row.code_id!]);
    if (order?.state === "settled") throw new PlatformError(409, "code-already-paid", "this payment code was already paid — ask the merchant for a new one");
    return {
      valid: true, merchantId: parsed.merchantId, merchantName, orderRef: hex(parsed.orderRef), amount: parsed.amount,
      currency: parsed.currency, display: formatAmount(parsed.amount, parsed.currency), expiresAt: parsed.expiresAt,
    };
  }

  /** One order per code: creating it again returns the same open order. */
  *createOrder(req: { code?: unknown }, idempotencyKey?: string): Work<OrderView & { created: boolean }> {
    assertIdempotencyKey(idempotencyKey);
    const request = { code: req.code };
    if (idempotencyKey !== undefined) {
      const stored = yield* this.storedAnswer<OrderView & { created: boolean }>(idempotencyKey, requestHash("create-order", request));
      if (stored) return stored;
    }
    let checked: { row: Row; parsed: ParsedPaymentCode };
    try {
      checked = yield* this.checkCode(req.code);
    } catch (e) {
      if (e instanceof PlatformError) this.reject("payment_code", "scanned", e);
      throw e;
    }
    const { row, parsed } = checked;
    // An order that exists is answered without a transaction: re-scanning a code costs no ledger write.
    const known = yield* get("SELECT order_id, state FROM orders WHERE code_id = ?", [row.code_id!]);
    if (known?.state === "open") return { ...(yield* this.getOrder(String(known.order_id))), created: false };
    return yield* this.idempotent(idempotencyKey, "create-order", request, function* (this: PlatformOps): Work<OrderView & { created: boolean }> {
      const existing = yield* get("SELECT order_id, state FROM orders WHERE code_id = ?", [row.code_id!]);
      if (existing?.state === "settled") throw new PlatformError(409, "code-already-paid", `this payment code was already paid (order ${String(existing.order_id)}) — ask the merchant for a new one`);
      if (existing) return { ...(yield* this.getOrder(String(existing.order_id))), created: false };
      const orderId = hex(randomBytes(ORDER_ID_BYTES));
      yield* run("INSERT INTO orders (order_id, code_id, merchant_id, amount, currency, state, created_at) VALUES (?, ?, ?, ?, ?, 'open', ?)", [
        orderId, row.code_id!, parsed.merchantId, parsed.amount, parsed.currency, this.now(),
      ]);
      yield* this.audit("order", orderId, "created", { merchantId: parsed.merchantId, amount: parsed.amount, currency: parsed.currency, codeId: row.code_id });
      return { ...(yield* this.getOrder(orderId)), created: true };
    }.bind(this));
  }

  *getOrder(orderId: string): Work<OrderView> {
    const row = isHex(orderId, ORDER_ID_BYTES)
      ? yield* get("SELECT o.*, m.name AS merchant_name, c.order_ref FROM orders o JOIN merchants m USING (merchant_id) JOIN payment_codes c USING (code_id) WHERE o.order_id = ?", [orderId])
      : undefined;
    if (!row) throw new PlatformError(404, "unknown-order", `order ${orderId} does not exist — create it from a payment code first`);
    const amount = Number(row.amount);
    const currency = String(row.currency);
    const merchantId = Number(row.merchant_id);
    const view: OrderView = {
      orderId, merchantId, merchantName: String(row.merchant_name), orderRef: String(row.order_ref), amount, currency,
      display: formatAmount(amount, currency), state: row.state as OrderView["state"], createdAt: Number(row.created_at),
      cryptogramFields: { orderId, merchantId: hex(merchantIdBytes(merchantId)), amount, currency },
    };
    const settlement = yield* get("SELECT settlement_id FROM settlements WHERE order_id = ?", [orderId]);
    if (settlement) view.settlement = yield* this.getSettlement(String(settlement.settlement_id));
    return view;
  }

  *getSettlement(settlementId: string): Work<SettlementView> {
    const row = yield* get("SELECT s.*, a.atc FROM settlements s JOIN authorizations a USING (authorization_id) WHERE settlement_id = ?", [settlementId]);
    if (!row) throw new PlatformError(404, "unknown-settlement", `settlement ${settlementId} does not exist`);
    const amount = Number(row.amount);
    const currency = String(row.currency);
    return {
      settlementId, orderId: String(row.order_id), merchantId: Number(row.merchant_id), carrierId: String(row.carrier_id),
      atc: Number(row.atc), amount, currency, display: formatAmount(amount, currency), settledAt: Number(row.created_at),
    };
  }

  // ---- authorization and settlement -----------------------------------------------------

  /**
   * Verifies the carrier's cryptogram for an order and settles it, exactly once:
   * 1. (one transaction) the verified authorization is recorded, claiming (carrier, ATC) and the order;
   * 2. (one transaction) the settlement row, the order and authorization states, the audit rows and
   *    the idempotent answer commit together.
   * A crash between 1 and 2 leaves a 'verified' authorization that the next start settles
   * (recoverPending), and a retry of the same request finds it and gets the same settlement.
   * On PostgreSQL two processes may run this for the same order at once: the loser of either
   * transaction hits a unique constraint (authorizations per order and per (carrier, ATC);
   * settlements per order and per authorization) and the whole operation runs again, finding what
   * the winner recorded (engine.ts) — so the checks here decide the answer, the constraints the outcome.
   */
  *authorize(req: Partial<Record<keyof AuthorizationRequest, unknown>>, idempotencyKey?: string): Work<SettlementView> {
    assertIdempotencyKey(idempotencyKey);
    const orderId = requireHex("orderId", req.orderId, ORDER_ID_BYTES);
    const carrierId = requireHex("carrierId", req.carrierId, CARRIER_ID_BYTES);
    const cryptogram = requireHex("cryptogram", req.cryptogram, CRYPTOGRAM_BYTES);
    const atc = req.atc;
    if (typeof atc !== "number" || !Number.isInteger(atc) || atc < 1 || atc > MAX_ATC) {
      throw new PlatformError(400, "bad-request", `atc must be an integer 1 … ${MAX_ATC}, got ${JSON.stringify(atc)}`);
    }
    const request: AuthorizationRequest = { orderId, carrierId, atc, cryptogram };
    const hash = requestHash("authorize", request);

    if (idempotencyKey !== undefined) {
      const stored = yield* this.storedAnswer<SettlementView>(idempotencyKey, hash);
      if (stored) return stored;
    }
    const order = yield* this.getOrder(orderId);
    const carrier = yield* this.getCarrier(carrierId);
    if (carrier.state !== "issued") this.reject("carrier", carrierId, new PlatformError(403, "carrier-blocked", `carrier ${carrierId} is blocked`));
    // Online PIN: a cryptogram alone (K_ac can be read from a carrier's flash) never settles.
    if (!(yield* this.pins.verifiedFor(orderId, carrierId))) {
      this.reject("order", orderId, new PlatformError(403, "pin-not-verified", `no PIN was verified online for order ${orderId} and carrier ${carrierId} — the cardholder's PIN must reach the platform first`));
    }
    const fields: AuthorizationFields = {
      carrierId: bytes(carrierId), orderId: bytes(orderId), merchantId: merchantIdBytes(order.merchantId),
      amount: order.amount, currency: order.currency, atc,
    };
    const { cryptogramKey } = diversifyCarrierKeys(yield* this.issuerMasterKey(carrier.issuerId), fields.carrierId);

    const same = yield* get("SELECT * FROM authorizations WHERE carrier_id = ? AND atc = ? AND order_id = ? AND cryptogram = ?", [carrierId, atc, orderId, cryptogram]);
    if (same) {
      // This very authorization was verified before. Finish it, or say it is a replay.
      const mine = idempotencyKey !== undefined && same.idempotency_key === idempotencyKey;
      if (same.state === "verified") return yield* this.settle(Number(same.authorization_id), "resumed");
      const s = yield* get("SELECT settlement_id FROM settlements WHERE authorization_id = ?", [same.authorization_id!]);
      if (mine) return yield* this.getSettlement(String(s!.settlement_id));
      this.reject("order", orderId, new PlatformError(409, "replayed", `this authorization (carrier ${carrierId}, ATC ${atc}) was already settled as ${String(s?.settlement_id)} — a replayed or duplicated request; nothing was charged again`));
    }
    // Only new authorizations expire: one already verified (above) is finished whatever the time.
    const expiresAt = Number((yield* get("SELECT c.expires_at_s FROM orders o JOIN payment_codes c USING (code_id) WHERE o.order_id = ?", [orderId]))!.expires_at_s);
    if (order.state === "open" && this.now() / 1000 >= expiresAt + AUTHORIZATION_GRACE_SECONDS) {
      this.reject("order", orderId, new PlatformError(409, "order-expired", `order ${orderId} expired (its payment code ran out at ${new Date(expiresAt * 1000).toISOString()}, plus ${AUTHORIZATION_GRACE_SECONDS} s grace) — ask the merchant for a new code`));
    }
    const atcUsed = (yield* get("SELECT 1 FROM authorizations WHERE carrier_id = ? AND atc = ?", [carrierId, atc])) !== undefined;
    const orderAlreadyAuthorized = (yield* get("SELECT 1 FROM authorizations WHERE order_id = ?", [orderId])) !== undefined;
    const verdict = verifyAuthorizationCryptogram(cryptogramKey, fields, bytes(cryptogram), { atcUsed, orderAlreadyAuthorized });
    if (!verdict.ok) {
      const status = verdict.reason === "bad-cryptogram" ? 422 : 409;
      this.reject("order", orderId, new PlatformError(status, verdict.reason, verdict.detail));
    }
    // The cryptogram is genuine; whether the issuer accepts this payment is the risk rules' call
    // (a clone holding K_ac computes genuine cryptograms too).
    const risk = yield* this.riskVerdict(carrierId, order, atc);
    if (risk.refusal) this.reject("carrier", carrierId, new PlatformError(risk.refusal.httpStatus, risk.refusal.reason, risk.refusal.message));
    const authorizationId = yield* this.tx(function* (this: PlatformOps): Work<number> {
      const inserted = yield* get(
        "INSERT INTO authorizations (order_id, carrier_id, atc, cryptogram, idempotency_key, request_hash, state, created_at) VALUES (?, ?, ?, ?, ?, ?, 'verified', ?) RETURNING authorization_id",
        [orderId, carrierId, atc, cryptogram, idempotencyKey ?? null, hash, this.now()],
      );
      const id = Number(inserted!.authorization_id);
      yield* run("UPDATE carriers SET last_atc = ? WHERE carrier_id = ? AND last_atc < ?", [atc, carrierId, atc]);
      yield* this.audit("authorization", id, "verified", { orderId, carrierId, atc });
      if (risk.gap > 0) yield* this.audit("carrier", carrierId, "atc-gap", { from: atc - risk.gap - 1, to: atc, skipped: risk.gap });
      return id;
    }.bind(this));
    this.opts.faults?.afterVerify?.(authorizationId);
    return yield* this.settle(authorizationId, "settled");
  }

  private *riskVerdict(carrierId: string, order: OrderView, atc: number): Work<ReturnType<typeof checkAuthorizationRisk>> {
    const row = (yield* get("SELECT limit_minor, currency, last_atc FROM carriers WHERE carrier_id = ?", [carrierId]))!;
    const recent = (yield* get(
      "SELECT count(*) AS n, coalesce(sum(amount), 0) AS total FROM settlements WHERE carrier_id = ? AND created_at > ?",
      [carrierId, this.now() - this.risk.windowMs],
    ))!;
    return checkAuthorizationRisk(
      { limitMinor: row.limit_minor === null ? null : Number(row.limit_minor), currency: row.currency === null ? null : String(row.currency), lastAtc: Number(row.last_atc) },
      order, atc, { count: Number(recent.n), amount: Number(recent.total) }, this.risk,
    );
  }

  /**
   * Step 2: one transaction; the unique constraints make a second settlement of the order
   * impossible (on PostgreSQL the loser of a race hits them and its operation runs again).
   */
  private *settle(authorizationId: number, how: "settled" | "resumed" | "recovered"): Work<SettlementView> {
    return yield* this.tx(function* (this: PlatformOps): Work<SettlementView> {
      const auth = (yield* get("SELECT a.*, o.merchant_id, o.amount, o.currency FROM authorizations a JOIN orders o USING (order_id) WHERE authorization_id = ?", [authorizationId]))!;
      const settlementId = hex(randomBytes(8));
      yield* run(
        "INSERT INTO settlements (settlement_id, order_id, authorization_id, merchant_id, carrier_id, amount, currency, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        [settlementId, auth.order_id!, authorizationId, auth.merchant_id!, auth.carrier_id!, auth.amount!, auth.currency!, this.now()],
      );
      if ((yield* run("UPDATE orders SET state = 'settled' WHERE order_id = ? AND state = 'open'", [auth.order_id!])) !== 1) {
        throw new PlatformError(409, "order-settled", `order ${String(auth.order_id)} is not open`);
      }
      yield* run("UPDATE authorizations SET state = 'settled' WHERE authorization_id = ? AND state = 'verified'", [authorizationId]);
      yield* this.audit("order", String(auth.order_id), "settled", { settlementId, authorizationId, how });
      const view = yield* this.getSettlement(settlementId);
      if (auth.idempotency_key !== null) yield* this.storeAnswer(String(auth.idempotency_key), "authorize", String(auth.request_hash), view);
      return view;
    }.bind(this));
  }

  /** Authorizations a crash left verified (transaction 1 committed, transaction 2 not), oldest first. */
  *pendingAuthorizations(): Work<number[]> {
    return (yield* all("SELECT authorization_id FROM authorizations WHERE state = 'verified' ORDER BY authorization_id")).map((r) => Number(r.authorization_id));
  }

  /**
   * Settles one authorization a crash left verified, unless it is settled already. On PostgreSQL
   * another live process may be settling it at this moment: one of the two hits the unique
   * constraints, and its operation runs again — this check then finds it settled. Returns whether
   * this call settled it.
   */
  *recoverAuthorization(authorizationId: number): Work<boolean> {
    const row = yield* get("SELECT state FROM authorizations WHERE authorization_id = ?", [authorizationId]);
    if (row?.state !== "verified") return false;
    yield* this.settle(authorizationId, "recovered");
    return true;
  }

  /** Settles every authorization a crash left verified, in one go (SQLite: nothing else runs meanwhile). Returns how many. */
  *recoverPending(): Work<number> {
    let settled = 0;
    for (const id of yield* this.pendingAuthorizations()) if (yield* this.recoverAuthorization(id)) settled++;
    return settled;
  }

  *auditTrail(opts: { afterSeq?: number; entity?: string; entityId?: string; limit?: number } = {}): Work<AuditRow[]> {
    const where: string[] = ["seq > ?"];
    const params: (string | number)[] = [opts.afterSeq ?? 0];
    if (opts.entity !== undefined) { where.push("entity = ?"); params.push(opts.entity); }
    if (opts.entityId !== undefined) { where.push("entity_id = ?"); params.push(opts.entityId); }
    params.push(Math.min(opts.limit ?? 1000, 1000));
    return (yield* all(`SELECT * FROM audit WHERE ${where.join(" AND ")} ORDER BY seq LIMIT ?`, params)).map((r) => ({
      seq: Number(r.seq), at: Number(r.at), entity: String(r.entity), entityId: String(r.entity_id), action: String(r.action), detail: JSON.parse(String(r.detail)),
    }));
  }
}
