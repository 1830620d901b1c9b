// Attack (d): a thief holding the carrier (and any host) guesses the PIN online — the only place a
// PIN can be checked now. The platform counts against the issuer's try limit (3): the 3rd wrong PIN
// blocks the card at the platform; its BLOCKED verdict destroys the carrier (keys purged) when it
// reaches it; after that even the right PIN gets BLOCKED and nothing settles. A host that withholds
// the verdicts from the carrier gains nothing (the platform's counter is the one that blocks), and
// one that feeds the carrier forged or replayed verdicts burns the carrier's own tries (10) and
// destroys it. Before the online PIN, guesses went to the carrier (10 tries, no platform limit).
import { afterEach, describe, expect, it } from "vitest";
import type { Platform } from "../../host/src/platform/service.ts";
import { PlatformError } from "../../host/src/platform/service.ts";
import { platformVerdict, ST, type CarrierRig } from "../../firmware/test/applets/carrier-harness.ts";
import { newOrder, pay, personalisedCarrier, productionPlatform } from "./world.ts";
import { pinBlockFor } from "../../host/test/platform/helpers.ts";
import { PinPurpose } from "../../host/src/platform/online-pin.ts";

const PIN = "482913";
const rigs: CarrierRig[] = [];
const platforms: Platform[] = [];
afterEach(() => {
  for (const r of rigs.splice(0)) r.board.dispose();
  for (const p of platforms.splice(0)) p.close();
});

function flashHolds(rig: CarrierRig, secret: Uint8Array): boolean {
  return Buffer.from(rig.board.flash.snapshot()).includes(Buffer.from(secret));
}

describe("attack: online PIN guessing", () => {
  it("stops at the issuer's 3rd wrong PIN; the BLOCKED verdict destroys the carrier; the right PIN then settles nothing", async () => {
    const platform = await productionPlatform();
    platforms.push(platform);
    const c = await personalisedCarrier(platform, PIN);
    rigs.push(c.rig);
    const order = newOrder(c);
    const seen: [number, unknown][] = [];
    for (const guess of ["000000", "111111", "222222"]) {
      c.rig.board.advance(61_000);
      const r = await pay(c, guess, order);
      seen.push([r.reply.status, r.reply.body.get(2)]);
    }
    expect(seen).toEqual([[ST.PIN_WRONG, 2], [ST.PIN_WRONG, 1], [ST.PIN_BLOCKED, undefined]]);
    expect(platform.getCarrier(c.carrierId).state).toBe("blocked");
    expect((await c.rig.info()).get(5)).toBe(3); // DESTROYED
    for (const [name, key] of Object.entries(c.keys)) expect(flashHolds(c.rig, key), `${name} in flash after the self-destruct`).toBe(false);
    await expect(c.rig.openChannel(c.identity)).rejects.toThrow();
    // the right PIN now: BLOCKED at the platform, and no authorization settles
    const right = platform.verifyOrderPin({ orderId: order.orderId, carrierId: c.carrierId, ...pinBlockFor(platform, c.carrierId, PinPurpose.PAY, order.orderId, PIN), sessionNonce: "00".repeat(16), requestCounter: 0 });
    expect(right.verdict).toBe(2);
    let refused: PlatformError | undefined;
    try { platform.authorize({ orderId: order.orderId, carrierId: c.carrierId, atc: 1, cryptogram: "00".repeat(16) }); } catch (e) { refused = e as PlatformError; }
    expect(refused?.reason).toBe("carrier-blocked");
  }, 120_000);

  it("a host that keeps the verdicts from the carrier still meets the platform's limit", async () => {
    const platform = await productionPlatform();
    platforms.push(platform);
    const c = await personalisedCarrier(platform, PIN);
    rigs.push(c.rig);
    const order = newOrder(c);
    const ch = await c.rig.openChannel(c.identity);
    const verdicts = ["000000", "111111", "222222", PIN].map((g) => platformVerdict(platform, c.rig, ch, c.carrierId, order.body, g).verdict);
    expect(verdicts).toEqual([1, 1, 2, 2]); // the 4th guess is the right PIN: too late
    expect((await c.rig.info()).get(9)).toBe(10); // the carrier never saw them: its own count is untouched, the platform's blocked the card
  }, 60_000);

  it("forged or replayed verdicts fed to the carrier burn its own tries: the 10th destroys it", async () => {
    const platform = await productionPlatform();
    platforms.push(platform);
    const c = await personalisedCarrier(platform, PIN);
    rigs.push(c.rig);
    const order = newOrder(c);
    // one genuine OK verdict, recorded by the host for session 1 / request 0 ...
    const ch1 = await c.rig.openChannel(c.identity);
    const recorded = platformVerdict(platform, c.rig, ch1, c.carrierId, order.body, PIN);
    let last = -1;
    for (let i = 1; i <= 10; i++) {
      c.rig.board.advance(61_000);
      const ch = await c.rig.openChannel(c.identity);
      // ... replayed into later sessions (odd tries), or an OK with a made-up MAC (even tries)
      const v = i % 2 === 1 ? recorded : { verdict: 0, triesLeft: 3, mac: new Uint8Array(16).fill(i) };
      const r = await c.rig.pay(ch, order.body, v);
      last = r.status;
      if (i < 10) expect([r.status, r.body.get(2)], `verdict ${i}`).toEqual([ST.PIN_VERDICT_BAD, 10 - i]);
    }
    expect(last).toBe(ST.PIN_BLOCKED);
    expect((await c.rig.info()).get(5)).toBe(3);
  }, 120_000);
});
