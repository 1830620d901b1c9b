import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { computeAuthorizationCryptogram } from "../../src/channel/keys.ts";
import { merchantIdBytes, type Platform, type OrderView, type AuthorizationRequest } from "../../src/platform/service.ts";

export function tempDir(): { dir: string; file: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), "kc-platform-"));
  return { dir, file: join(dir, "ledger.sqlite"), cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** What a carrier would send: the cryptogram computed with the channel module under the carrier's diversified key. */
export function carrierAuthorization(platform: Platform, carrierId: string, order: OrderView, atc: number): AuthorizationRequest {
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
