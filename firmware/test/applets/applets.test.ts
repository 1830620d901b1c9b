// Unit tests of the carrier applet modules in Node (the same TypeScript the bundle is built from):
// trusted UI timing, transaction-log entry bytes and chain, the application store over the flash
// model, and the payment applet's decisions with a real carrier (store + verdict counter) underneath.
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { makeRig } from "../store/harness.ts";
import { nodePrimitives } from "../channel/node-primitives.ts";
import { openAppStore, decodeAppKeys, encodeAppKeys, LOG_RING } from "../../src/perso/app-store.ts";
import { chainNext, encodeEntry, ENTRY_ORDER_AT, entryOrderPart, ZERO_HASH } from "../../src/applets/tx-log.ts";
import { amountClass, createTrustedUi, DECISION_CONFIRMED, DECISION_DECLINED, DECISION_NONE, DECISION_PENDING } from "../../src/ui/confirm.ts";
import { createPaymentApplet, CMD_PAY, STATUS_PAY_DECLINED, STATUS_PAY_OVER_LIMIT } from "../../src/applets/qr-payment.ts";
import { createDispatcher, STATUS_DEFERRED } from "../../src/dispatch.ts";
import type { HandlerReply } from "../../src/link.ts";
import { decode, encode, text, type CborMap } from "../../src/codec.ts";
import { transportCarrierId, transportChannelKey, hexToBytes, DEV_TRANSPORT_BATCH_KEY_HEX, DEV_TRANSPORT_BATCH_LABEL } from "../../src/perso/transport.ts";
import { computeAuthorizationCryptogram, diversifyCarrierKeys } from "../../../host/src/channel/keys.ts";
import { createPersonaliseCommand } from "../../src/perso/personalise.ts";
import { verdictMac } from "../../../host/src/platform/online-pin.ts";
import { flashContains, type Rig } from "../store/harness.ts";

const bin = (b: Uint8Array) => Buffer.from(b).toString("latin1");

function fakeUiPorts() {
  const leds: Record<number, boolean> = {};
  const timers = new Map<number, { fn: () => void; at: number }>();
  const clock = { ms: 0 };
  let id = 0;
  return {
    leds, clock,
    ports: {
      setLed: (n: number, on: boolean) => { leds[n] = on; },
      setTimer: (fn: () => void, ms: number) => { timers.set(++id, { fn, at: clock.ms + ms }); return id; },
      clearTimer: (h: unknown) => { timers.delete(h as number); },
      now: () => clock.ms,
    },
    advance(ms: number) {
      const end = clock.ms + ms;
      for (;;) {
        const next = [...timers.entries()].sort((a, b) => a[1].at - b[1].at)[0];
        if (!next || next[1].at > end) break;
        timers.delete(next[0]);
        clock.ms = next[1].at;
        next[1].fn();
      }
      clock.ms = end;
    },
  };
}

