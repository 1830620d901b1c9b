import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { computeAuthorizationCryptogram } from "../../src/channel/keys.ts";
import { merchantIdBytes, type Platform, type OrderView, type AuthorizationRequest } from "../../src/platform/service.ts";
import { encryptPinBlock, PinPurpose } from "../../src/platform/online-pin.ts";

/** The cardholder's PIN in these tests, and verifier parameters cheap enough for a test. */
export const TEST_PIN = "482913";
export const TEST_PIN_OPTIONS = { kdf: { N: 1024, r: 8, p: 1 } };

/** The host's PIN block for a challenge of the platform. */
export function pinBlockFor(platform: Platform, carrierId: string, purpose: PinPurpose, orderId: string, pin: string): { challenge: string; pinBlock: string } {
  const c = platform.pinChallenge({ carrierId, ...(orderId ? { orderId } : {}), purpose: purpose === PinPurpose.PAY ? "pay" : purpose === PinPurpose.ENROL ? "enrol" : "change" });
  const block = encryptPinBlock(pin, Buffer.from(c.publicKey, "hex"), { purpose, carrierId: Buffer.from(carrierId, "hex"), orderId: Buffer.from(orderId, "hex"), challenge: Buffer.from(c.challenge, "hex") });
  return { challenge: c.challenge, pinBlock: Buffer.from(block).toString("hex") };
}

/** Personalisation's PIN step: the PIN enrolled at the platform (encrypted to it). */
export function enrolPin(platform: Platform, carrierId: string, pin = TEST_PIN): void {
  platform.enrolPin({ carrierId, ...pinBlockFor(platform, carrierId, PinPurpose.ENROL, "", pin) });
}

/** The online PIN check of a payment, as the host asks for it (session nonce and counter made up: no carrier here). */
export function verifyOrderPin(platform: Platform, carrierId: string, orderId: string, pin = TEST_PIN) {
  return platform.verifyOrderPin({ orderId, carrierId, ...pinBlockFor(platform, carrierId, PinPurpose.PAY, orderId, pin), sessionNonce: "00".repeat(16), requestCounter: 0 });
}

export function tempDir(): { dir: string; file: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), "kc-platform-"));
  return { dir, file: join(dir, "ledger.sqlite"), cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/**
 * What a carrier and its host would send: the cardholder's PIN verified online for the order (the
 * PIN enrolled first if the carrier has none yet), and the cryptogram computed with the channel
 * module under the carrier's diversified key.
 */
export function carrierAuthorization(platform: Platform, carrierId: string, order: OrderView, atc: number): AuthorizationRequest {
  if (!platform.ledger.get("SELECT 1 FROM carrier_pins WHERE carrier_id = ?", [carrierId])) enrolPin(platform, carrierId);
  if (!platform.ledger.get("SELECT 1 FROM pin_verifications WHERE order_id = ? AND carrier_id = ? AND verdict = 0", [order.orderId, carrierId])) {
    const v = verifyOrderPin(platform, carrierId, order.orderId);
    if (v.verdict !== 0) throw new Error(`test: the PIN was not accepted (verdict ${v.verdict})`);
  }
  const { cryptogramKey } = platform.carrierKeys(carrierId);
  const cryptogram = computeAuthorizationCryptogram(cryptogramKey, {
    carrierId: Buffer.from(carrierId, "hex"), orderId: Buffer.from(order.orderId, "hex"), merchantId: merchantIdBytes(order.merchantId),
    amount: order.amount, currency: order.currency, atc,
  });
  return { orderId: order.orderId, carrierId, atc, cryptogram: Buffer.from(cryptogram).toString("hex") };
}

/** A merchant, a carrier and an open order for 12.34 EUR. */
export function setupOrder(platform: Platform, amount = 1234) {
  const merchant = platform.registerMerchant({ name: "Corner Café" });
  const carrier = platform.issueCarrier();
  const code = platform.issuePaymentCode({ merchantId: merchant.merchantId, amount, currency: "EUR" });
  const order = platform.createOrder({ code: code.code });
  return { merchant, carrier, code, order };
}

export function reasonOf(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    const r = (e as { reason?: string }).reason;
    if (r) return r;
    throw e;
  }
  return "accepted";
}
