/** Field checks shared by the offline formats: every value is checked at the boundary, with its name in the error. */
import { OfflineError } from "./errors.ts";
import { assertAmountMinor, assertCurrency, AmountError } from "../qr/currency.ts";

export const CARRIER_ID_BYTES = 8;
export const TERMINAL_ID_BYTES = 8;
export const TERMINAL_NONCE_BYTES = 16;

export function bad(message: string): never {
  throw new OfflineError("bad-format", message);
}

export function requireBytes(field: string, v: unknown, length?: number): Uint8Array {
  if (!(v instanceof Uint8Array)) bad(`${field} must be a byte string`);
  if (length !== undefined && v.length !== length) bad(`${field} must be ${length} bytes, got ${v.length}`);
  return v;
}

export function requireUint(field: string, v: unknown, max = Number.MAX_SAFE_INTEGER): number {
  if (typeof v !== "number" || !Number.isSafeInteger(v) || v < 0 || v > max) bad(`${field} must be an unsigned integer up to ${max}, got ${JSON.stringify(v)}`);
  return v;
}

export function requireAmount(field: string, v: unknown): number {
  try {
    assertAmountMinor(v);
  } catch (e) {
    bad(`${field}: ${(e as AmountError).message}`);
  }
  return v;
}

export function requireCurrency(field: string, v: unknown): string {
  try {
    assertCurrency(v);
  } catch (e) {
    bad(`${field}: ${(e as AmountError).message}`);
  }
  return v;
}

/** A calendar date as the uint YYYYMMDD (e.g. 20261207). */
export function requireDate(field: string, v: unknown): number {
  const n = requireUint(field, v, 99991231);
  const y = Math.floor(n / 10000), m = Math.floor(n / 100) % 100, d = n % 100;
  const real = new Date(Date.UTC(y, m - 1, d));
  if (y < 2000 || m < 1 || m > 12 || d < 1 || real.getUTCMonth() !== m - 1 || real.getUTCDate() !== d) bad(`${field} must be a date YYYYMMDD, got ${n}`);
  return n;
}

/** Today (UTC) as YYYYMMDD. */
export function dateOf(ms: number): number {
  const t = new Date(ms);
  return t.getUTCFullYear() * 10000 + (t.getUTCMonth() + 1) * 100 + t.getUTCDate();
}

export function mapField(map: Map<number, unknown>, key: number, what: string): unknown {
  if (!map.has(key)) bad(`${what} has no field ${key}`);
  return map.get(key);
}

export function requireMap(what: string, v: unknown, keys: number[]): Map<number, unknown> {
  if (!(v instanceof Map)) bad(`${what} must be a CBOR map`);
  const extra = [...v.keys()].filter((k) => !keys.includes(k));
  if (extra.length) bad(`${what} has unknown field(s) ${extra.join(", ")}`);
  for (const k of keys) mapField(v, k, what);
  return v;
}

export const hex = (b: Uint8Array): string => Buffer.from(b).toString("hex");
