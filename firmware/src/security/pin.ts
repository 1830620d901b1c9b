// PIN format, PIN stretching and comparison (SECURITY.md §4).
import type { CryptoPort } from "./crypto-port.ts";
import { chr, filled } from "../store/bytes.ts";

export const PIN_MIN_DIGITS = 4;
export const PIN_MAX_DIGITS = 12;
// Bytes hashed per stretching round: one native SHA-256 call over the previous digest plus this
// pad costs a fixed ~2.3 ms plus ~0.11 ms per 64-byte block on a Puck.js, so long messages buy
// the attacker 17 compressions per round for ~4.2 ms of device time (SECURITY.md §4).
export const STRETCH_PAD_BYTES = 1024;

// The detail of every PIN_BAD_FORMAT, and of every BUSY in the PIN lockout window.
export const PIN_FORMAT = "PIN not 4-12 digits";
export function lockedOut(waitMs: number): string {
  return "retry after " + Math.ceil(waitMs) + " ms";
}

// A length check and one native regex test: Espruino's regex has ^ [0-9] + $ but lacks {n,m}
// (facts §1), so the length bounds stay in JS.
const DIGITS_ONLY = /^[0-9]+$/;
export function isValidPin(pin: unknown): pin is string {
  return typeof pin === "string" && pin.length >= PIN_MIN_DIGITS && pin.length <= PIN_MAX_DIGITS && DIGITS_ONLY.test(pin);
}

export interface PinKeys { verifier: string; kek: string }

// verifier and key-encryption key from PIN + per-device secret + salt, by `iterations` rounds of
// h = SHA-256(h || pad), pad = the seed repeated to STRETCH_PAD_BYTES.
export function derivePinKeys(crypto: CryptoPort, pin: string, salt: string, deviceSecret: string, iterations: number): PinKeys {
  const seed = "KCpin1" + chr(pin.length) + pin + salt + deviceSecret;
  const h = crypto.sha256Rounds(seed, filled(seed, STRETCH_PAD_BYTES), iterations);
  return { verifier: crypto.sha256("KCver" + h), kek: crypto.sha256("KCkek" + h) };
}

// Equality whose timing does not depend on where a and b differ: both sides are hashed under a
// fresh random key before the (early-exit) native compare, so an attacker timing the compare
// learns nothing about the stored verifier. Two native calls instead of a 32-step JS loop.
export function blindedEqual(crypto: CryptoPort, a: string, b: string): boolean {
  const k = crypto.randomBytes(16);
  return crypto.sha256(k + a) === crypto.sha256(k + b);
}
