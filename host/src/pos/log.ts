/**
 * The terminal's own log (SQLite via better-sqlite3, one file under --log): its configuration (the
 * pre-stored authority public key, its terminal id, the newest verified revocation list), every
 * authorization it accepted, its refusals, and the clearing status of each uploaded record.
 * Unique constraints refuse a second record for the same carrier ATC, one-time key or nonce.
 */
import Database from "better-sqlite3";

const SCHEMA = `
CREATE TABLE IF NOT EXISTS pos_config (name TEXT PRIMARY KEY, value BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS pos_payments (
  id              INTEGER PRIMARY KEY,
  carrier_id      TEXT NOT NULL,
  license_serial  INTEGER NOT NULL,
  license         BLOB NOT NULL,
  key_hash        TEXT NOT NULL,
  leaf_index      INTEGER NOT NULL,
  atc             INTEGER NOT NULL,
  amount          INTEGER NOT NULL,
  currency        TEXT NOT NULL,
  terminal_id     TEXT NOT NULL,
  terminal_nonce  TEXT NOT NULL,
  txn_date        INTEGER NOT NULL,
  signature       BLOB NOT NULL,
  created_at      INTEGER NOT NULL,
  upload_status   TEXT,
  upload_reason   TEXT,
  clearing_id     TEXT,
  uploaded_at     INTEGER,
  UNIQUE (carrier_id, atc),
  UNIQUE (key_hash, leaf_index),
  UNIQUE (terminal_nonce)
);
CREATE TABLE IF NOT EXISTS pos_refusals (
  id         INTEGER PRIMARY KEY,
  at         INTEGER NOT NULL,
  carrier_id TEXT,
  amount     INTEGER,
  reason     TEXT NOT NULL,
  message    TEXT NOT NULL
);`;

export interface PaymentRow {
  id: number; carrierId: string; licenseSerial: number; license: Uint8Array; keyHash: string; leafIndex: number; atc: number;
  amount: number; currency: string; terminalId: string; terminalNonce: string; date: number; signature: Uint8Array; createdAt: number;
  uploadStatus: string | null; uploadReason: string | null; clearingId: string | null;
}

type Raw = Record<string, unknown>;

function toPayment(r: Raw): PaymentRow {
  return {
    id: Number(r.id), carrierId: String(r.carrier_id), licenseSerial: Number(r.license_serial), license: new Uint8Array(r.license as Buffer),
    keyHash: String(r.key_hash), leafIndex: Number(r.leaf_index), atc: Number(r.atc), amount: Number(r.amount), currency: String(r.currency),
    terminalId: String(r.terminal_id), terminalNonce: String(r.terminal_nonce), date: Number(r.txn_date), signature: new Uint8Array(r.signature as Buffer),
    createdAt: Number(r.created_at), uploadStatus: r.upload_status === null ? null : String(r.upload_status),
    uploadReason: r.upload_reason === null ? null : String(r.upload_reason), clearingId: r.clearing_id === null ? null : String(r.clearing_id),
  };
}

export class PosLog {
  private readonly db: Database.Database;

  constructor(readonly file: string) {
    this.db = new Database(file);
    this.db.pragma("journal_mode = WAL");
    this.db.pragma("synchronous = FULL");
    this.db.exec(SCHEMA);
  }

  close(): void {
    this.db.close();
  }

  getConfig(name: string): Uint8Array | undefined {
    const row = this.db.prepare("SELECT value FROM pos_config WHERE name = ?").get(name) as { value: Buffer } | undefined;
    return row ? new Uint8Array(row.value) : undefined;
  }

  setConfig(name: string, value: Uint8Array): void {
    this.db.prepare("INSERT INTO pos_config (name, value) VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET value = excluded.value").run(name, Buffer.from(value));
  }

  /** Runs `fn` in one transaction (the checks and the insert of an authorization). */
  transaction<T>(fn: () => T): T {
    return this.db.transaction(fn).immediate();
  }

  findByAtc(carrierId: string, atc: number): PaymentRow | undefined {
    const r = this.db.prepare("SELECT * FROM pos_payments WHERE carrier_id = ? AND atc = ?").get(carrierId, atc) as Raw | undefined;
    return r ? toPayment(r) : undefined;
  }

  findByLeaf(keyHash: string, leaf: number): PaymentRow | undefined {
    const r = this.db.prepare("SELECT * FROM pos_payments WHERE key_hash = ? AND leaf_index = ?").get(keyHash, leaf) as Raw | undefined;
    return r ? toPayment(r) : undefined;
  }

  insertPayment(p: Omit<PaymentRow, "id" | "uploadStatus" | "uploadReason" | "clearingId">): number {
    const r = this.db.prepare(`INSERT INTO pos_payments (carrier_id, license_serial, license, key_hash, leaf_index, atc, amount, currency, terminal_id, terminal_nonce, txn_date, signature, created_at)
      VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`).run(
      p.carrierId, p.licenseSerial, Buffer.from(p.license), p.keyHash, p.leafIndex, p.atc, p.amount, p.currency, p.terminalId, p.terminalNonce, p.date, Buffer.from(p.signature), p.createdAt,
    );
    return Number(r.lastInsertRowid);
  }

  noteRefusal(at: number, carrierId: string | undefined, amount: number | undefined, reason: string, message: string): void {
    this.db.prepare("INSERT INTO pos_refusals (at, carrier_id, amount, reason, message) VALUES (?, ?, ?, ?, ?)").run(at, carrierId ?? null, amount ?? null, reason, message);
  }

  refusals(): Array<{ at: number; carrierId: string | null; amount: number | null; reason: string; message: string }> {
    return (this.db.prepare("SELECT * FROM pos_refusals ORDER BY id").all() as Raw[]).map((r) => ({
      at: Number(r.at), carrierId: r.carrier_id === null ? null : String(r.carrier_id), amount: r.amount === null ? null : Number(r.amount), reason: String(r.reason), message: String(r.message),
    }));
  }

  payments(): PaymentRow[] {
    return (this.db.prepare("SELECT * FROM pos_payments ORDER BY id").all() as Raw[]).map(toPayment);
  }

  /** Records not yet settled or refused by clearing (never uploaded, or uploaded without an answer). */
  pending(): PaymentRow[] {
    return (this.db.prepare("SELECT * FROM pos_payments WHERE upload_status IS NULL ORDER BY id").all() as Raw[]).map(toPayment);
  }

  setUploadResult(id: number, status: string, reason: string | null, clearingId: string | null, at: number): void {
    this.db.prepare("UPDATE pos_payments SET upload_status = ?, upload_reason = ?, clearing_id = ?, uploaded_at = ? WHERE id = ?").run(status, reason, clearingId, at, id);
  }
}
