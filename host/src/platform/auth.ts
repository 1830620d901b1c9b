/**
 * API keys of the platform's HTTP API (docs/PLATFORM.md §"API keys"): an admin key (registers
 * merchants, issues carriers, reads the audit trail) and one key per merchant (mints codes for
 * itself, reads its own orders). A key is `kc_<role letter>_<key id>_<secret>`: the id (8 random
 * bytes, hex) names the row, the secret is 32 random bytes (base64url). Only SHA-256 of the whole
 * key text is stored; a presented key is hashed and compared with the stored hash in constant time.
 * The key text itself is shown once, when created.
 */
import { createHash, randomBytes, timingSafeEqual } from "node:crypto";
import { closeSync, openSync, writeSync, fsyncSync, unlinkSync } from "node:fs";
import { get, run, type Work } from "./work.ts";

export type Role = "admin" | "merchant";

/** Who made a request: the admin, one merchant, or nobody (no or an unknown key). */
export type Principal = { role: "admin"; keyId: string } | { role: "merchant"; keyId: string; merchantId: number };

export const API_KEY_HEADER = "authorization";
const KEY_PATTERN = /^kc_([am])_([0-9a-f]{16})_([A-Za-z0-9_-]{43})$/;

export interface IssuedKey { keyId: string; apiKey: string; role: Role; merchantId?: number }

function sha256Hex(text: string): string {
  return createHash("sha256").update(text, "utf8").digest("hex");
}

/** Creates a key and stores its hash (inside the caller's transaction when there is one). */
export function* issueApiKey(role: Role, at: number, merchantId?: number): Work<IssuedKey> {
  const keyId = randomBytes(8).toString("hex");
  const apiKey = `kc_${role === "admin" ? "a" : "m"}_${keyId}_${randomBytes(32).toString("base64url")}`;
  yield* run("INSERT INTO api_keys (key_id, key_hash, role, merchant_id, created_at) VALUES (?, ?, ?, ?, ?)", [
    keyId, sha256Hex(apiKey), role, role === "merchant" ? merchantId! : null, at,
  ]);
  return { keyId, apiKey, role, ...(role === "merchant" ? { merchantId } : {}) };
}

/** Revokes every live key of a merchant (before a new one is issued). Returns how many. */
export function* revokeMerchantKeys(merchantId: number, at: number): Work<number> {
  return yield* run("UPDATE api_keys SET revoked_at = ? WHERE merchant_id = ? AND revoked_at IS NULL", [at, merchantId]);
}

/**
 * The principal of `Authorization: Bearer <key>`, or undefined for a missing, malformed, unknown or
 * revoked key. Reads only: an unknown key costs no ledger write.
 */
export function* authenticate(header: string | undefined): Work<Principal | undefined> {
  if (header === undefined) return undefined;
  const m = /^Bearer ([\x21-\x7e]{1,128})$/.exec(header);
  if (!m) return undefined;
  const key = m[1]!;
  const parts = KEY_PATTERN.exec(key);
  if (!parts) return undefined;
  const row = yield* get("SELECT key_hash, role, merchant_id FROM api_keys WHERE key_id = ? AND revoked_at IS NULL", [parts[2]!]);
  if (!row) return undefined;
  const presented = Buffer.from(sha256Hex(key), "hex");
  const stored = Buffer.from(String(row.key_hash), "hex");
  if (stored.length !== presented.length || !timingSafeEqual(stored, presented)) return undefined;
  const role = String(row.role) as Role;
  if ((role === "admin") !== (parts[1] === "a")) return undefined;
  return role === "admin" ? { role, keyId: parts[2]! } : { role, keyId: parts[2]!, merchantId: Number(row.merchant_id) };
}

export function* hasAdminKey(): Work<boolean> {
  return (yield* get("SELECT 1 FROM api_keys WHERE role = 'admin' AND revoked_at IS NULL")) !== undefined;
}

/** Where `platform serve` (and any first open of a ledger file) writes the admin key: next to the ledger, mode 0600. */
export function adminKeyFile(ledgerFile: string): string {
  return `${ledgerFile}.admin-key`;
}

/** Writes the key text to `file`, readable by the owner only, replacing a stale file. */
export function writeKeyFile(file: string, apiKey: string): void {
  try {
    unlinkSync(file);
  } catch {
    /* none */
  }
  const fd = openSync(file, "wx", 0o600);
  try {
    writeSync(fd, `${apiKey}\n`);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}
