// Carrier state machine on the virtual board (release bundle): WIPE with the button, self-destruct
// after the 10th wrong PIN inside a payment, the application keys purged with the carrier's own
// secrets, revival through the transport identity, and an interrupted personalisation.
import { afterEach, describe, expect, it } from "vitest";
import { Platform } from "../host/src/platform/service.ts";
import { bytesOf, CarrierRig, CMD, ST, transportIdentity, type Identity } from "../firmware/test/applets/carrier-harness.ts";

const PIN = "482913";
const PLATFORM_ID = new TextEncoder().encode("KC-PLATFORM-TEST");
const rigs: CarrierRig[] = [];
const platforms: Platform[] = [];
afterEach(() => {
  for (const r of rigs.splice(0)) r.board.dispose();
  for (const p of platforms.splice(0)) p.close();
});

async function personalised() {
  const platform = await Platform.open({});
  platforms.push(platform);
  const carrierId = platform.issueCarrier().carrierId;
  const keys = platform.carrierKeys(carrierId);
  const rig = await CarrierRig.boot();
  rigs.push(rig);
  const persoBody = new Map<number, Uint8Array | number | string>([[1, Buffer.from(carrierId, "hex")], [2, PLATFORM_ID], [3, keys.channelKey], [4, keys.cryptogramKey], [5, 100_000], [6, PIN]]);
  const tch = await rig.openChannel(transportIdentity(rig.serial));
  expect((await rig.inner(tch, CMD.PERSONALISE, persoBody)).status).toBe(ST.OK);
  // the transport session is over once the carrier is personalised
  expect((await rig.inner(tch, CMD.PERSONALISE, persoBody)).outer).toBe(ST.CHANNEL_NOT_OPEN);
  const identity: Identity = { carrierId: Buffer.from(carrierId, "hex"), platformId: PLATFORM_ID, channelKey: keys.channelKey };
  return { platform, carrierId, keys, rig, identity, persoBody };
}

function flashHolds(rig: CarrierRig, secret: Uint8Array): boolean {
  return Buffer.from(rig.board.flash.snapshot()).includes(Buffer.from(secret));
}

describe("carrier states on the virtual board (release bundle)", () => {
  it("WIPE needs the 3 s button hold; it destroys the carrier and purges its application keys", async () => {
    const { rig, keys } = await personalised();
    expect(flashHolds(rig, keys.cryptogramKey)).toBe(true);
    expect((await rig.outer(CMD.WIPE)).status).toBe(0x21); // PRESENCE_REQUIRED
    rig.board.clickButton(1, 3_200);
    rig.board.runUntilIdle(1_000);
    const w = await rig.outer(CMD.WIPE);
    expect(w.status).toBe(ST.OK);
    expect(w.body.get(1)).toBe(3);
    const info = await rig.info();
    expect(info.get(5)).toBe(3);
    expect(Buffer.from(bytesOf(info.get(10))).toString()).toBe(rig.serial); // transport identity again
    expect(info.has(11)).toBe(false);
    expect(rig.board.storage.read("kc.pay.a") ?? rig.board.storage.read("kc.pay.b")).toBeUndefined();
    expect(flashHolds(rig, keys.cryptogramKey)).toBe(false);
    expect(flashHolds(rig, keys.channelKey)).toBe(false);
    expect((await rig.outer(CMD.LOG_READ)).status).toBe(ST.NOT_ALLOWED);
  }, 60_000);

  it("the 10th wrong PIN inside a payment destroys the carrier; a new personalisation revives it with new keys", async () => {
    const { rig, identity, keys, platform } = await personalised();
    const ch = await rig.openChannel(identity);
    const order = new Map<number, Uint8Array | number | string>([[1, Buffer.from("0123456789ab")], [2, Uint8Array.of(0, 0, 0, 1)], [3, 500], [4, "EUR"]]);
    let last = -1;
    let session = ch;
    for (let i = 1; i <= 10; i++) {
      if (i > 1) {
        rig.board.advance(61_000); // past the lockout window (and the channel's 120 s idle limit soon)
        session = await rig.openChannel(identity);
      }
      const r = await rig.pay(session, order, "000000");
      last = r.status;
      if (i < 10) expect([r.status, r.body.get(2)], `try ${i}`).toEqual([ST.PIN_WRONG, 10 - i]);
    }
    expect(last).toBe(ST.PIN_BLOCKED);
    expect((await rig.info()).get(5)).toBe(3);
    expect(flashHolds(rig, keys.cryptogramKey)).toBe(false);
    await expect(rig.openChannel(identity)).rejects.toThrow();

    // Revival: the platform issues a new carrier identity and personalises through the transport key.
    const fresh = platform.issueCarrier().carrierId;
    const k2 = platform.carrierKeys(fresh);
    const tch = await rig.openChannel(transportIdentity(rig.serial));
    const r = await rig.inner(tch, CMD.PERSONALISE, new Map<number, Uint8Array | number | string>([[1, Buffer.from(fresh, "hex")], [2, PLATFORM_ID], [3, k2.channelKey], [4, k2.cryptogramKey], [5, 100_000], [6, "135790"]]));
    expect(r.status).toBe(ST.OK);
    const info = await rig.info();
    expect([info.get(5), info.get(9), info.get(11)]).toEqual([1, 10, 0]);
  }, 120_000);

  it("a power cut between the keys record and the PIN commit leaves a BLANK carrier with nothing behind", async () => {
    const platform = await Platform.open({});
    platforms.push(platform);
    const carrierId = platform.issueCarrier().carrierId;
    const keys = platform.carrierKeys(carrierId);
    const rig = await CarrierRig.boot();
    rigs.push(rig);
    const tch = await rig.openChannel(transportIdentity(rig.serial));
    const body = new Map<number, Uint8Array | number | string>([[1, Buffer.from(carrierId, "hex")], [2, PLATFORM_ID], [3, keys.channelKey], [4, keys.cryptogramKey], [5, 100_000], [6, PIN]]);
    // Storage.write #1 creates kc.pay.a, #2 appends the keys record, #3 is SET_PIN's counter file.
    rig.board.cutPowerOnNativeCall("Storage.write", 3);
    const sealed = rig.sealInner(tch, CMD.PERSONALISE, body);
    await rig.sendSealed(null, sealed).catch(() => undefined);
    expect(rig.board.transcript()).toContain("power cut at native call Storage.write");
    expect(rig.board.storage.read("kc.pay.a") ?? rig.board.storage.read("kc.pay.b")).toBeTruthy(); // keys record written
    expect(flashHolds(rig, keys.cryptogramKey)).toBe(true);
    await rig.reboot();
    const info = await rig.info();
    expect(info.get(5)).toBe(0);
    expect(rig.board.storage.read("kc.pay.a") ?? rig.board.storage.read("kc.pay.b")).toBeUndefined();
    expect(flashHolds(rig, keys.cryptogramKey)).toBe(false);
    const again = await rig.openChannel(transportIdentity(rig.serial));
    expect((await rig.inner(again, CMD.PERSONALISE, body)).status).toBe(ST.OK);
  }, 60_000);
});
