// Attack (issue #11 item 4): a clone holding the carrier's REAL K_ac (from a flash dump, dump.ts)
// computes genuine cryptograms. The platform used to trust any valid MAC: it settled
// 2,500,000,000.00 EUR on a carrier personalised with a 1,000.00 EUR limit, any currency, and ATC
// 1000 followed by ATC 5, so the clone also burned the owner's future counters. With the online PIN
// a cryptogram alone is refused (pin-not-verified, shown first here and in btn1-dump.test.ts); this
// test is about the residual risk: a clone whose holder ALSO knows the PIN (watched at the till) and
// so gets an OK verdict for each order it pays, through the same unauthenticated payer routes any
// host uses. The platform enforces, at authorization, the limit and currency recorded when the
// carrier was issued (the same limit personalisation installs on the carrier), an ATC window around
// the highest ATC seen (gaps flagged in the audit), and velocity limits per carrier. Each refusal
// below comes after an OK PIN verdict for that very order, so it is the risk rule's, not the PIN's.
// What this cannot stop — an in-window, in-limit payment by someone holding K_ac and the PIN — is
// flagged and throttled.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Platform } from "../../host/src/platform/service.ts";
import { startPlatformServer, type RunningPlatform } from "../../host/src/platform/http.ts";
import { PlatformClient, PlatformRequestError } from "../../host/src/platform/client.ts";
import { personalise, platformIdFor, provision } from "../../host/src/flows/personalise.ts";
import { encryptPinBlock, PinPurpose, Verdict } from "../../host/src/platform/online-pin.ts";
import { computeAuthorizationCryptogram } from "../../host/src/channel/keys.ts";
import type { OrderView } from "../../host/src/platform/service.ts";
import { bytesOf, CarrierRig, hex, payOrderBody, platformVerdict, ST, TEST_PIN_OPTIONS, type Identity } from "../../firmware/test/applets/carrier-harness.ts";
import { cryptogramKeyFromDump } from "./dump.ts";

const PIN = "482913";
const LIMIT = 100_000; // 1,000.00 EUR
let clock = 1_900_000_000_000;
let platform: Platform;
let served: RunningPlatform;
let rig: CarrierRig;
let carrierId: string;
let identity: Identity;
let kac: Uint8Array;
let shop: PlatformClient; // the accomplice merchant: mints whatever codes the clone wants
let payer: PlatformClient; // the unauthenticated payer route, as any host (or clone) uses it
let shopMerchantId = 0;

beforeAll(async () => {
  platform = await Platform.open({ now: () => clock, pin: TEST_PIN_OPTIONS });
  served = await startPlatformServer({ platform, port: 0 });
  rig = await CarrierRig.boot({ provision: false });
  await provision(rig.kc, platform); // the factory step with this platform's secret batch key
  const done = await personalise(rig.kc, platform, { pin: PIN, limit: LIMIT });
  carrierId = done.carrierId;
  const keys = platform.carrierKeys(carrierId);
  identity = { carrierId: Buffer.from(carrierId, "hex"), platformId: platformIdFor(done.issuerId), channelKey: keys.channelKey };
  kac = cryptogramKeyFromDump(rig, keys.channelKey);
  expect(hex(kac), "the dump yields the carrier's real K_ac").toBe(hex(keys.cryptogramKey));
  const admin = new PlatformClient(served.url, { apiKey: platform.createdAdminKey });
  const m = await admin.registerMerchant({ name: "Accomplice" });
  shop = new PlatformClient(served.url, { apiKey: m.apiKey });
  shopMerchantId = m.merchantId;
  payer = new PlatformClient(served.url, { retries: 0 });
}, 60_000);
afterAll(async () => {
  rig?.board.dispose();
  await served?.close();
});

/** An order the accomplice merchant mints for the clone, created as any payer would. */
async function order(amount: number, currency = "EUR"): Promise<OrderView> {
  return payer.createOrder((await shop.issuePaymentCode(shopMerchantId, { amount, currency })).code);
}

/**
 * The clone's holder knows the PIN: it is verified online for this order through the payer routes
 * (no API key), exactly as a host does; the verdict must be OK, so what follows is the risk rules' call.
 */
async function pinVerified(o: OrderView): Promise<void> {
  const c = await payer.pinChallenge({ carrierId, orderId: o.orderId, purpose: "pay" });
  const block = encryptPinBlock(PIN, Buffer.from(c.publicKey, "hex"), { purpose: PinPurpose.PAY, carrierId: identity.carrierId, orderId: Buffer.from(o.orderId, "hex"), challenge: Buffer.from(c.challenge, "hex") });
  const v = await payer.verifyOrderPin({ orderId: o.orderId, carrierId, challenge: c.challenge, pinBlock: hex(block), sessionNonce: "00".repeat(16), requestCounter: 0 });
  expect(v.verdict, "the clone's PIN is right").toBe(Verdict.OK);
}

/** The clone's authorization: the PIN verified online for the order, then a genuine cryptogram under the dumped K_ac. */
async function cloned(o: OrderView, atc: number) {
  await pinVerified(o);
  return forged(o, atc);
}

