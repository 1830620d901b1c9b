/**
 * Online PIN, wire formats (docs/PLATFORM.md "Online PIN", PROTOCOL.md §7.5): the PIN block the host
 * encrypts to the platform, and the verdict the platform MACs for the carrier. Byte layouts here are
 * normative; firmware/src/security/verdict.ts mirrors the verdict message byte for byte and
 * firmware/vectors/online-pin.json pins both sides.
 *
 * PIN block: X25519 from a fresh ephemeral key to the platform's PIN key, HKDF-SHA256, then
 * ChaCha20-Poly1305 over a 16-byte block (PIN length, ASCII digits, random filler). The associated
 * data binds the block to its purpose, the carrier, the order and a single-use platform challenge,
 * so a recorded block opens for nothing else and at most once.
 */
import { x25519 } from "@noble/curves/ed25519.js";
import { chacha20poly1305 } from "@noble/ciphers/chacha.js";
import { hkdf } from "@noble/hashes/hkdf.js";
import { sha256 } from "@noble/hashes/sha2.js";
import { randomBytes } from "node:crypto";
import { concatBytes, hmacSha256 } from "../channel/keys.ts";

export const PIN_BLOCK_FORMAT = 1;
export const PIN_BLOCK_PLAIN_BYTES = 16;
export const PIN_KEY_BYTES = 32;
export const CHALLENGE_BYTES = 16;
/** format 1 + ephemeral public key 32 + ciphertext 16 + tag 16 */
export const PIN_BLOCK_BYTES = 1 + 32 + PIN_BLOCK_PLAIN_BYTES + 16;
export const PIN_MIN_DIGITS = 4;
export const PIN_MAX_DIGITS = 12;
const HKDF_INFO = ascii("KeyCarrier v1 PIN block");
const AAD_MAGIC = ascii("KCPB1");
const ZERO_NONCE = new Uint8Array(12);

/** What a PIN block is for; part of its associated data, so a block made for one cannot serve another. */
export const PinPurpose = { PAY: 1, ENROL: 2, CHANGE_OLD: 3, CHANGE_NEW: 4 } as const;
export type PinPurpose = (typeof PinPurpose)[keyof typeof PinPurpose];

export class PinBlockError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "PinBlockError";
  }
}

function ascii(s: string): Uint8Array {
  return Uint8Array.from(s, (c) => c.charCodeAt(0));
}

export function isValidPin(pin: unknown): pin is string {
  return typeof pin === "string" && new RegExp(`^[0-9]{${PIN_MIN_DIGITS},${PIN_MAX_DIGITS}}$`).test(pin);
}

export interface PinBlockContext {
  purpose: PinPurpose;
  carrierId: Uint8Array;
  /** The order the PIN authorizes (PAY), empty for enrolment and PIN change. */
  orderId: Uint8Array;
  /** The platform's single-use challenge (16 bytes). */
  challenge: Uint8Array;
}

/** "KCPB1" | purpose u8 | len cid | cid | len oid | oid | challenge 16 */
export function pinBlockAad(c: PinBlockContext): Uint8Array {
  if (c.challenge.length !== CHALLENGE_BYTES) throw new PinBlockError(`the challenge must be ${CHALLENGE_BYTES} bytes`);
  return concatBytes(AAD_MAGIC, Uint8Array.of(c.purpose, c.carrierId.length), c.carrierId, Uint8Array.of(c.orderId.length), c.orderId, c.challenge);
}

function blockKey(shared: Uint8Array, ephemeralPublic: Uint8Array, platformPublic: Uint8Array): Uint8Array {
  return hkdf(sha256, shared, concatBytes(ephemeralPublic, platformPublic), HKDF_INFO, 32);
}

export function pinPublicKey(privateKey: Uint8Array): Uint8Array {
  return x25519.getPublicKey(privateKey);
}

/**
 * Host side. `filler` and `ephemeralPrivate` are for the vectors only (default: fresh random bytes).
 * The key is single-use (a fresh ephemeral key per block), so the AEAD nonce is fixed at zero.
 */
export function encryptPinBlock(pin: string, platformPublic: Uint8Array, ctx: PinBlockContext, fixed: { ephemeralPrivate?: Uint8Array; filler?: Uint8Array } = {}): Uint8Array {
  if (!isValidPin(pin)) throw new PinBlockError(`the PIN must be ${PIN_MIN_DIGITS}–${PIN_MAX_DIGITS} digits`);
  if (platformPublic.length !== PIN_KEY_BYTES) throw new PinBlockError(`the platform PIN key must be ${PIN_KEY_BYTES} bytes`);
  const plain = fixed.filler ? fixed.filler.slice(0, PIN_BLOCK_PLAIN_BYTES) : Uint8Array.from(randomBytes(PIN_BLOCK_PLAIN_BYTES));
  plain[0] = pin.length;
  plain.set(ascii(pin), 1);
  const eph = fixed.ephemeralPrivate ?? x25519.utils.randomSecretKey();
  const ephPublic = x25519.getPublicKey(eph);
  const key = blockKey(x25519.getSharedSecret(eph, platformPublic), ephPublic, platformPublic);
  const sealed = chacha20poly1305(key, ZERO_NONCE, pinBlockAad(ctx)).encrypt(plain);
  return concatBytes(Uint8Array.of(PIN_BLOCK_FORMAT), ephPublic, sealed);
}

