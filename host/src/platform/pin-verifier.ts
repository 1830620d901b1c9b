/**
 * The issuer's online PIN check (docs/PLATFORM.md "Online PIN"): the platform alone holds what a PIN
 * can be checked against — a salted scrypt verifier and the try counter, per carrier — and the
 * private key PIN blocks are encrypted to. The carrier holds no PIN material at all.
 *
 *   challenge(carrier, order, purpose) → the host encrypts the PIN block to the platform key,
 *   bound to that single-use challenge → verifyForOrder → verdict OK / WRONG / BLOCKED, MAC'd for
 *   the carrier over its session nonce and the order (online-pin.ts verdictMessage) →
 *   the carrier counts it; authorize() settles only an order with an OK verdict (`verifiedFor`).
 *
 * Every step that changes the counter commits before the verdict leaves (one ledger transaction).
 */
import { randomBytes, scryptSync, timingSafeEqual } from "node:crypto";
import { x25519 } from "@noble/curves/ed25519.js";
import { get, run, tx, type Work } from "./work.ts";
import type { SecretSealer } from "./keystore.ts";
import {
  CHALLENGE_BYTES, decryptPinBlock, PinBlockError, PinPurpose, Verdict, verdictMac, type VerdictFields,
} from "./online-pin.ts";
import { Refusal } from "./refusal.ts";

/** The issuer's PIN try limit (EMV issuers commonly use 3); the carrier's own limit (10) is a backstop. */
export const ISSUER_PIN_TRY_LIMIT = 3;
/** A challenge not used within this long is refused. */
export const CHALLENGE_TTL_MS = 10 * 60_000;
/** scrypt cost: ~2^15 × 128 × 8 B = 32 MiB and tens of ms per check on a server core. */
export const DEFAULT_PIN_KDF = { N: 1 << 15, r: 8, p: 1 };
const PIN_KEY_NAME = "pin-block-x25519";

export interface PinKdf { N: number; r: number; p: number }

export class PinRefusal extends Refusal {}

export interface VerdictView {
  verdict: Verdict;
  /** The issuer's tries left after this verdict. */
  triesLeft: number;
  /** hex, 16 bytes: for a carrier without a screen (PAY field 7; verdict format 1, no name). */
  mac: string;
  /**
   * For a carrier with a screen (INFO capability 0x10): the merchant's registered name as the screen
   * shows it (hex, 1–42 bytes: PAY field 0) and the verdict MAC'd over it too (format 2, hex 16
   * bytes: PAY field 7). Absent where the order's merchant name was not given.
   */
  screenName?: string;
  namedMac?: string;
}

export interface ChallengeView { challenge: string; publicKey: string; purpose: number }

const hex = (b: Uint8Array): string => Buffer.from(b).toString("hex");
const unhex = (h: string): Uint8Array => Uint8Array.from(Buffer.from(h, "hex"));

function kdfText(k: PinKdf): string {
  return `scrypt:N=${k.N},r=${k.r},p=${k.p}`;
}
function parseKdf(text: string): PinKdf {
  const m = /^scrypt:N=(\d+),r=(\d+),p=(\d+)$/.exec(text);
  if (!m) throw new Error(`unknown PIN verifier kdf ${JSON.stringify(text)}`);
  return { N: Number(m[1]), r: Number(m[2]), p: Number(m[3]) };
}
function stretch(pin: string, salt: Uint8Array, k: PinKdf): Uint8Array {
  return scryptSync(pin, salt, 32, { N: k.N, r: k.r, p: k.p, maxmem: 256 * k.N * k.r + (1 << 20) });
}

export interface PinVerifierOptions {
  tryLimit?: number;
  kdf?: PinKdf;
}

export class PinVerifier {
  readonly tryLimit: number;
  private readonly kdf: PinKdf;

  constructor(private readonly sealer: SecretSealer, private readonly now: () => number, opts: PinVerifierOptions = {}) {
    this.tryLimit = opts.tryLimit ?? ISSUER_PIN_TRY_LIMIT;
    this.kdf = opts.kdf ?? DEFAULT_PIN_KDF;
    if (!Number.isInteger(this.tryLimit) || this.tryLimit < 1 || this.tryLimit > 15) throw new RangeError("the PIN try limit must be 1–15");
  }

  /** The X25519 key PIN blocks are encrypted to; made (and sealed in the keystore) on first use. */
  private *keyPair(): Work<{ privateKey: Uint8Array; publicKey: Uint8Array }> {
    const row = yield* get("SELECT secret, key_protection, public_key FROM platform_secrets WHERE name = ?", [PIN_KEY_NAME]);
    if (row) {
      return { privateKey: this.sealer.open(row.secret as Uint8Array, String(row.key_protection), "platform PIN key"), publicKey: row.public_key as Uint8Array };
    }
    const privateKey = x25519.utils.randomSecretKey();
    const publicKey = x25519.getPublicKey(privateKey);
    yield* tx(() => run("INSERT INTO platform_secrets (name, secret, key_protection, public_key, created_at) VALUES (?, ?, ?, ?, ?)", [
      PIN_KEY_NAME, this.sealer.seal(privateKey, "platform PIN key"), this.sealer.protection, publicKey, this.now(),
    ]));
    return { privateKey, publicKey };
  }

