/**
 * The merchant payment code: a fixed 48-byte binary layout, authenticated with a truncated
 * HMAC-SHA256 under the merchant's QR key (held by the platform), carried in a QR code as base45
 * text. Layout and rationale: docs/PLATFORM.md §"Merchant payment code".
 */
import { hmac } from "@noble/hashes/hmac.js";
import { sha256 } from "@noble/hashes/sha2.js";
import { timingSafeEqual } from "node:crypto";
import { decodeBase45, encodeBase45, Base45Error } from "./base45.ts";
import { assertAmountMinor, assertCurrency } from "./currency.ts";

export const CODE_MAGIC = [0x4b, 0x51] as const; // "KQ"
export const CODE_VERSION = 1;
export const ORDER_REF_BYTES = 8;
export const NONCE_BYTES = 8;
export const MAC_BYTES = 12;
export const CODE_BYTES = 48;
export const QR_KEY_BYTES = 32;

const OFF = { magic: 0, version: 2, merchant: 3, orderRef: 7, amount: 15, currency: 21, expires: 24, nonce: 28, mac: 36 } as const;

export interface PaymentCodeFields {
  merchantId: number;      // uint32
  orderRef: Uint8Array;    // 8 bytes, the merchant's order reference
  amount: number;          // minor units, 1 … 2^48−1
  currency: string;        // ISO 4217 alpha
  expiresAt: number;       // Unix seconds, uint32
  nonce: Uint8Array;       // 8 random bytes: two codes never share bytes or a MAC
}

export interface ParsedPaymentCode extends PaymentCodeFields {
  bytes: Uint8Array;       // the whole 48-byte code
  mac: Uint8Array;
}

/** Why a code was refused; stable ids for programs, the message is for people. */
export type PaymentCodeRejection =
  | "not-ours" | "unsupported-version" | "truncated" | "malformed" | "unknown-merchant" | "forged" | "expired";

export class PaymentCodeError extends Error {
  constructor(readonly reason: PaymentCodeRejection, message: string) {
    super(message);
    this.name = "PaymentCodeError";
  }
}

function assertUint32(name: string, v: unknown): asserts v is number {
  if (typeof v !== "number" || !Number.isInteger(v) || v < 0 || v > 0xffffffff) {
    throw new RangeError(`${name} must be an integer 0 … 4294967295, got ${JSON.stringify(v)}`);
  }
}

function assertBytes(name: string, v: unknown, length: number): asserts v is Uint8Array {
  if (!(v instanceof Uint8Array) || v.length !== length) {
    throw new RangeError(`${name} must be ${length} bytes, got ${v instanceof Uint8Array ? `${v.length} bytes` : typeof v}`);
  }
}

function computeMac(qrKey: Uint8Array, signed: Uint8Array): Uint8Array {
  assertBytes("merchant QR key", qrKey, QR_KEY_BYTES);
  return hmac(sha256, qrKey, signed).subarray(0, MAC_BYTES);
}

/** Builds and authenticates a code. Throws RangeError/AmountError naming the bad field. */
export function signPaymentCode(fields: PaymentCodeFields, qrKey: Uint8Array): Uint8Array {
  assertUint32("merchantId", fields.merchantId);
  assertBytes("orderRef", fields.orderRef, ORDER_REF_BYTES);
  assertAmountMinor(fields.amount);
  assertCurrency(fields.currency);
  assertUint32("expiresAt", fields.expiresAt);
  assertBytes("nonce", fields.nonce, NONCE_BYTES);
  const out = new Uint8Array(CODE_BYTES);
  const view = new DataView(out.buffer);
  out.set(CODE_MAGIC, OFF.magic);
  out[OFF.version] = CODE_VERSION;
  view.setUint32(OFF.merchant, fields.merchantId);
  out.set(fields.orderRef, OFF.orderRef);
  view.setUint16(OFF.amount, Math.floor(fields.amount / 2 ** 32));
  view.setUint32(OFF.amount + 2, fields.amount % 2 ** 32);
  for (let i = 0; i < 3; i++) out[OFF.currency + i] = fields.currency.charCodeAt(i);
  view.setUint32(OFF.expires, fields.expiresAt);
  out.set(fields.nonce, OFF.nonce);
  out.set(computeMac(qrKey, out.subarray(0, OFF.mac)), OFF.mac);
  return out;
}

export function paymentCodeText(code: Uint8Array): string {
  return encodeBase45(code);
}