/** Platform side: the PIN, or PinBlockError when the block is malformed or not for this context. */
export function decryptPinBlock(block: Uint8Array, platformPrivate: Uint8Array, ctx: PinBlockContext): string {
  if (block.length !== PIN_BLOCK_BYTES || block[0] !== PIN_BLOCK_FORMAT) throw new PinBlockError(`a PIN block is ${PIN_BLOCK_BYTES} bytes starting with format ${PIN_BLOCK_FORMAT}`);
  const ephPublic = block.subarray(1, 33);
  const platformPublic = x25519.getPublicKey(platformPrivate);
  let plain: Uint8Array;
  try {
    const key = blockKey(x25519.getSharedSecret(platformPrivate, ephPublic), ephPublic, platformPublic);
    plain = chacha20poly1305(key, ZERO_NONCE, pinBlockAad(ctx)).decrypt(block.subarray(33));
  } catch {
    throw new PinBlockError("the PIN block does not open for this carrier, order and challenge");
  }
  const n = plain[0]!;
  const pin = String.fromCharCode(...plain.subarray(1, 1 + n));
  if (n < PIN_MIN_DIGITS || n > PIN_MAX_DIGITS || !isValidPin(pin)) throw new PinBlockError("the PIN block holds no 4–12 digit PIN");
  return pin;
}

// ---- the verdict ---------------------------------------------------------------------------

export const VERDICT_MAC_BYTES = 16;
export const Verdict = { OK: 0, WRONG: 1, BLOCKED: 2 } as const;
export type Verdict = (typeof Verdict)[keyof typeof Verdict];
const VERDICT_KEY_LABEL = ascii("KeyCarrier v1 PIN verdict key");

export interface VerdictFields {
  carrierId: Uint8Array;
  /** The carrier nonce of the channel session PAY will travel in (CHANNEL_OPEN reply field 2). */
  sessionNonce: Uint8Array;
  /** The channel counter the PAY request carrying this verdict is sealed under. */
  requestCounter: number;
  orderId: Uint8Array;
  merchantId: Uint8Array;
  amount: number;
  currency: string;
  verdict: Verdict;
  triesLeft: number;
  /**
   * Format 2, for a carrier with a screen (PAY field 0): the merchant's name as its screen shows it
   * (merchant-names.ts screenName: 1–42 bytes), appended as len | name, format byte 2.
   */
  merchantName?: Uint8Array;
}

/** "KCPV" | 01 (02 with merchantName) | len cid | cid | session nonce 16 | request counter u32be | len oid | oid | len mid | mid | amount u64be | currency 3 | verdict u8 | tries u8 (| len name | name) */
export function verdictMessage(f: VerdictFields): Uint8Array {
  if (f.sessionNonce.length !== 16) throw new RangeError("the session nonce must be 16 bytes");
  if (!/^[A-Z]{3}$/.test(f.currency)) throw new RangeError("currency must be 3 capital letters");
  if (!Number.isSafeInteger(f.amount) || f.amount < 0) throw new RangeError("amount must be a safe integer ≥ 0");
  if (!Number.isInteger(f.triesLeft) || f.triesLeft < 0 || f.triesLeft > 255) throw new RangeError("triesLeft must be 0–255");
  if (!Number.isInteger(f.requestCounter) || f.requestCounter < 0 || f.requestCounter > 0xffffffff) throw new RangeError("requestCounter must be a u32");
  if (f.merchantName && (f.merchantName.length < 1 || f.merchantName.length > 42)) throw new RangeError("merchantName must be 1–42 bytes");
  const counter = new Uint8Array(4);
  new DataView(counter.buffer).setUint32(0, f.requestCounter);
  const amount = new Uint8Array(8);
  new DataView(amount.buffer).setBigUint64(0, BigInt(f.amount));
  return concatBytes(
    ascii("KCPV"), Uint8Array.of(f.merchantName ? 2 : 1, f.carrierId.length), f.carrierId, f.sessionNonce, counter,
    Uint8Array.of(f.orderId.length), f.orderId, Uint8Array.of(f.merchantId.length), f.merchantId,
    amount, ascii(f.currency), Uint8Array.of(f.verdict, f.triesLeft),
    f.merchantName ? Uint8Array.of(f.merchantName.length) : new Uint8Array(0), f.merchantName ?? new Uint8Array(0),
  );
}

/** K_pv = HMAC-SHA256(K_ac, "KeyCarrier v1 PIN verdict key"): K_ac itself MACs only cryptograms. */
export function verdictKey(cryptogramKey: Uint8Array): Uint8Array {
  return hmacSha256(cryptogramKey, VERDICT_KEY_LABEL);
}

export function verdictMac(cryptogramKey: Uint8Array, f: VerdictFields): Uint8Array {
  return hmacSha256(verdictKey(cryptogramKey), verdictMessage(f)).subarray(0, VERDICT_MAC_BYTES);
}