  *publicKey(): Work<Uint8Array> {
    return (yield* this.keyPair()).publicKey;
  }

  /** A fresh single-use challenge for one PIN block (two for a PIN change: old and new share it). */
  *challenge(carrierId: string, orderId: string, purpose: PinPurpose): Work<ChallengeView> {
    const challenge = hex(randomBytes(CHALLENGE_BYTES));
    const publicKey = hex(yield* this.publicKey());
    yield* tx(() => run("INSERT INTO pin_challenges (challenge, carrier_id, order_id, purpose, created_at) VALUES (?, ?, ?, ?, ?)", [
      challenge, carrierId, orderId, purpose, this.now(),
    ]));
    return { challenge, publicKey, purpose };
  }

  *hasPin(carrierId: string): Work<boolean> {
    return (yield* get("SELECT 1 FROM carrier_pins WHERE carrier_id = ?", [carrierId])) !== undefined;
  }

  *triesLeft(carrierId: string): Work<number> {
    const row = yield* get("SELECT failures FROM carrier_pins WHERE carrier_id = ?", [carrierId]);
    return row ? Math.max(0, this.tryLimit - Number(row.failures)) : 0;
  }

  /** True once an OK verdict was given for this order and carrier: authorize() requires it. */
  *verifiedFor(orderId: string, carrierId: string): Work<boolean> {
    return (yield* get("SELECT 1 FROM pin_verifications WHERE order_id = ? AND carrier_id = ? AND verdict = 0", [orderId, carrierId])) !== undefined;
  }

  /**
   * Opens the block and consumes its challenge; refuses a stale, reused or foreign challenge. A block
   * that does not open (AEAD: it tells nothing about any PIN) is refused WITHOUT a ledger write, so
   * junk blocks cost no write (docs/PLATFORM.md "Audit": refusals are counted in memory); a block
   * that opens consumes its challenge durably before any verdict is given (single use).
   */
  private *openBlock(carrierId: string, orderId: string, purpose: PinPurpose, challenge: unknown, block: unknown, consume = true): Work<string> {
    if (typeof challenge !== "string" || !/^[0-9a-f]{32}$/.test(challenge)) throw new PinRefusal(400, "bad-request", "challenge must be 32 lowercase hex digits");
    if (typeof block !== "string" || !/^([0-9a-f]{2})+$/.test(block)) throw new PinRefusal(400, "bad-request", "pinBlock must be lowercase hex");
    const row = yield* get("SELECT * FROM pin_challenges WHERE challenge = ?", [challenge]);
    // a PIN change's challenge (issued for CHANGE_OLD) binds both its blocks, each under its own purpose
    const issuedFor = purpose === PinPurpose.CHANGE_NEW ? PinPurpose.CHANGE_OLD : purpose;
    if (!row || row.carrier_id !== carrierId || row.order_id !== orderId || Number(row.purpose) !== issuedFor) {
      throw new PinRefusal(409, "bad-challenge", "this challenge was not issued for this carrier, order and purpose — ask for a new one");
    }
    if (consume) {
      if (row.used_at !== null) throw new PinRefusal(409, "challenge-used", "this challenge was already used — a PIN block is good for one attempt; ask for a new challenge");
      if (this.now() - Number(row.created_at) > CHALLENGE_TTL_MS) throw new PinRefusal(409, "challenge-expired", "this challenge expired — ask for a new one");
    }
    let pin: string;
    try {
      const { privateKey } = yield* this.keyPair();
      pin = decryptPinBlock(unhex(block), privateKey, { purpose, carrierId: unhex(carrierId), orderId: orderId === "" ? new Uint8Array(0) : unhex(orderId), challenge: unhex(challenge) });
    } catch (e) {
      if (e instanceof PinBlockError) throw new PinRefusal(422, "bad-pin-block", e.message);
      throw e;
    }
    // Single use across processes too: only the transaction that flips used_at from NULL gets the PIN.
    if (consume && (yield* tx(() => run("UPDATE pin_challenges SET used_at = ? WHERE challenge = ? AND used_at IS NULL", [this.now(), challenge]))) !== 1) {
      throw new PinRefusal(409, "challenge-used", "this challenge was already used — a PIN block is good for one attempt; ask for a new challenge");
    }
    return pin;
  }

  private *store(carrierId: string, pin: string): Work<void> {
    const salt = randomBytes(16);
    const verifier = stretch(pin, salt, this.kdf);
    yield* run(
      "INSERT INTO carrier_pins (carrier_id, salt, verifier, kdf, failures, updated_at) VALUES (?, ?, ?, ?, 0, ?) " +
      "ON CONFLICT (carrier_id) DO UPDATE SET salt = excluded.salt, verifier = excluded.verifier, kdf = excluded.kdf, failures = 0, updated_at = excluded.updated_at",
      [carrierId, salt, verifier, kdfText(this.kdf), this.now()],
    );
  }

