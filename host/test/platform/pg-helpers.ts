// Test helpers for a platform on any engine (the PostgreSQL ledger has no synchronous calls):
// the same steps as helpers.ts, through platform.run.
import { computeAuthorizationCryptogram } from "../../src/channel/keys.ts";
import { merchantIdBytes, type Platform, type AuthorizationRequest, type OrderView } from "../../src/platform/service.ts";
import { encryptPinBlock, PinPurpose } from "../../src/platform/online-pin.ts";
import { pgServerUnavailable, startPgServer, createDatabase, type PgServer } from "../../src/platform/pg-server.ts";
import { TEST_PIN } from "./helpers.ts";

export async function pinBlockFor(platform: Platform, carrierId: string, purpose: PinPurpose, orderId: string, pin: string): Promise<{ challenge: string; pinBlock: string }> {
  const c = await platform.run((o) => o.pinChallenge({ carrierId, ...(orderId ? { orderId } : {}), purpose: purpose === PinPurpose.PAY ? "pay" : purpose === PinPurpose.ENROL ? "enrol" : "change" }));
  const block = encryptPinBlock(pin, Buffer.from(c.publicKey, "hex"), { purpose, carrierId: Buffer.from(carrierId, "hex"), orderId: Buffer.from(orderId, "hex"), challenge: Buffer.from(c.challenge, "hex") });
  return { challenge: c.challenge, pinBlock: Buffer.from(block).toString("hex") };
}

export async function enrolPin(platform: Platform, carrierId: string, pin = TEST_PIN): Promise<void> {
  const block = await pinBlockFor(platform, carrierId, PinPurpose.ENROL, "", pin);
  await platform.run((o) => o.enrolPin({ carrierId, ...block }));
}

export async function verifyOrderPin(platform: Platform, carrierId: string, orderId: string, pin = TEST_PIN) {
  const block = await pinBlockFor(platform, carrierId, PinPurpose.PAY, orderId, pin);
  return platform.run((o) => o.verifyOrderPin({ orderId, carrierId, ...block, sessionNonce: "00".repeat(16), requestCounter: 0 }));
}

/** The carrier's authorization for an order (its PIN verified online first), as a host would send it. */
export async function carrierAuthorization(platform: Platform, carrierId: string, order: OrderView, atc: number): Promise<AuthorizationRequest> {
  const v = await verifyOrderPin(platform, carrierId, order.orderId);
  if (v.verdict !== 0) throw new Error(`test setup: the PIN was not accepted (verdict ${v.verdict})`);
  const { cryptogramKey } = await platform.run((o) => o.carrierKeys(carrierId));
  const cryptogram = computeAuthorizationCryptogram(cryptogramKey, {
    carrierId: Buffer.from(carrierId, "hex"), orderId: Buffer.from(order.orderId, "hex"), merchantId: merchantIdBytes(order.merchantId),
    amount: order.amount, currency: order.currency, atc,
  });
  return { orderId: order.orderId, carrierId, atc, cryptogram: Buffer.from(cryptogram).toString("hex") };
}

/**
 * `carriers` carriers with their PIN, each with `ordersPerCarrier` open orders whose PIN was
 * verified, and the authorization each would send (ATC 1, 2, …). Carriers are prepared concurrently.
 */
export async function prepareOrdersOn(platform: Platform, carriers: number, ordersPerCarrier: number, merchantName = "Crash Café"): Promise<AuthorizationRequest[][]> {
  const merchant = await platform.run((o) => o.registerMerchant({ name: merchantName }));
  return Promise.all(Array.from({ length: carriers }, async () => {
    const carrier = await platform.run((o) => o.issueCarrier());
    await enrolPin(platform, carrier.carrierId);
    const out: AuthorizationRequest[] = [];
    for (let i = 0; i < ordersPerCarrier; i++) {
      const code = await platform.run((o) => o.issuePaymentCode({ merchantId: merchant.merchantId, amount: 100 + i, currency: "EUR" }));
      const order = await platform.run((o) => o.createOrder({ code: code.code }));
      out.push(await carrierAuthorization(platform, carrier.carrierId, order, i + 1));
    }
    return out;
  }));
}

/**
 * One PostgreSQL server per test file (started in beforeAll, stopped in afterAll), or the reason it
 * cannot start here — printed, and the file's tests skip.
 */
export interface PgFixture { server?: PgServer; skip?: string; db(name: string): Promise<string> }

export async function pgFixture(): Promise<PgFixture> {
  const unavailable = pgServerUnavailable();
  let server: PgServer | undefined;
  let skip = unavailable;
  if (!skip) {
    try {
      // The server's default is off here, so the tests show the ledger turns it on for its own sessions.
      server = await startPgServer({ settings: { synchronous_commit: "off" } });
    } catch (e) {
      skip = `PostgreSQL would not start: ${(e as Error).message}`;
    }
  }
  if (skip) console.log(`SKIPPED (PostgreSQL): ${skip}`);
  let n = 0;
  return { server, skip, db: (name: string) => createDatabase(server!, `${name}_${++n}`) };
}