describe("trusted UI", () => {
  it("short press confirms, long press and silence decline, an early press does not count", () => {
    const f = fakeUiPorts();
    const ui = createTrustedUi(f.ports, 30_000);
    expect(ui.decision()).toBe(DECISION_NONE);
    f.ports.now(); ui.buttonDown(); // pressed before the question
    ui.ask(2);
    expect(f.leds[1]).toBe(true);
    ui.buttonUp();
    expect(ui.decision()).toBe(DECISION_PENDING);
    ui.buttonDown(); f.advance(200); ui.buttonUp();
    expect(ui.decision()).toBe(DECISION_CONFIRMED);
    expect(f.leds[1]).toBe(false);

    ui.ask(0);
    ui.buttonDown(); f.advance(1_000); ui.buttonUp();
    expect(ui.decision()).toBe(DECISION_DECLINED);

    ui.ask(0);
    f.advance(29_000);
    expect(ui.decision()).toBe(DECISION_PENDING);
    f.advance(1_200);
    expect(ui.decision()).toBe(DECISION_DECLINED);
  });

  it("reports the decision once, from the button or the timer, never from ask(); reset and a new ask cancel silently", () => {
    const f = fakeUiPorts();
    const ui = createTrustedUi(f.ports, 30_000);
    const heard: number[] = [];
    ui.ask(1, (d) => heard.push(d));
    expect(heard).toEqual([]);
    ui.buttonDown(); f.advance(100); ui.buttonUp();
    ui.buttonDown(); f.advance(100); ui.buttonUp(); // a second press answers nothing
    expect(heard).toEqual([DECISION_CONFIRMED]);
    ui.ask(1, (d) => heard.push(d));
    f.advance(31_000);
    expect(heard).toEqual([DECISION_CONFIRMED, DECISION_DECLINED]);
    ui.ask(1, (d) => heard.push(-1 * d));
    ui.reset();
    f.advance(31_000);
    ui.ask(1, (d) => heard.push(-2 * d));
    ui.ask(1, (d) => heard.push(d)); // replaces the listener before it heard anything
    ui.buttonDown(); f.advance(1_200); ui.buttonUp();
    expect(heard).toEqual([DECISION_CONFIRMED, DECISION_DECLINED, DECISION_DECLINED]);
  });

  it("blinks LED2 class+1 times per cycle", () => {
    const f = fakeUiPorts();
    const ui = createTrustedUi(f.ports);
    ui.ask(2);
    let rises = 0;
    let last = f.leds[2];
    for (let t = 0; t < 13 * 150; t += 150) {
      f.advance(150);
      if (f.leds[2] && !last) rises++;
      last = f.leds[2];
    }
    expect(rises).toBe(3);
  });

  it("amount classes at the documented thresholds", () => {
    expect([999, 1000, 9999, 10000, 99999, 100000].map(amountClass)).toEqual([0, 1, 1, 2, 2, 3]);
  });
});

describe("transaction log entries and chain (PROTOCOL.md §7.6)", () => {
  it("entry bytes follow the documented layout; the chain is SHA-256(KCLG ‖ prev ‖ entry)", () => {
    const o = { orderId: "\x01\x02\x03", merchantId: "\x00\x00\x00\x07", amount: 2 ** 32 + 5, currency: "EUR" };
    const e = encodeEntry(9, 1, o);
    expect(Buffer.from(e, "latin1").toString("hex")).toBe("00000009" + "01" + "03010203" + "0400000007" + "0000000100000005" + "455552");
    const sha = (s: string) => createHash("sha256").update(Buffer.from(s, "latin1")).digest().toString("latin1");
    const expected = createHash("sha256").update("KCLG").update(Buffer.alloc(32)).update(Buffer.from(e, "latin1")).digest("hex");
    expect(Buffer.from(chainNext(sha, ZERO_HASH, e), "latin1").toString("hex")).toBe(expected);
    expect(e.substr(ENTRY_ORDER_AT, entryOrderPart(1, o).length)).toBe(entryOrderPart(1, o));
    expect(e.substr(ENTRY_ORDER_AT, entryOrderPart(0, o).length)).not.toBe(entryOrderPart(0, o));
    // the length prefixes keep (order "ab", merchant "c") apart from (order "a", merchant "bc")
    expect(entryOrderPart(1, { ...o, orderId: "ab", merchantId: "c" })).not.toBe(entryOrderPart(1, { ...o, orderId: "a", merchantId: "bc" }));
  });
});

describe("transport identity (PROTOCOL.md §7.4)", () => {
  it("matches diversifyCarrierKeys(TBK_DEV, serial) on the host", () => {
    const cid = transportCarrierId("80a88fb4-c65b9bd2");
    const host = diversifyCarrierKeys(Buffer.from(DEV_TRANSPORT_BATCH_KEY_HEX, "hex"), Buffer.from(cid, "latin1")).channelKey;
    expect(transportChannelKey(nodePrimitives(), hexToBytes(DEV_TRANSPORT_BATCH_KEY_HEX), cid)).toBe(bin(host));
    // the device derives the batch key from its label (main.ts): the same 32 bytes
    expect(Buffer.from(nodePrimitives().sha256(DEV_TRANSPORT_BATCH_LABEL), "latin1").toString("hex")).toBe(DEV_TRANSPORT_BATCH_KEY_HEX);
    expect(transportCarrierId("ab")).toBe("ab__");
    expect(transportCarrierId("x".repeat(40))).toHaveLength(32);
  });
});

