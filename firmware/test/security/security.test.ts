// Unit tests of the verdict counting, lockout, presence, and WIPE through the protocol dispatcher
// (so the wire statuses are the ones a host sees). The carrier holds no PIN: it counts the
// platform's PIN verdicts (countVerdict's judge stands in for PAY's MAC check, applets tests).
import { describe, expect, test } from "vitest";
import { blindedEqual } from "../../src/security/pin.ts";
import { delayAfterFailures } from "../../src/security/lockout.ts";
import { createButtonPresence } from "../../src/security/presence.ts";
import { createDispatcher } from "../../src/dispatch.ts";
import { decode, encode } from "../../src/codec.ts";
import { createWipeCommand } from "../../src/commands/wipe.ts";
import { makeRig, seededCrypto, flashContains } from "../store/harness.ts";
import { STATE_BLANK, STATE_DESTROYED, STATE_PERSONALISED } from "../../src/security/carrier.ts";
import { VERDICT_BLOCKED, VERDICT_FORGED, VERDICT_OK, VERDICT_WRONG } from "../../src/security/verdict.ts";

const MK = "M".repeat(32);
const PROBE = "p".repeat(32);

describe("comparison", () => {
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
  test("bad verdicts: tries left, lockout as BUSY, lockout survives a reboot; an OK gives the tries back", () => {
    const r = makeRig();
    r.carrier.enrol(MK);
    for (let i = 1; i <= 3; i++) {
      const o = r.carrier.countVerdict(() => (i === 2 ? VERDICT_FORGED : VERDICT_WRONG));
      expect(o.status).toBe(i === 2 ? 0x13 : 0x10);
      expect(o.triesLeft).toBe(10 - i);
    }
    let judged = false;
    const busy = r.carrier.countVerdict(() => { judged = true; return VERDICT_OK; });
    expect(busy.status).toBe(0x07);
    expect(busy.retryAfterMs).toBe(1000);
    expect(judged).toBe(false); // nothing judged, nothing spent in the window
    r.reboot();
    expect(r.carrier.retryAfterMs()).toBe(1000);
    expect(r.carrier.triesLeft()).toBe(7);
    r.clock.ms += 1000;
    expect(r.carrier.countVerdict(() => VERDICT_OK).status).toBe(0);
    expect(r.carrier.triesLeft()).toBe(10);
  });
  test("the try is durably spent before the verdict is judged", () => {
    const r = makeRig();
    r.carrier.enrol(MK);
    let triesWhileJudging = -1;
    r.carrier.countVerdict(() => {
      // a fresh carrier over the same flash (a power cut right now) already counts the try
      const other = makeRig({ image: r.flash.snapshot(), bankImage: r.bank.snapshot() });
      triesWhileJudging = other.carrier.triesLeft();
      return VERDICT_OK;
    });
    expect(triesWhileJudging).toBe(9);
    expect(r.carrier.triesLeft()).toBe(10);
  });
  test("a BLOCKED verdict self-destructs at once; the carrier's own limit does too", () => {
    const r = makeRig();
    r.carrier.enrol(MK);
    expect(r.carrier.countVerdict(() => VERDICT_BLOCKED).status).toBe(0x11);
    expect(r.carrier.state()).toBe(STATE_DESTROYED);
    const q = makeRig();
    q.carrier.enrol(MK);
    let last = 0;
    for (let i = 0; i < 10; i++) {
      q.clock.ms += 120_000;
      last = q.carrier.countVerdict(() => VERDICT_FORGED).status;
    }
    expect(last).toBe(0x11);
    expect(q.carrier.state()).toBe(STATE_DESTROYED);
  });
  test("enrol only once; no verdict counted before it", () => {
    const r = makeRig();
    expect(r.carrier.countVerdict(() => VERDICT_OK).status).toBe(0x04);
    expect(r.carrier.state()).toBe(STATE_BLANK);
    expect(r.carrier.enrol(MK).status).toBe(0);
    expect(r.carrier.enrol(MK).status).toBe(0x04);
  });
  test("the carrier never writes Storage: 500 verdicts and a self-destruct leave it bit for bit as it was", () => {
    const r = makeRig();
    const before = Buffer.from(r.flash.snapshot());
    r.carrier.enrol(MK);
    for (let i = 0; i < 500; i++) {
      r.clock.ms += 120_000;
      expect(r.carrier.countVerdict(() => (i % 7 === 3 ? VERDICT_WRONG : VERDICT_OK)).status).toBe(i % 7 === 3 ? 0x10 : 0);
    }
    r.presence.armed = true;
    expect(r.carrier.wipe().status).toBe(0);
    expect(Buffer.compare(Buffer.from(r.flash.snapshot()), before)).toBe(0);
    expect(r.flash.erases()).toBe(0);
    expect(r.bank.erases).toBeGreaterThan(0); // all of it went to the page store's own pages
  });
  test("the master key unwraps after a reboot without any PIN; a destroyed carrier is personalised again with new keys", () => {
    const r = makeRig();
    r.carrier.enrol(MK);
    const wrapped = r.carrier.wrapKey(MK, PROBE);
    r.reboot();
    expect(r.carrier.unwrapKey(wrapped)).toBe(PROBE);
    r.presence.armed = true;
    expect(r.carrier.wipe().status).toBe(0);
    r.reboot();
    expect(r.carrier.state()).toBe(STATE_DESTROYED);
    expect(() => r.carrier.unwrapKey(wrapped)).toThrow(/not personalised/);
    expect(r.carrier.enrol().status).toBe(0);
    expect(r.carrier.state()).toBe(STATE_PERSONALISED);
    expect(r.carrier.unwrapKey(wrapped)).not.toBe(PROBE);
    expect(flashContains(r.flash, MK)).toBe(false);
  });
});

describe("commands through the dispatcher", () => {
  test("SET_PIN, VERIFY_PIN and CHANGE_PIN are gone (UNKNOWN_COMMAND); WIPE needs the button hold", () => {
    const r = makeRig();
    r.carrier.enrol(MK);
    const d = createDispatcher([createWipeCommand(r.carrier)], () => r.carrier.state());
    const call = (cmd: number, body: Record<number, unknown>) => {
      const reply = d(cmd, encode(body as never));
      const decoded = decode(reply.body);
      return { status: reply.status, body: decoded.ok ? (decoded.value as Record<number, unknown>) : null };
    };
    for (const retired of [0x10, 0x11, 0x12]) expect(call(retired, {}).status).toBe(0x03);
    expect(call(0x20, {}).status).toBe(0x21); // no button hold
    r.presence.armed = true;
    expect(call(0x20, {})).toEqual({ status: 0, body: { 1: STATE_DESTROYED } });
    expect(call(0x20, {}).status).toBe(0x04);
  });
});
