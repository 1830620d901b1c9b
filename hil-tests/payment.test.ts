// Personalisation and the QR payment end to end, on the virtual board running the RELEASE bundle
// (PROTOCOL.md §7.4-§7.7): the test plays the platform (host/src/platform Platform, in memory, and
// host/src/channel for the secure channel) and the untrusted host relaying frames over USB.
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { Platform, PlatformError } from "../host/src/platform/service.ts";
import type { PlatformChannel } from "../host/src/channel/session.ts";
import type { CborMap } from "../host/src/codec.ts";
import { encodeFrame } from "../host/src/link.ts";
import { encodeCbor } from "../host/src/codec.ts";
import { computeAuthorizationCryptogram } from "../host/src/channel/keys.ts";
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

describe("attacks through the untrusted host (release bundle)", () => {
  let counted = 0;
  const attack = (name: string, fn: () => Promise<void>) => it(name, async () => { await fn(); counted++; }, 60_000);
  afterAll(() => console.log(`attack tests: ${counted}`));

  async function ready() {
    const w = await world();
    const rig = await CarrierRig.boot();
    rigs.push(rig);
    await personalise(rig, w);
    const ch = await rig.openChannel(w.identity);
    return { w, rig, ch };
  }

  attack("the host changes the amount in transit: the sealed order fails its tag, the genuine one still works", async () => {
    const { w, rig, ch } = await ready();
    const { body } = newOrder(w, 1234);
    const sealed = rig.sealInner(ch, CMD.PAY_BEGIN, body);
    // The amount sits in the ciphertext; flip bits there (any byte of C), as a relay would have to.
    for (const at of [6, 20, sealed.length - 17]) {
      const forged = sealed.slice();
      forged[at]! ^= 0x04;
      const r = await rig.sendSealed(null, forged);
      expect(r.outer).toBe(ST.BAD_MAC);
    }
    const genuine = await rig.sendSealed(ch, sealed);
    expect(genuine.status).toBe(ST.OK);
  });

  attack("the host swaps amount or payee at the platform: the cryptogram no longer verifies", async () => {
    const { w, rig, ch } = await ready();
    const a = newOrder(w, 1234);
    const b = newOrder(w, 99_999);
    const other = w.platform.registerMerchant({ name: "Mallory" }).merchantId;
    const c = w.platform.createOrder({ code: w.platform.issuePaymentCode({ merchantId: other, amount: 1234, currency: "EUR" }).code });
    const auth = await pay(rig, ch, a.body);
    expect(auth.status).toBe(ST.OK);
    const cryptogram = hex(bytesOf(auth.body.get(2)));
    for (const orderId of [b.order.orderId, c.orderId]) {
      expect(() => w.platform.authorize({ orderId, carrierId: w.carrierId, atc: 1, cryptogram })).toThrow(PlatformError);
      try { w.platform.authorize({ orderId, carrierId: w.carrierId, atc: 1, cryptogram }); } catch (e) { expect((e as PlatformError).reason).toBe("bad-cryptogram"); }
    }
    expect(w.platform.authorize({ orderId: a.order.orderId, carrierId: w.carrierId, atc: 1, cryptogram }).atc).toBe(1);
  });

  attack("a replayed channel frame is refused (BAD_COUNTER) and authorizes nothing", async () => {
    const { w, rig, ch } = await ready();
    const { body } = newOrder(w);
    expect((await rig.inner(ch, CMD.PAY_BEGIN, body)).status).toBe(ST.OK);
    rig.press();
    const sealed = rig.sealInner(ch, CMD.PAY_AUTHORIZE, new Map([[1, PIN]]));
    expect((await rig.sendSealed(ch, sealed)).status).toBe(ST.OK);
    // The same sealed bytes in a new link frame (new seq): not a link retransmission, a replay.
    const again = await rig.sendSealed(null, sealed);
    expect(again.outer).toBe(ST.BAD_COUNTER);
    expect((await readLog(rig)).entries).toHaveLength(1);
    expect((await rig.info()).get(11)).toBe(1);
  });

  attack("a replayed cryptogram is refused by the platform; the order settles once", async () => {
    const { w, rig, ch } = await ready();
    const { order, body } = newOrder(w);
    const auth = await pay(rig, ch, body);
    const req = { orderId: order.orderId, carrierId: w.carrierId, atc: 1, cryptogram: hex(bytesOf(auth.body.get(2))) };
    w.platform.authorize(req, "first");
    let reason = "";
    try { w.platform.authorize(req, "second"); } catch (e) { reason = (e as PlatformError).reason; }
    expect(reason).toBe("replayed");
  });

  attack("wrong PIN mid-flow: tries left decreases, no ATC, no cryptogram; the right PIN then authorizes", async () => {
    const { w, rig, ch } = await ready();
    const { order, body } = newOrder(w);
    const wrong = await pay(rig, ch, body, "111111");
    expect(wrong.status).toBe(ST.PIN_WRONG);
    expect(wrong.body.get(2)).toBe(9);
    expect(wrong.body.get(1)).toMatch(/wrong PIN/);
    expect((await rig.info()).get(9)).toBe(9);
    expect((await rig.info()).get(11)).toBe(0);
    expect((await readLog(rig)).entries).toHaveLength(0);
    const right = await rig.inner(ch, CMD.PAY_AUTHORIZE, new Map([[1, PIN]]));
    expect(right.status).toBe(ST.OK);
    expect(right.body.get(1)).toBe(1);
    expect((await rig.info()).get(9)).toBe(10);
    w.platform.authorize({ orderId: order.orderId, carrierId: w.carrierId, atc: 1, cryptogram: hex(bytesOf(right.body.get(2))) });
  });

  attack("the PIN never crosses the host's wire in clear", async () => {
    const { w, rig, ch } = await ready();
    await pay(rig, ch, newOrder(w).body);
    const all = Buffer.concat(rig.wire.chunks);
    expect(all.includes(Buffer.from(PIN))).toBe(false);
    const keys = w.platform.carrierKeys(w.carrierId);
    expect(all.includes(Buffer.from(keys.cryptogramKey))).toBe(false);
    expect(all.includes(Buffer.from(keys.channelKey))).toBe(false);
  });

  attack("no press, or a long press, declines: no cryptogram, a declined entry in the log", async () => {
    const { w, rig, ch } = await ready();
    expect((await rig.inner(ch, CMD.PAY_BEGIN, newOrder(w).body)).status).toBe(ST.OK);
    rig.board.clickButton(1, 1_500);
    rig.board.runUntilIdle(1_000);
    expect((await rig.inner(ch, CMD.PAY_AUTHORIZE, new Map([[1, PIN]]))).status).toBe(ST.PAY_DECLINED);
    expect((await rig.inner(ch, CMD.PAY_BEGIN, newOrder(w).body)).status).toBe(ST.OK);
    rig.board.advance(31_000);
    // the channel idles out after 120 s, not yet
    expect((await rig.inner(ch, CMD.PAY_AUTHORIZE, new Map([[1, PIN]]))).status).toBe(ST.PAY_DECLINED);
    expect((await rig.inner(ch, CMD.PAY_AUTHORIZE, new Map([[1, PIN]]))).status).toBe(ST.PAY_NO_ORDER);
    const log = await readLog(rig);
    expect(log.ok).toBe(true);
    expect(log.entries.map((e) => [e.atc, e.result])).toEqual([[1, 0], [2, 0]]);
    expect((await rig.info()).get(9)).toBe(10); // no PIN try spent
  });

  attack("over the installed limit: refused before the user is asked", async () => {
    const { w, rig, ch } = await ready();
    expect((await rig.inner(ch, CMD.PAY_BEGIN, newOrder(w, LIMIT + 1).body)).status).toBe(ST.PAY_OVER_LIMIT);
    expect(rig.board.leds()[0]).toBe(false);
  });

  attack("payment and PIN commands exist only inside the channel; a personalised carrier refuses PERSONALISE and its transport key", async () => {
    const { w, rig, ch } = await ready();
    const { body } = newOrder(w);
    expect((await rig.outer(CMD.PAY_BEGIN, body)).status).toBe(0x03);
    expect((await rig.outer(CMD.PAY_AUTHORIZE, new Map([[1, PIN]]))).status).toBe(0x03);
    expect((await rig.outer(CMD.VERIFY_PIN, new Map([[1, PIN]]))).status).toBe(0x03);
    expect((await rig.outer(CMD.PERSONALISE, new Map())).status).toBe(0x03);
    const keys = w.platform.carrierKeys(w.carrierId);
    const again = await rig.inner(ch, CMD.PERSONALISE, new Map<number, Uint8Array | number | string>([[1, w.identity.carrierId], [2, PLATFORM_ID], [3, keys.channelKey], [4, keys.cryptogramKey], [5, 1], [6, "000000"]]));
    expect(again.status).toBe(ST.NOT_ALLOWED);
    await expect(rig.openChannel(transportIdentity(rig.serial))).rejects.toThrow(/different carrier id|proof/);
  });

  attack("a link retransmission of PAY_AUTHORIZE (same frame) is answered from the cache: one authorization", async () => {
    const { w, rig, ch } = await ready();
    expect((await rig.inner(ch, CMD.PAY_BEGIN, newOrder(w).body)).status).toBe(ST.OK);
    rig.press();
    const frame = encodeFrame({ version: 1, type: 0, seq: 99, code: CMD.MESSAGE, body: encodeCbor(new Map([[1, rig.sealInner(ch, CMD.PAY_AUTHORIZE, new Map([[1, PIN]]))]])) });
    const replies: Buffer[] = [];
    rig.board.usb.onData((b) => replies.push(Buffer.from(b)));
    for (let i = 0; i < 2; i++) {
      rig.board.usb.write(frame);
      rig.board.runUntilIdle(2_000);
    }
    const both = Buffer.concat(replies);
    const half = both.length / 2;
    expect(Number.isInteger(half) && half > 0).toBe(true);
    expect(both.subarray(0, half).equals(both.subarray(half))).toBe(true); // byte for byte
    expect((await readLog(rig)).entries).toHaveLength(1);
  });

  attack("a retried order after a lost reply and a reboot gets the same ATC and cryptogram, never a second authorization", async () => {
    const { w, rig, ch } = await ready();
    const { order, body } = newOrder(w);
    const first = await pay(rig, ch, body);
    expect(first.status).toBe(ST.OK);
    await rig.reboot();
    const ch2 = await rig.openChannel(w.identity);
    const second = await pay(rig, ch2, body);
    expect(second.status).toBe(ST.OK);
    expect(second.body.get(1)).toBe(first.body.get(1));
    expect(hex(bytesOf(second.body.get(2)))).toBe(hex(bytesOf(first.body.get(2))));
    expect((await readLog(rig)).entries).toHaveLength(1);
    const req = { orderId: order.orderId, carrierId: w.carrierId, atc: 1, cryptogram: hex(bytesOf(second.body.get(2))) };
    w.platform.authorize(req, "k1");
    expect(() => w.platform.authorize(req, "k2")).toThrow(/already settled/);
  });
});