describe("application store", () => {
  it("the keys record matches the vector of STORAGE.md §2: K_ac stored as AES-256-ECB(MK, K_ac)", () => {
    const v = JSON.parse(readFileSync(new URL("../../vectors/store-format.json", import.meta.url), "utf8")).appKeysRecord;
    const h = (x: string) => Buffer.from(x, "hex").toString("latin1");
    const carrier = makeRig().carrier;
    const wrapped = carrier.wrapKey(h(v.masterKeyHex), h(v.cryptogramKeyHex));
    expect(Buffer.from(wrapped, "latin1").toString("hex")).toBe(v.wrappedCryptogramKeyHex);
    const keys = { carrierId: h(v.carrierIdHex), platformId: h(v.platformIdHex), channelKey: h(v.channelKeyHex), wrappedCryptogramKey: wrapped, maxAmount: v.maxAmount };
    expect(Buffer.from(encodeAppKeys(keys), "latin1").toString("hex")).toBe(v.payloadHex);
    expect(decodeAppKeys(h(v.payloadHex))).toEqual(keys);
    expect(() => decodeAppKeys(h(v.payloadHex).substr(1))).toThrow(/bad keys record/);
    expect(readFileSync(new URL("../../../STORAGE.md", import.meta.url), "utf8").replace(/\s+/g, "")).toContain(v.payloadHex);
  });
  it("keys round-trip; entries keep the newest LOG_RING, ATC survives reboots and rotations", () => {
    const rig = makeRig();
    const keys = { carrierId: "C".repeat(8), platformId: "KC-PLATFORM", channelKey: "k".repeat(32), wrappedCryptogramKey: "w".repeat(32), maxAmount: 2 ** 40 + 3 };
    expect(decodeAppKeys(encodeAppKeys(keys))).toEqual(keys);
    let store = openAppStore(rig.env);
    expect(store.isEmpty()).toBe(true);
    store.installKeys(keys);
    const o = { orderId: "O".repeat(12), merchantId: "\x00\x00\x00\x01", amount: 100, currency: "EUR" };
    let prev = ZERO_HASH;
    for (let atc = 1; atc <= 20; atc++) {
      const e = encodeEntry(atc, 1, o);
      store.appendEntry(atc, prev, e);
      prev = createHash("sha256").update("KCLG").update(Buffer.from(prev, "latin1")).update(Buffer.from(e, "latin1")).digest().toString("latin1");
      if (atc % 7 === 0) { rig.reboot(); store = openAppStore(rig.env); }
    }
    expect(store.lastAtc()).toBe(20);
    expect(store.entries().map((e) => e.atc)).toEqual(Array.from({ length: LOG_RING }, (_, i) => 21 - LOG_RING + i));
    expect(store.keys()).toEqual(keys);
    store.eraseAll();
    expect(store.isEmpty()).toBe(true);
    expect(store.entries()).toEqual([]);
    expect(openAppStore(rig.env).lastAtc()).toBe(0);
  });
  it("the entries cache always equals a fresh scan of the flash: consecutive appends, a gap, a wipe", () => {
    const rig = makeRig();
    const store = openAppStore(rig.env);
    const o = { orderId: "O".repeat(12), merchantId: "\x00\x00\x00\x01", amount: 100, currency: "EUR" };
    const fresh = () => openAppStore(rig.env).entries();
    expect(store.entries()).toEqual([]);
    // 1..11 as PAY appends them, then ATC 15 (a gap: its slot held ATC 7) and 16 (its slot held 8)
    for (const atc of [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 15, 16]) {
      store.appendEntry(atc, ZERO_HASH, encodeEntry(atc, 1, o));
      expect(store.entries()).toEqual(fresh());
      expect(store.lastAtc()).toBe(atc);
    }
    expect(store.entries().map((e) => e.atc)).toEqual([4, 5, 6, 9, 10, 11, 15, 16]);
    store.eraseAll();
    expect(store.entries()).toEqual([]);
    store.appendEntry(1, ZERO_HASH, encodeEntry(1, 1, o));
    expect(store.entries()).toEqual(fresh());
  });
});