  /** Personalisation: the carrier's first PIN (refused once it has one). */
  *enrol(carrierId: string, challenge: unknown, block: unknown): Work<{ triesLeft: number }> {
    const pin = yield* this.openBlock(carrierId, "", PinPurpose.ENROL, challenge, block);
    if (yield* this.hasPin(carrierId)) throw new PinRefusal(409, "pin-exists", `carrier ${carrierId} already has a PIN — change it with the old one`);
    yield* tx(() => this.store(carrierId, pin));
    return { triesLeft: this.tryLimit };
  }

  /**
   * One PIN check, counted: the failure is committed before the comparison's result is used, and
   * a right PIN clears it in the same transaction. Returns the verdict; BLOCKED also blocks the carrier.
   */
  private *check(carrierId: string, pin: string): Work<{ verdict: Verdict; triesLeft: number }> {
    // Serializable on PostgreSQL: two wrong PINs checked at once in two processes cannot both read
    // the same failure count (one transaction is retried and reads the other's). At READ COMMITTED
    // they could, and a guesser would get extra tries (postgres.test.ts shows it counts every one).
    return yield* tx(function* (this: PinVerifier): Work<{ verdict: Verdict; triesLeft: number }> {
      const row = yield* get("SELECT * FROM carrier_pins WHERE carrier_id = ?", [carrierId]);
      if (!row) throw new PinRefusal(409, "no-pin", `carrier ${carrierId} has no PIN enrolled`);
      const failures = Number(row.failures);
      if (failures >= this.tryLimit) return { verdict: Verdict.BLOCKED, triesLeft: 0 };
      const right = timingSafeEqual(stretch(pin, row.salt as Uint8Array, parseKdf(String(row.kdf))), row.verifier as Uint8Array);
      if (right) {
        yield* run("UPDATE carrier_pins SET failures = 0, updated_at = ? WHERE carrier_id = ?", [this.now(), carrierId]);
        return { verdict: Verdict.OK, triesLeft: this.tryLimit };
      }
      yield* run("UPDATE carrier_pins SET failures = ?, updated_at = ? WHERE carrier_id = ?", [failures + 1, this.now(), carrierId]);
      if (failures + 1 >= this.tryLimit) {
        yield* run("UPDATE carriers SET state = 'blocked' WHERE carrier_id = ?", [carrierId]);
        return { verdict: Verdict.BLOCKED, triesLeft: 0 };
      }
      return { verdict: Verdict.WRONG, triesLeft: this.tryLimit - failures - 1 };
    }.bind(this), { serializable: true });
  }

  /**
   * The PIN for a payment: checks (and counts) it, records the verdict for `authorize`, and MACs
   * it for the carrier under the session nonce the host reports (a wrong nonce only makes the
   * carrier refuse the verdict). A blocked carrier gets BLOCKED without a check.
   */
  *verifyForOrder(req: {
    carrierId: string; orderId: string; challenge: unknown; pinBlock: unknown; sessionNonce: Uint8Array; requestCounter: number;
    fields: Omit<VerdictFields, "verdict" | "triesLeft" | "sessionNonce" | "requestCounter" | "carrierId">; cryptogramKey: Uint8Array; carrierBlocked: boolean;
  }): Work<VerdictView> {
    const pin = yield* this.openBlock(req.carrierId, req.orderId, PinPurpose.PAY, req.challenge, req.pinBlock);
    const r = req.carrierBlocked ? { verdict: Verdict.BLOCKED, triesLeft: 0 } : yield* this.check(req.carrierId, pin);
    yield* tx(() => run("INSERT INTO pin_verifications (carrier_id, order_id, verdict, created_at) VALUES (?, ?, ?, ?)", [
      req.carrierId, req.orderId, r.verdict, this.now(),
    ]));
    const f: VerdictFields = { ...req.fields, carrierId: unhex(req.carrierId), sessionNonce: req.sessionNonce, requestCounter: req.requestCounter, verdict: r.verdict, triesLeft: r.triesLeft };
    const mac = verdictMac(req.cryptogramKey, { ...f, merchantName: undefined });
    // both formats: the host sends the one its carrier takes (a carrier accepts only its own, so neither stands in for the other)
    const named = f.merchantName ? { screenName: hex(f.merchantName), namedMac: hex(verdictMac(req.cryptogramKey, f)) } : {};
    return { verdict: r.verdict, triesLeft: r.triesLeft, mac: hex(mac), ...named };
  }

  /** PIN change, host ↔ platform only: the old PIN is checked and counted like a payment's. */
  *change(carrierId: string, challenge: unknown, oldBlock: unknown, newBlock: unknown): Work<{ verdict: Verdict; triesLeft: number }> {
    const oldPin = yield* this.openBlock(carrierId, "", PinPurpose.CHANGE_OLD, challenge, oldBlock);
    const newPin = yield* this.openBlock(carrierId, "", PinPurpose.CHANGE_NEW, challenge, newBlock, false);
    const r = yield* this.check(carrierId, oldPin);
    if (r.verdict === Verdict.OK) yield* tx(() => this.store(carrierId, newPin));
    return r;
  }
}