/** A genuine cryptogram under the dumped K_ac (no PIN step). */
function forged(o: OrderView, atc: number) {
  const f = o.cryptogramFields;
  const cryptogram = computeAuthorizationCryptogram(kac, {
    carrierId: identity.carrierId, orderId: Buffer.from(f.orderId, "hex"), merchantId: Buffer.from(f.merchantId, "hex"), amount: f.amount, currency: f.currency, atc,
  });
  return { orderId: o.orderId, carrierId, atc, cryptogram: hex(cryptogram) };
}

async function refusal(p: Promise<unknown>): Promise<[number, string]> {
  try {
    await p;
  } catch (e) {
    if (e instanceof PlatformRequestError) return [e.httpStatus, e.reason];
    throw e;
  }
  return [201, "settled"];
}

/** The owner pays through the carrier itself (button pressed, PIN right). */
async function ownerPays(amount: number) {
  const o = await order(amount);
  const ch = await rig.openChannel(identity);
  const body = payOrderBody(o.cryptogramFields);
  const auth = await rig.pay(ch, body, platformVerdict(platform, rig, ch, carrierId, body, PIN));
  expect(auth.status).toBe(ST.OK);
  return payer.authorize({ orderId: o.orderId, carrierId, atc: auth.body.get(1) as number, cryptogram: hex(bytesOf(auth.body.get(2))) });
}

const settledCount = () => Number(platform.ledger.get("SELECT count(*) AS n FROM settlements WHERE carrier_id = ?", [carrierId])!.n);

describe("attack: a clone with the real K_ac against the platform's issuer controls", () => {
  it("the platform knows the limit personalisation installed", async () => {
    expect(platform.getCarrier(carrierId)).toMatchObject({ limit: LIMIT, currency: "EUR", lastAtc: 0 });
    expect((await ownerPays(1234)).atc).toBe(1);
  });

  it("K_ac alone (no PIN verified for the order) settles nothing, even in limit and in window", async () => {
    const o = await order(500);
    expect(await refusal(payer.authorize(forged(o, 2)))).toEqual([403, "pin-not-verified"]);
    expect(settledCount()).toBe(1);
  });

  it("over the carrier's limit: 2,500,000,000.00 EUR with a genuine cryptogram is refused, nothing settles", async () => {
    const big = await order(250_000_000_000);
    expect(await refusal(payer.authorize(await cloned(big, 2)))).toEqual([422, "over-carrier-limit"]);
    expect(await refusal(payer.authorize(await cloned(await order(LIMIT + 1), 2)))).toEqual([422, "over-carrier-limit"]);
    expect(settledCount()).toBe(1);
    expect(platform.getOrder(big.orderId).state).toBe("open");
  });

  it("another currency than the carrier's is refused", async () => {
    expect(await refusal(payer.authorize(await cloned(await order(1000, "USD"), 2)))).toEqual([422, "currency-not-allowed"]);
    expect(await refusal(payer.authorize(await cloned(await order(1000, "JPY"), 2)))).toEqual([422, "currency-not-allowed"]);
  });

  it("ATC far ahead (1000) or far behind is refused, so the owner's next ATC still settles: the clone burned nothing", async () => {
    expect(await refusal(payer.authorize(await cloned(await order(500), 1000)))).toEqual([409, "atc-out-of-window"]);
    expect(await refusal(payer.authorize(await cloned(await order(500), 2 + platform.risk.atcAhead)))).toEqual([409, "atc-out-of-window"]);
    expect(platform.getCarrier(carrierId).lastAtc).toBe(1);
    expect((await ownerPays(700)).atc).toBe(2);
    expect(settledCount()).toBe(2);
  });

  it("what a key holder can still do (in window, in limit) is flagged as an ATC gap and throttled by velocity limits", async () => {
    const inWindow = await payer.authorize(await cloned(await order(500), 10));
    expect(inWindow.atc).toBe(10);
    expect(platform.auditTrail({ entity: "carrier", entityId: carrierId }).filter((r) => r.action === "atc-gap").map((r) => r.detail))
      .toEqual([{ from: 2, to: 10, skipped: 7 }]);
    // Amount per window: at most 10 × the limit per hour.
    let atc = 11;
    let outcome: [number, string] = [201, "settled"];
    let big = 0;
    while (outcome[0] === 201 && big < 20) {
      outcome = await refusal(payer.authorize(await cloned(await order(LIMIT), atc++)));
      if (outcome[0] === 201) big++;
    }
    expect(outcome).toEqual([429, "velocity-amount"]);
    expect(big).toBe(9); // 12.34 + 7.00 + 5.00 + 9 × 1,000.00 ≤ 10,000.00 EUR; the 10th is over
    // Count per window, an hour later: at most 30 payments per hour.
    clock += 3_600_001;
    let small = 0;
    for (;;) {
      outcome = await refusal(payer.authorize(await cloned(await order(100), atc++)));
      if (outcome[0] !== 201) break;
      small++;
    }
    expect(outcome).toEqual([429, "velocity-count"]);
    expect(small).toBe(platform.risk.maxPerWindow);
  }, 60_000);
});