describe("payment applet over a real carrier (Node crypto, flash model)", () => {
  // The session binding the fake channel reports (carrier nonce ‖ request counter 0), and the
  // platform's verdict MAC over it (host/src/platform/online-pin.ts, as the platform computes it).
  const NONCE = "N".repeat(16);
  let binding = NONCE + "\x00\x00\x00\x00";
  // Distinct random-looking keys, so a flash scan for them means something.
  const sha = (label: string) => createHash("sha256").update(label).digest().toString("latin1");
  const K_CH = sha("test channel key");
  const K_AC = sha("test cryptogram key");
  const CARRIER_ID = "CARRIER1";

  // Carrier, application store, payment applet and PERSONALISE/CHANGE_PIN over one flash, as
  // main.ts wires them (without the channel); `boot` again after rig.reboot() for a power cycle.
  // prepared: PAY gets a timer port, and its timers run between the request and the user's answer
  // (main.ts wires the platform's setTimer: the authorization is prepared while the user decides).
  function boot(rig: Rig, prepared = false) {
    const store = openAppStore(rig.env);
    const node = nodePrimitives();
    // SHA-256 calls made from the user's answer on (what the press costs in hashing)
    let shaAtPress = 0;
    let pressing = false;
    const prims = { ...node, sha256: (m: string) => { if (pressing) shaAtPress++; return node.sha256(m); } };
    const f = fakeUiPorts();
    const ui = createTrustedUi(f.ports);
    const timers: (() => void)[] = [];
    let ran = 0;
    const setTimer = prepared ? (fn: () => void) => timers.push(fn) : undefined;
    const applet = createPaymentApplet({ carrier: rig.carrier, store, ui, prims, verdictBinding: () => binding, setTimer });
    const perso = createPersonaliseCommand({ carrier: rig.carrier, store, onPersonalised: () => undefined });
    const d = createDispatcher(applet.commands().concat([perso]), rig.carrier.state);
    const late: (HandlerReply | null)[] = [];
    const decodeReply = (r: HandlerReply) => {
      const v = decode(r.body);
      return { status: r.status, body: (v.ok ? v.value : {}) as CborMap };
    };
    const call = (cmd: number, m: CborMap) => decodeReply(d(cmd, encode(m), (r) => late.push(r)));
    const press = (holdMs = 100) => { ui.buttonDown(); f.advance(holdMs); ui.buttonUp(); };
    // PAY with the platform's verdict `v` on it, then the user's answer; returns the late reply
    const pay = (m: CborMap, answer: () => void = press, v: V = "ok") => {
      const now = call(CMD_PAY, signed(m, v));
      if (now.status !== STATUS_DEFERRED) return now;
      const before = late.length;
      while (timers.length > 0) { timers.shift()!(); ran++; }
      pressing = true;
      answer();
      pressing = false;
      expect(late.length).toBe(before + 1);
      return decodeReply(late[late.length - 1]!);
    };
    return { rig, store, ui, f, call, pay, press, late, applet, timersRan: () => ran, shaAtPress: () => shaAtPress };
  }
  function setup(prepared = false) {
    binding = NONCE + "\x00\x00\x00\x00";
    const rig = makeRig();
    const b = boot(rig, prepared);
    const r = b.call(0x60, { 1: CARRIER_ID, 2: "KC-PLATFORM", 3: K_CH, 4: K_AC, 5: 10_000 });
    expect(r.status, String(r.body[1])).toBe(0);
    return b;
  }
  // The cryptogram the reference platform code (host/src/channel/keys.ts) expects under K_ac.
  function expectedCryptogram(o: CborMap, atc: number): string {
    const fields = { carrierId: Buffer.from(CARRIER_ID, "latin1"), orderId: Buffer.from(o[1] as string, "latin1"), merchantId: Buffer.from(o[2] as string, "latin1"), amount: o[3] as number, currency: "EUR", atc };
    return Buffer.from(computeAuthorizationCryptogram(Buffer.from(K_AC, "latin1"), fields)).toString("latin1");
  }
  const order: CborMap = { 1: "ORDER-000001", 2: "\x00\x00\x00\x01", 3: 1234, 4: text("EUR") };
  type V = "ok" | "wrong" | "blocked" | "forged" | "other-session";
  // The order with the platform's verdict (fields 5-7) MAC'd for the current binding.
  function signed(o: CborMap, v: V = "ok"): CborMap {
    const verdict = v === "wrong" ? 1 : v === "blocked" ? 2 : 0;
    const tries = v === "wrong" ? 2 : v === "blocked" ? 0 : 3;
    const key = Buffer.from(v === "forged" ? "F".repeat(32) : K_AC, "latin1");
    const b = v === "other-session" ? "O".repeat(16) + "\x00\x00\x00\x00" : binding;
    const mac = verdictMac(key, {
      carrierId: Buffer.from(CARRIER_ID, "latin1"), sessionNonce: Buffer.from(b.substr(0, 16), "latin1"), requestCounter: Buffer.from(b.substr(16), "latin1").readUInt32BE(0),
      orderId: Buffer.from(o[1] as string, "latin1"), merchantId: Buffer.from(o[2] as string, "latin1"), amount: o[3] as number, currency: (o[4] as { tstr: string }).tstr, verdict, triesLeft: tries,
    });
    return { ...o, 5: verdict, 6: tries, 7: Buffer.from(mac).toString("latin1") };
  }

  it("PERSONALISE stores K_ac only wrapped under MK (itself under the device secret); authorizations verify under K_ac, also after a reboot", () => {
    const b = setup();
    const wrapped = b.store.keys()!.wrappedCryptogramKey;
    expect(b.rig.carrier.unwrapKey(wrapped)).toBe(K_AC);
    expect(flashContains(b.rig.flash, wrapped)).toBe(true);
    expect(flashContains(b.rig.flash, K_AC)).toBe(false);
    expect(flashContains(b.rig.flash, K_CH)).toBe(true); // K_ch in the clear (SECURITY.md §7)
    const a = b.pay(order);
    expect(a.status).toBe(0);
    expect(a.body[2]).toBe(expectedCryptogram(order, 1));

    b.rig.reboot();
    const after = boot(b.rig);
    // no PIN unlocks anything any more: the wrap is under the device secret (SECURITY.md §7 says
    // what a dump yields); what stops a payment is the platform's online PIN check
    expect(b.rig.carrier.unwrapKey(wrapped)).toBe(K_AC);
    const o2 = { ...order, 1: "ORDER-000002" };
    expect(after.pay(o2, undefined, "wrong").status).toBe(0x10);
    after.f.advance(60_000);
    const c = after.pay(o2);
    expect(c.status).toBe(0);
    expect(c.body[2]).toBe(expectedCryptogram(o2, 2));
  });

  it("a verdict is judged only under its binding: forged, another session's, another order's or another request's verdict spends a try and authorizes nothing", () => {
    const b = setup();
    expect(b.pay(order, undefined, "forged").status).toBe(0x13);
    expect(b.pay(order, undefined, "other-session").status).toBe(0x13);
    const forOther = signed({ ...order, 1: "ORDER-OTHER1" });
    b.rig.clock.ms += 60_000;
    expect(b.call(CMD_PAY, { ...forOther, 1: order[1] }).status).toBe(STATUS_DEFERRED); // another order's verdict
    b.press();
    expect(b.late[b.late.length - 1]!.status).toBe(0x13);
    b.rig.clock.ms += 60_000;
    expect(b.pay(order).status).toBe(0); // its own verdict: authorized, the tries back to 10
    const stale = signed({ ...order, 1: "ORDER-000003" });
    binding = NONCE + "\x00\x00\x00\x01"; // the next request of the session
    b.rig.clock.ms += 60_000;
    const now = b.call(CMD_PAY, stale);
    expect(now.status).toBe(STATUS_DEFERRED);
    b.press();
    const r = decode(b.late[b.late.length - 1]!.body);
    expect(b.late[b.late.length - 1]!.status).toBe(0x13); // replayed into the next request
    expect(r.ok).toBe(true);
    expect(b.rig.carrier.triesLeft()).toBe(9);
    expect(b.store.entries().filter((e) => e.entry.charCodeAt(4) === 1)).toHaveLength(1);
  });

  it("a BLOCKED verdict destroys the carrier after the press", () => {
    const b = setup();
    expect(b.pay(order, undefined, "blocked").status).toBe(0x11);
    expect(b.rig.carrier.state()).toBe(3);
  });

  it("a PERSONALISE cut before its commit leaves K_ac unrecoverable; a PIN field is refused", () => {
    const rig = makeRig();
    const b = boot(rig);
    expect(b.call(0x60, { 1: CARRIER_ID, 2: "KC-PLATFORM", 3: K_CH, 4: K_AC, 5: 10_000, 6: text("482913") }).status).toBe(0x05);
    expect(b.store.isEmpty()).toBe(true);
    // the keys record lands, the PERSO record (the commit) does not: its MK existed only in RAM
    const enrol = rig.carrier.enrol;
    rig.carrier.enrol = () => { throw new Error("power cut"); };
    expect(b.call(0x60, { 1: CARRIER_ID, 2: "KC-PLATFORM", 3: K_CH, 4: K_AC, 5: 10_000 }).status).not.toBe(0);
    rig.carrier.enrol = enrol;
    expect(b.store.keys()!.wrappedCryptogramKey).toHaveLength(32);
    expect(flashContains(rig.flash, K_AC)).toBe(false);
    rig.reboot();
    expect(rig.carrier.state()).toBe(0);
    expect(() => rig.carrier.unwrapKey(b.store.keys()!.wrappedCryptogramKey)).toThrow(/not personalised/);
  });

  it("PAY defers until the press, then OK; the same order again returns the same ATC and cryptogram after the press", () => {
    const { call, pay, press, late } = setup();
    expect(call(CMD_PAY, signed(order)).status).toBe(STATUS_DEFERRED);
    expect(late).toEqual([]);
    press();
    expect(late).toHaveLength(1);
    const decoded = decode(late[0]!.body);
    expect(late[0]!.status).toBe(0);
    const a = (decoded.ok ? decoded.value : {}) as CborMap;
    expect(a[1]).toBe(1);
    const b = pay(order);
    expect(b.status).toBe(0);
    expect([b.body[1], b.body[2]]).toEqual([a[1], a[2]]);
  });

  it("answers what it can check at once: bad fields, a malformed verdict, a PIN, limit, a second PAY while one waits", () => {
    const { call, press, late, rig } = setup();
    const ok = signed(order);
    for (const bad of [{ ...ok, 1: "x".repeat(17) }, { ...ok, 3: -1 }, { ...ok, 4: text("eur") }, { ...ok, 1: "" }, { ...ok, 6: 256 }, { ...ok, 5: 3 }, { ...ok, 7: "short" }, { ...ok, 8: 1 }, { 1: "x", 2: "y", 3: 1 }, { ...order, 5: text("482913") }, order]) {
      expect(call(CMD_PAY, bad as CborMap).status).toBe(0x05);
    }
    expect(call(CMD_PAY, signed({ ...order, 3: 10_001 })).status).toBe(STATUS_PAY_OVER_LIMIT);
    expect(call(CMD_PAY, ok).status).toBe(STATUS_DEFERRED);
    expect(call(CMD_PAY, ok).status).toBe(0x07); // BUSY: one waits already
    press();
    expect(late).toHaveLength(1);
    expect(rig.carrier.triesLeft()).toBe(10);
  });

  it("a long press declines and logs it, no try; a WRONG verdict after the press spends a try and drops the order", () => {
    const { pay, press, store, rig, f } = setup();
    expect(pay(order, () => press(1_500)).status).toBe(STATUS_PAY_DECLINED);
    expect(store.entries().map((e) => e.entry.charCodeAt(4))).toEqual([0]);
    expect(rig.carrier.triesLeft()).toBe(10);
    const wrong = pay(order, undefined, "wrong");
    expect([wrong.status, wrong.body[2]]).toEqual([0x10, 2]); // the issuer's 2 tries left, fewer than the carrier's 9
    expect(rig.carrier.triesLeft()).toBe(9);
    expect(store.entries()).toHaveLength(1);
    f.advance(60_000);
    expect(pay(order).status).toBe(0);
  });

  it("a decline on a full store is still PAY_DECLINED (not logged), and an authorization there is STORAGE_FULL with the try restored", () => {
    const { pay, press, store, rig } = setup();
    const full = () => { throw { storeFull: true, reason: "no room for kc.pay.b" }; };
    const append = store.appendEntry;
    store.appendEntry = full;
    const declined = pay(order, () => press(1_500));
    expect([declined.status, declined.body[1]]).toEqual([STATUS_PAY_DECLINED, text("declined, not logged: no room for kc.pay.b")]);
    const refused = pay(order);
    expect([refused.status, refused.body[1]]).toEqual([0x20, text("no room for kc.pay.b")]);
    expect(rig.carrier.triesLeft()).toBe(10);
    store.appendEntry = append;
    expect(store.entries()).toHaveLength(0);
    expect(pay(order).status).toBe(0);
  });

  it("cancel() abandons the waiting PAY: late(null), LEDs off, a later press answers nothing, nothing written", () => {
    const { call, press, late, applet, f, store } = setup();
    expect(call(CMD_PAY, signed(order)).status).toBe(STATUS_DEFERRED);
    expect(f.leds[1]).toBe(true);
    applet.cancel();
    expect(late).toEqual([null]);
    expect(f.leds[1]).toBe(false);
    press();
    f.advance(40_000);
    expect(late).toEqual([null]);
    expect(store.entries()).toHaveLength(0);
  });

  it("LOG_READ pages stay within 400 bytes and chain to each other (largest ids, rotations included)", () => {
    const { call, pay } = setup();
    for (let i = 0; i < 3 * LOG_RING; i++) {
      expect(pay({ ...order, 1: "O".repeat(12) + String(i).padStart(4, "0"), 2: "M".repeat(16) }).status).toBe(0);
    }
    const page0 = call(0x42, {});
    const n0 = (page0.body[1] as string[]).length;
    expect(n0).toBeGreaterThan(0);
    expect(n0).toBeLessThan(LOG_RING);
    const page1 = call(0x42, { 1: n0 });
    expect(page1.body[3]).toBe(page0.body[2]);
    expect((page1.body[1] as string[]).length + n0).toBeLessThanOrEqual(LOG_RING);
    expect(page0.body[4]).toBe(LOG_RING);
  });

  it("prepared while the user decides: the same replies, log entries and chain as computing everything after the press", () => {
    // the same decisions on two carriers: one computes after the press, one prepares in the wait
    const runs = [false, true].map((prepared) => {
      const b = setup(prepared);
      const o2 = { ...order, 1: "ORDER-000002" };
      const o3 = { ...order, 1: "ORDER-000003" };
      const replies = [
        b.pay(order), // authorized, ATC 1
        b.pay(order), // the same order again: ATC 1 and its cryptogram, no new entry
        b.pay(o2, undefined, "wrong"), // a try spent, nothing logged
      ];
      b.f.advance(60_000);
      b.rig.clock.ms += 60_000;
      replies.push(b.pay(o2), b.pay(o3, () => b.press(1_500)), b.pay(o3));
      return { replies, entries: b.store.entries(), head: b.applet.head(), timersRan: b.timersRan(), shaAtPress: b.shaAtPress() };
    });
    expect(runs[0]!.timersRan).toBe(0);
    expect(runs[1]!.timersRan).toBeGreaterThanOrEqual(6);
    expect(runs[1]!.replies.map((r) => r.status)).toEqual([0, 0, 0x10, 0, STATUS_PAY_DECLINED, 0]);
    expect(runs[1]!.replies).toEqual(runs[0]!.replies);
    expect(runs[1]!.entries).toEqual(runs[0]!.entries);
    expect(runs[1]!.head).toBe(runs[0]!.head);
    // and the prepared parts were used: per authorization the press hashes only the blinded
    // compare (2), not the verdict MAC (2), the cryptogram (2) and the chain hash (1) as well
    expect(runs[1]!.shaAtPress).toBeLessThan(runs[0]!.shaAtPress - 10);
  });
});
