// Unit tests of the PIN rules, lockout, presence, and the four command handlers through the
// protocol dispatcher (so the wire statuses are the ones a host sees).
import { describe, expect, test } from "vitest";
import { createHash } from "node:crypto";
import { isValidPin, derivePinKeys, blindedEqual } from "../../src/security/pin.ts";
import { delayAfterFailures } from "../../src/security/lockout.ts";
import { createButtonPresence } from "../../src/security/presence.ts";
import { createDispatcher } from "../../src/dispatch.ts";
import { decode, encode, text } from "../../src/codec.ts";
import { createSetPinCommand } from "../../src/commands/set-pin.ts";
import { createVerifyPinCommand } from "../../src/commands/verify-pin.ts";
import { createChangePinCommand } from "../../src/commands/change-pin.ts";
import { createWipeCommand } from "../../src/commands/wipe.ts";
import { makeRig, seededCrypto, flashContains } from "../store/harness.ts";
import { STATE_BLANK, STATE_DESTROYED, STATE_PERSONALISED } from "../../src/security/carrier.ts";

describe("PIN format", () => {
  test("4-12 ASCII digits only", () => {
    for (const ok of ["0000", "1234", "123456789012"]) expect(isValidPin(ok)).toBe(true);
    for (const bad of ["123", "1234567890123", "12a4", "", " 1234", "1234\n", "\n1234", "12\n34", "１２３４", 1234, null]) expect(isValidPin(bad)).toBe(false);
  });
});

describe("PIN stretching", () => {
  test("matches an independent node:crypto reimplementation of the documented construction (SECURITY.md §4)", () => {
    const c = seededCrypto(1);
    const salt = "S".repeat(16);
    const ds = "D".repeat(32);
    const got = derivePinKeys(c, "2468", salt, ds, 5);
    const H = (b: Buffer) => createHash("sha256").update(b).digest();
    const seed = Buffer.concat([Buffer.from("KCpin1\x04" + "2468", "latin1"), Buffer.from(salt, "latin1"), Buffer.from(ds, "latin1")]);
    const pad = Buffer.alloc(1024);
    for (let i = 0; i < 1024; i++) pad[i] = seed[i % seed.length]!;
    let h = H(seed);
    for (let i = 0; i < 5; i++) h = H(Buffer.concat([h, pad]));
    expect(got.verifier).toBe(H(Buffer.concat([Buffer.from("KCver"), h])).toString("latin1"));
    expect(got.kek).toBe(H(Buffer.concat([Buffer.from("KCkek"), h])).toString("latin1"));
    expect(derivePinKeys(c, "2469", salt, ds, 5).verifier).not.toBe(got.verifier);
    expect(derivePinKeys(c, "2468", salt, ds, 6).verifier).not.toBe(got.verifier);
  });
  test("blinded comparison", () => {
    const c = seededCrypto(2);
    expect(blindedEqual(c, "a".repeat(32), "a".repeat(32))).toBe(true);
    expect(blindedEqual(c, "a".repeat(32), "a".repeat(31) + "b")).toBe(false);
  });
});

describe("lockout and presence", () => {
  test("delay grows after the free failures and is capped", () => {
    expect([0, 1, 2, 3, 4, 5, 9, 20].map(delayAfterFailures)).toEqual([0, 0, 0, 1000, 2000, 4000, 60000, 60000]);
  });
  test("a hold of 3 s arms one confirmation for 10 s", () => {
    let now = 0;
    const p = createButtonPresence(() => now);
    expect(p.takeConfirmation()).toBe(false);
    p.buttonDown();
    now = 2999;
    p.buttonUp();
    expect(p.takeConfirmation()).toBe(false);
    p.buttonDown();
    now += 3000;
    p.buttonUp();
    now += 9000;
    expect(p.takeConfirmation()).toBe(true);
    expect(p.takeConfirmation()).toBe(false); // consumed
    p.buttonDown();
    now += 3500; // still held: counts
    expect(p.takeConfirmation()).toBe(true);
    p.buttonUp();
    p.buttonDown();
    now += 3000;
    p.buttonUp();
    now += 10001;
    expect(p.takeConfirmation()).toBe(false); // window expired
  });
});