/** Accepts the QR text (base45) or the raw bytes. */
function toBytes(input: Uint8Array | string): Uint8Array {
  if (input instanceof Uint8Array) return input;
  try {
    return decodeBase45(input);
  } catch (e) {
    // Cut text ends mid-group; if the whole groups before the cut start like our code, it was cut short.
    let prefix: Uint8Array | undefined;
    try {
      prefix = decodeBase45(input.slice(0, input.length - (input.length % 3)));
    } catch {
      prefix = undefined;
    }
    const ours = [...CODE_MAGIC, CODE_VERSION];
    if (prefix && input.length % 3 !== 0 && prefix.length < CODE_BYTES && prefix.subarray(0, 3).every((b, i) => b === ours[i])) {
      throw new PaymentCodeError("truncated", `payment code text is cut short (${input.length} characters; a complete code has ${(CODE_BYTES / 2) * 3}) — scan it again`);
    }
    throw new PaymentCodeError("not-ours", `not a KeyCarrier payment code: ${(e as Base45Error).message}`);
  }
}

/**
 * Checks the structure only (magic, version, length, field ranges) and returns the fields. It does
 * NOT authenticate: use verifyPaymentCode before trusting anything in it.
 */
export function parsePaymentCode(input: Uint8Array | string): ParsedPaymentCode {
  const bytes = toBytes(input);
  if (bytes.length < 3 || bytes[0] !== CODE_MAGIC[0] || bytes[1] !== CODE_MAGIC[1]) {
    if (bytes.length < 3 && bytes.every((b, i) => b === [...CODE_MAGIC, CODE_VERSION][i])) {
      throw new PaymentCodeError("truncated", `payment code is ${bytes.length} bytes, a complete one has ${CODE_BYTES} — scan it again`);
    }
    throw new PaymentCodeError("not-ours", "not a KeyCarrier payment code (its first bytes are not the \"KQ\" marker) — is this some other QR code?");
  }
  if (bytes[2] !== CODE_VERSION) {
    throw new PaymentCodeError("unsupported-version", `payment code version ${bytes[2]} is not supported (this platform reads version ${CODE_VERSION}) — update keycarrier`);
  }
  if (bytes.length < CODE_BYTES) {
    throw new PaymentCodeError("truncated", `payment code is ${bytes.length} bytes, a complete one has ${CODE_BYTES} — scan it again`);
  }
  if (bytes.length > CODE_BYTES) {
    throw new PaymentCodeError("malformed", `payment code is ${bytes.length} bytes, version ${CODE_VERSION} codes are exactly ${CODE_BYTES} — it was altered`);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const currency = String.fromCharCode(...bytes.subarray(OFF.currency, OFF.currency + 3));
  return {
    bytes,
    merchantId: view.getUint32(OFF.merchant),
    orderRef: bytes.slice(OFF.orderRef, OFF.orderRef + ORDER_REF_BYTES),
    amount: view.getUint16(OFF.amount) * 2 ** 32 + view.getUint32(OFF.amount + 2),
    currency,
    expiresAt: view.getUint32(OFF.expires),
    nonce: bytes.slice(OFF.nonce, OFF.nonce + NONCE_BYTES),
    mac: bytes.slice(OFF.mac),
  };
}

/**
 * Full check, in this order: structure, merchant known, MAC, then expiry (expiry is read only
 * from authenticated bytes), then field ranges. `nowSeconds` is Unix time.
 */
export function verifyPaymentCode(
  input: Uint8Array | string,
  merchantQrKey: (merchantId: number) => Uint8Array | undefined,
  nowSeconds: number,
): ParsedPaymentCode {
  const code = parsePaymentCode(input);
  const key = merchantQrKey(code.merchantId);
  if (!key) throw new PaymentCodeError("unknown-merchant", `merchant ${code.merchantId} is not registered with this platform — the code is not ours`);
  const expected = computeMac(key, code.bytes.subarray(0, OFF.mac));
  if (!timingSafeEqual(expected, code.mac)) {
    throw new PaymentCodeError("forged", `payment code's authentication tag does not match merchant ${code.merchantId}'s key — it was forged or altered; do not pay it`);
  }
  if (nowSeconds >= code.expiresAt) {
    throw new PaymentCodeError("expired", `payment code expired at ${new Date(code.expiresAt * 1000).toISOString()} — ask the merchant for a new one`);
  }
  try {
    assertAmountMinor(code.amount);
    assertCurrency(code.currency);
  } catch (e) {
    throw new PaymentCodeError("malformed", `payment code carries an invalid field: ${(e as Error).message}`);
  }
  return code;
}
