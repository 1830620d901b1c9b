// Personalisation and the QR payment end to end, on the virtual board running the RELEASE bundle
// (PROTOCOL.md §7.4-§7.7): the test plays the platform (host/src/platform Platform, in memory, and
// host/src/channel for the secure channel) and the untrusted host relaying frames over USB.
import { afterEach, describe, expect, it } from "vitest";
import { Platform, PlatformError } from "../host/src/platform/service.ts";
import type { PlatformChannel } from "../host/src/channel/session.ts";
import type { CborMap } from "../host/src/codec.ts";
import { encodeFrame } from "../host/src/link.ts";
import { encodeCbor } from "../host/src/codec.ts";
import {
  bytesOf, CarrierRig, CMD, hex, parseEntry, ST, transportIdentity, verifyLogPage, type Identity,
} from "../firmware/test/applets/carrier-harness.ts";

const PIN = "482913";
const PLATFORM_ID = new TextEncoder().encode("KC-PLATFORM-TEST");
const LIMIT = 500_000;

const rigs: CarrierRig[] = [];
const platforms: Platform[] = [];
afterEach(() => {
  for (const r of rigs.splice(0)) r.board.dispose();
  for (const p of platforms.splice(0)) p.close();
});

interface World { platform: Platform; carrierId: string; identity: Identity; merchantId: number }

async function world(): Promise<World> {
  const platform = await Platform.open({});
  platforms.push(platform);
  const carrierId = platform.issueCarrier().carrierId;
  const keys = platform.carrierKeys(carrierId);
  const merchantId = platform.registerMerchant({ name: "Corner Café" }).merchantId;
  return { platform, carrierId, identity: { carrierId: Buffer.from(carrierId, "hex"), platformId: PLATFORM_ID, channelKey: keys.channelKey }, merchantId };
}

async function personalise(rig: CarrierRig, w: World): Promise<void> {
  const keys = w.platform.carrierKeys(w.carrierId);
  const ch = await rig.openChannel(transportIdentity(rig.serial));
  const r = await rig.inner(ch, CMD.PERSONALISE, new Map<number, Uint8Array | number | string>([
    [1, w.identity.carrierId], [2, PLATFORM_ID], [3, keys.channelKey], [4, keys.cryptogramKey], [5, LIMIT], [6, PIN],
  ]));
  expect(r.status, String(r.body.get(1))).toBe(ST.OK);
  expect(r.body.get(1)).toBe(1);
  expect(r.body.get(2)).toBe(10);
}

function newOrder(w: World, amount = 1234, currency = "EUR") {
  const code = w.platform.issuePaymentCode({ merchantId: w.merchantId, amount, currency });
  const order = w.platform.createOrder({ code: code.code });
  const f = order.cryptogramFields;
  const body: CborMap = new Map<number, Uint8Array | number | string>([
    [1, Buffer.from(f.orderId, "hex")], [2, Buffer.from(f.merchantId, "hex")], [3, f.amount], [4, f.currency],
  ]);
  return { order, body };
}

async function pay(rig: CarrierRig, ch: PlatformChannel, orderBody: CborMap, pin = PIN) {
  const begin = await rig.inner(ch, CMD.PAY_BEGIN, orderBody);
  expect(begin.status, String(begin.body.get(1))).toBe(ST.OK);
  rig.press();
  return rig.inner(ch, CMD.PAY_AUTHORIZE, new Map([[1, pin]]));
}

async function readLog(rig: CarrierRig) {
  const r = await rig.outer(CMD.LOG_READ);
  expect(r.status).toBe(ST.OK);
  const page = verifyLogPage(r.body);
  return { ...page, head: bytesOf(r.body.get(3)), kept: r.body.get(4) as number, entries: page.entries.map(parseEntry) };
}

let attackTests = 0;

describe("personalisation and QR payment on the virtual board (release bundle)", () => {
  it("personalise → pay (button) → cryptogram settles on the platform → log verifies", async () => {
    const w = await world();
    const rig = await CarrierRig.boot();
    rigs.push(rig);
    expect((await rig.info()).get(5)).toBe(0);
    await personalise(rig, w);
    const info = await rig.info();
    expect(info.get(5)).toBe(1);
    expect(info.get(9)).toBe(10);
    expect(hex(bytesOf(info.get(10)))).toBe(w.carrierId);
    expect(info.get(11)).toBe(0);

    const ch = await rig.openChannel(w.identity);
    const { order, body } = newOrder(w);
    const b0 = rig.wire.bytes;
    const begin = await rig.inner(ch, CMD.PAY_BEGIN, body);
    const b1 = rig.wire.bytes;
    expect(begin.status).toBe(ST.OK);
    expect(begin.body.get(2)).toBe(1); // 12.34: class 1
    expect(rig.board.leds()[0]).toBe(true); // "confirm?"
    expect((await rig.inner(ch, CMD.PAY_AUTHORIZE, new Map([[1, PIN]]))).status).toBe(ST.PAY_PENDING);
    const b2 = rig.wire.bytes;
    rig.press();
    expect(rig.board.leds()[0]).toBe(false);
    const auth = await rig.inner(ch, CMD.PAY_AUTHORIZE, new Map([[1, PIN]]));
    expect(auth.status, String(auth.body.get(1))).toBe(ST.OK);
    const b3 = rig.wire.bytes;
    const perAuthorization = (b1 - b0) + (b3 - b2);
    console.log(`wire per authorization after the channel is open: ${perAuthorization} B in 2 round trips (PAY_BEGIN ${b1 - b0} B, PAY_AUTHORIZE ${b3 - b2} B); each PAY_PENDING poll ${b2 - b1} B`);
    expect(perAuthorization).toBeLessThanOrEqual(400);
    expect(auth.body.get(1)).toBe(1);
    const cryptogram = hex(bytesOf(auth.body.get(2)));
    const settlement = w.platform.authorize({ orderId: order.orderId, carrierId: w.carrierId, atc: 1, cryptogram });
    expect(settlement.orderId).toBe(order.orderId);
    expect(w.platform.getOrder(order.orderId).state).toBe("settled");

    const log = await readLog(rig);
    expect(log.ok).toBe(true);
    expect(hex(log.head)).toBe(hex(bytesOf(auth.body.get(3))));
    expect(log.entries).toHaveLength(1);
    expect(log.entries[0]).toMatchObject({ atc: 1, result: 1, amount: 1234, currency: "EUR" });
    expect(hex(log.entries[0]!.orderId)).toBe(order.orderId);
    expect((await rig.info()).get(11)).toBe(1);
  }, 60_000);
});