describe("power cut at every flash write of a payment (release bundle)", () => {
  // Sends a sealed inner request without waiting: the board loses power while handling it.
  function sendAndCut(rig: CarrierRig, sealed: Uint8Array): void {
    const frame = encodeFrame({ version: 1, type: 0, seq: 200, code: CMD.MESSAGE, body: encodeCbor(new Map([[1, sealed]])) });
    rig.board.usb.write(frame);
    rig.board.runUntilIdle(5_000);
  }

  it("never two authorizations for one order, the ATC never repeats, the log stays verifiable", async () => {
    const w = await world();
    const setup = await CarrierRig.boot();
    rigs.push(setup);
    await personalise(setup, w);
    const a = newOrder(w, 500);
    // Payments before the campaign: order A (ATC 1) then declines, so that the campaign's append
    // is measured both without and with a log rotation (the A/B file fills after a few entries).
    const first = await pay(setup, await setup.openChannel(w.identity), a.body);
    expect(first.status).toBe(ST.OK);
    const keys = w.platform.carrierKeys(w.carrierId);
    let cutPoints = 0;
    let rotations = 0;

    for (let round = 0; round < 2; round++) {
      const base = setup.board.flash.snapshot();
      const atcBefore = (await setup.info()).get(11) as number;
      const b = newOrder(w, 4321 + round);
      const f = b.order.cryptogramFields;
      const expected = hex(computeAuthorizationCryptogram(keys.cryptogramKey, {
        carrierId: w.identity.carrierId, orderId: Buffer.from(f.orderId, "hex"), merchantId: Buffer.from(f.merchantId, "hex"), amount: f.amount, currency: f.currency, atc: atcBefore + 1,
      }));

      // Reference run: how many word writes and page erases does PAY_AUTHORIZE make?
      const ref = await CarrierRig.boot({ flashImage: base });
      rigs.push(ref);
      const refCh = await ref.openChannel(w.identity);
      expect((await ref.inner(refCh, CMD.PAY_BEGIN, b.body)).status).toBe(ST.OK);
      ref.press();
      const w0 = ref.board.flash.wordWrites();
      const e0 = ref.board.flash.erases();
      const refAuth = await ref.inner(refCh, CMD.PAY_AUTHORIZE, new Map([[1, PIN]]));
      expect(refAuth.status).toBe(ST.OK);
      expect(hex(bytesOf(refAuth.body.get(2)))).toBe(expected);
      const writes = ref.board.flash.wordWrites() - w0;
      const erases = ref.board.flash.erases() - e0;
      if (writes > 100) rotations++; // an append alone is ~22 words; a rotation rewrites the live records
      console.log(`payment round ${round}: PAY_AUTHORIZE makes ${writes} flash word writes and ${erases} page erases`);

      const cuts: { kind: "word" | "erase"; n: number; partial: string }[] = [];
      for (let n = 0; n < writes; n++) cuts.push({ kind: "word", n, partial: "none" }, { kind: "word", n, partial: "some-bits" });
      for (let n = 0; n < erases; n++) cuts.push({ kind: "erase", n, partial: "some-words" });
      for (const cut of cuts) {
        const rig = await CarrierRig.boot({ flashImage: base });
        rigs.push(rig);
        const ch = await rig.openChannel(w.identity);
        expect((await rig.inner(ch, CMD.PAY_BEGIN, b.body)).status).toBe(ST.OK);
        rig.press();
        if (cut.kind === "word") rig.board.cutPowerAfterFlashWrites(cut.n, cut.partial as "none" | "some-bits");
        else rig.board.flash.cutPowerAfterPageErases(cut.n, cut.partial as "some-words");
        sendAndCut(rig, rig.sealInner(ch, CMD.PAY_AUTHORIZE, new Map([[1, PIN]])));
        expect(rig.board.flash.isPowered(), `cut ${cut.kind} ${cut.n} ${cut.partial} did not fire`).toBe(false);
        cutPoints++;
        await rig.reboot();

        const label = `after a cut at ${cut.kind} ${cut.n} (${cut.partial})`;
        const info = await rig.info();
        expect(info.get(5), label).toBe(1);
        const atc = info.get(11) as number;
        expect([atcBefore, atcBefore + 1], label).toContain(atc);
        const before = await readLog(rig);
        expect(before.ok, label).toBe(true);
        // The retry of the same order: the same ATC and cryptogram whether or not the cut came
        // after the commit — never a second authorization, never a reused ATC.
        const ch2 = await rig.openChannel(w.identity);
        const retry = await pay(rig, ch2, b.body);
        expect(retry.status, `${label}: ${String(retry.body.get(1))}`).toBe(ST.OK);
        expect(retry.body.get(1), label).toBe(atcBefore + 1);
        expect(hex(bytesOf(retry.body.get(2))), label).toBe(expected);
        const after = await readLog(rig);
        expect(after.ok, label).toBe(true);
        const atcs = after.entries.map((e) => e.atc);
        expect(atcs, label).toEqual([...atcs].sort((x, y) => x - y));
        expect(new Set(atcs).size, label).toBe(atcs.length);
        const forB = after.entries.filter((e) => e.result === 1 && hex(e.orderId) === f.orderId);
        expect(forB, label).toHaveLength(1);
        rig.board.dispose();
      }
      // Advance the setup carrier: settle B there, then declines, so the next round's append
      // rotates the log file (A/B copy of the live records).
      const ch = await setup.openChannel(w.identity);
      expect((await pay(setup, ch, b.body)).status).toBe(ST.OK);
      // 20 B header + keys record (~150 B) + 77 B per entry in a 1,024 B file: the 12th entry rotates.
      for (let i = 0; i < 9; i++) {
        expect((await setup.inner(ch, CMD.PAY_BEGIN, newOrder(w, 100 + i).body)).status).toBe(ST.OK);
        setup.board.clickButton(1, 1_500);
        setup.board.runUntilIdle(1_000);
        expect((await setup.inner(ch, CMD.PAY_AUTHORIZE, new Map([[1, PIN]]))).status).toBe(ST.PAY_DECLINED);
      }
    }
    console.log(`payment power-cut campaign: ${cutPoints} cut points (${rotations} of 2 rounds include a log rotation)`);
    expect(cutPoints).toBeGreaterThan(20);
  }, 600_000);
});