describe("carrier rules", () => {
  test("wrong PIN: tries left, lockout as BUSY, lockout survives a reboot", () => {
    const r = makeRig();
    r.carrier.setPin("1234");
    for (let i = 1; i <= 3; i++) {
      const o = r.carrier.verifyPin("9999");
      expect(o.status).toBe(0x10);
      expect(o.triesLeft).toBe(10 - i);
      expect(o.detail).toContain(`${10 - i} tries left`);
    }
    const busy = r.carrier.verifyPin("1234");
    expect(busy.status).toBe(0x07);
    expect(busy.retryAfterMs).toBe(1000);
    r.reboot();
    expect(r.carrier.retryAfterMs()).toBe(1000);
    expect(r.carrier.triesLeft()).toBe(7);
    r.clock.ms += 1000;
    expect(r.carrier.verifyPin("1234").status).toBe(0);
    expect(r.carrier.triesLeft()).toBe(10);
  });
  test("bad format costs no try; SET_PIN only once", () => {
    const r = makeRig();
    expect(r.carrier.setPin("12").status).toBe(0x12);
    expect(r.carrier.state()).toBe(STATE_BLANK);
    r.carrier.setPin("1234");
    expect(r.carrier.verifyPin("12x4").status).toBe(0x12);
    expect(r.carrier.triesLeft()).toBe(10);
    expect(r.carrier.setPin("5678").status).toBe(0x04);
  });
  test("STORAGE_FULL instead of auto-compaction: a full store refuses the write and loses nothing", () => {
    const r = makeRig({ config: { maxTries: 10, pinIterations: 2, logBytes: 1024, counterSlots: 16 } });
    r.carrier.setPin("1234");
    // fill Storage with a foreign file so no rotation fits, and leave trash that compaction could reclaim
    const free = r.storage.getFree();
    r.storage.write("tmp", "t".repeat(4200));
    r.storage.write("junk", "j".repeat(free - 32 - 4232 - 100));
    r.storage.erase("tmp");
    let status = 0;
    for (let i = 0; i < 40 && status !== 0x20; i++) status = r.carrier.verifyPin("1234").status;
    expect(status).toBe(0x20);
    const erasesBefore = r.flash.erases();
    expect(r.carrier.verifyPin("1234").status).toBe(0x20); // no guess without a durable try
    expect(r.flash.erases()).toBe(erasesBefore); // Espruino never compacted inside a command
    expect(r.carrier.triesLeft()).toBe(10);
    expect(r.carrier.maintain()).toBe(true); // the explicit maintenance step reclaims the trash
    expect(r.carrier.verifyPin("1234").status).toBe(0);
  });
  test("a destroyed carrier can be personalised again, with new keys", () => {
    const r = makeRig();
    r.carrier.setPin("1234");
    const mk = r.carrier.masterKey()!;
    r.presence.armed = true;
    expect(r.carrier.wipe().status).toBe(0);
    r.reboot();
    expect(r.carrier.state()).toBe(STATE_DESTROYED);
    expect(r.carrier.setPin("4321").status).toBe(0);
    expect(r.carrier.state()).toBe(STATE_PERSONALISED);
    expect(r.carrier.masterKey()).not.toBe(mk);
    expect(flashContains(r.flash, mk)).toBe(false);
  });
});

describe("commands through the dispatcher", () => {
  function wire() {
    const r = makeRig();
    const d = createDispatcher(
      [createSetPinCommand(r.carrier), createVerifyPinCommand(r.carrier), createChangePinCommand(r.carrier), createWipeCommand(r.carrier)],
      () => r.carrier.state(),
    );
    const call = (cmd: number, body: Record<number, unknown>) => {
      const reply = d(cmd, encode(body as never));
      const decoded = decode(reply.body);
      return { status: reply.status, body: decoded.ok ? (decoded.value as Record<number, unknown>) : null };
    };
    return { r, call };
  }
  test("SET_PIN, VERIFY_PIN, CHANGE_PIN, WIPE statuses and bodies", () => {
    const { r, call } = wire();
    expect(call(0x11, { 1: text("1234") }).status).toBe(0x04); // BLANK: not allowed
    expect(call(0x10, { 1: "1234" }).status).toBe(0x05); // a byte string, not text
    expect(call(0x10, { 1: text("12") }).status).toBe(0x12);
    expect(call(0x10, { 1: text("1234") })).toEqual({ status: 0, body: { 1: 10 } });
    expect(call(0x10, { 1: text("1234") }).status).toBe(0x04);
    const wrong = call(0x11, { 1: text("0000") });
    expect(wrong.status).toBe(0x10);
    expect(wrong.body![1]).toEqual(text("9 tries left"));
    expect(call(0x11, { 1: text("1234") })).toEqual({ status: 0, body: { 1: 10 } });
    expect(call(0x12, { 1: text("1234"), 2: text("55555") })).toEqual({ status: 0, body: { 1: 10 } });
    expect(call(0x11, { 1: text("55555"), 2: 1 }).status).toBe(0x05);
    expect(call(0x20, {}).status).toBe(0x21); // no button hold
    r.presence.armed = true;
    expect(call(0x20, {})).toEqual({ status: 0, body: { 1: STATE_DESTROYED } });
    expect(call(0x11, { 1: text("55555") }).status).toBe(0x04);
  });
});
