// The release bundle flashed as .bootcde on the small boards' Storage (STORAGE.md §8): the
// carrier must personalise and pay next to its own firmware, not only from RAM.
//  - pico (3 × 16 KB pages): personalisation reserves the page store (its last Storage page behind
//    kc.st, and the getFree() sector), payments work, and the carrier's whole life too.
//  - puckjs geometry (10 × 4 KB pages): the carrier's whole life, each phase after a boot and in one
//    power cycle. The Puck.js has no USB; its profile gets a USB port so the same dispatcher can be driven.
import { afterEach, describe, expect, it } from "vitest";
import { Platform } from "../host/src/platform/service.ts";
import { CarrierRig, CMD, ST, bytesOf, enrolPin, payOrderBody, platformVerdict, TEST_PIN_OPTIONS, transportIdentity, verifyLogPage } from "../firmware/test/applets/carrier-harness.ts";
import { profileFor, runLifecycle } from "../firmware/test/store/lifecycle.ts";

const PIN = "482913";
const PLATFORM_ID = new TextEncoder().encode("KC-PLATFORM-TEST");
const rigs: CarrierRig[] = [];
const platforms: Platform[] = [];
afterEach(() => {
  for (const r of rigs.splice(0)) r.board.dispose();
  for (const p of platforms.splice(0)) p.close();
});

describe("small boards: the release bundle in .bootcde next to the carrier's store", () => {
  it("pico: personalise, pay twice (one boot apart), the log verifies", async () => {
    const platform = await Platform.open({ pin: TEST_PIN_OPTIONS });
    platforms.push(platform);
    const rig = await CarrierRig.boot({ board: "pico", bootcde: true });
    rigs.push(rig);
    expect(rig.board.storage.list().sort()).toEqual([".bootcde", "kc.tk"]); // provisioned
    const carrierId = platform.issueCarrier().carrierId;
    const keys = platform.carrierKeys(carrierId);
    const merchantId = platform.registerMerchant({ name: "Corner Café" }).merchantId;
    const identity = { carrierId: Buffer.from(carrierId, "hex"), platformId: PLATFORM_ID, channelKey: keys.channelKey };

    const tch = await rig.openChannel(transportIdentity(rig.serial));
    const perso = await rig.inner(tch, CMD.PERSONALISE, new Map<number, Uint8Array | number | string>([
      [1, identity.carrierId], [2, PLATFORM_ID], [3, keys.channelKey], [4, keys.cryptogramKey], [5, 500_000],
    ]));
    expect(perso.status, String(perso.body.get(1))).toBe(ST.OK);
    // .boot0: the console lock Espruino runs first at every boot (SECURITY.md §7); kc.tk: the transport key PROVISION wrote
    expect(rig.board.storage.list().sort()).toEqual([".boot0", ".bootcde", "kc.pad", "kc.st", "kc.tk"]);
    enrolPin(platform, carrierId, PIN);

    for (let atc = 1; atc <= 2; atc++) {
      if (atc === 2) await rig.reboot();
      const ch = await rig.openChannel(identity);
      const code = platform.issuePaymentCode({ merchantId, amount: 1234 + atc, currency: "EUR" });
      const order = platform.createOrder({ code: code.code });
      const f = order.cryptogramFields;
      const auth = await rig.pay(ch, payOrderBody(f), platformVerdict(platform, rig, ch, carrierId, payOrderBody(f), PIN));
      expect(auth.status, String(auth.body.get(1))).toBe(ST.OK);
      expect(auth.body.get(1)).toBe(atc);
      const settled = platform.authorize({ orderId: order.orderId, carrierId, atc, cryptogram: Buffer.from(bytesOf(auth.body.get(2))).toString("hex") });
      expect(settled.orderId).toBe(order.orderId);
    }
    const log = await rig.outer(CMD.LOG_READ);
    expect(log.status).toBe(ST.OK);
    const page = verifyLogPage(log.body);
    expect(page.ok).toBe(true);
    expect(page.entries).toHaveLength(2);
  }, 60_000);

  it("pico: personalise, 12 payments, 7 PIN changes (at the platform), a wrong PIN counted, wipe, personalise again (a boot between phases)", async () => {
    const r = await runLifecycle({ profile: profileFor("pico"), bundle: true });
    expect(r.failure).toBeUndefined();
    expect(r.filesAfterPersonalise).toEqual([".boot0", ".bootcde", "kc.pad", "kc.st", "kc.tk"]);
    expect(r.steps[r.steps.length - 1]!.step).toBe("personalise again");
  }, 60_000);

  it("puckjs geometry (USB stand-in): personalise, 12 payments, 7 PIN changes (at the platform), a wrong PIN counted, wipe, personalise again", async () => {
    const r = await runLifecycle({ profile: profileFor("puckjs", true), bundle: true });
    expect(r.failure).toBeUndefined();
    expect(r.filesAfterPersonalise).toEqual([".boot0", ".bootcde", "kc.pad", "kc.st", "kc.tk"]);
    expect(r.steps[r.steps.length - 1]!.step).toBe("personalise again");
  }, 60_000);

  it("puckjs geometry (USB stand-in): the same life in one power cycle", async () => {
    const r = await runLifecycle({ profile: profileFor("puckjs", true), bundle: true, rebootBetweenPhases: false });
    expect(r.failure).toBeUndefined();
    expect(r.steps[r.steps.length - 1]!.step).toBe("personalise again");
  }, 60_000);
});
