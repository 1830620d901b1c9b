// The offline applet's commands through a dispatcher in Node (firmware/src/offline/applet.ts) over the
// virtual board's Storage: bad input always gets a clear status and changes nothing; the trusted UI is
// a stand-in whose decision the test gives.
import { describe, expect, it } from "vitest";
import { createDispatcher, STATUS_DEFERRED, type LateReply } from "../../src/dispatch.ts";
import { decode, encode, text, type CborMap } from "../../src/codec.ts";
import { STATE_PERSONALISED } from "../../src/protocol.ts";
import { DECISION_CONFIRMED, DECISION_DECLINED, DECISION_NONE, DECISION_PENDING, type TrustedUi } from "../../src/ui/confirm.ts";
import {
  createOfflineState, offlineInstallCommand, offlineOuterCommands, offlineWaiting, CMD_OFFLINE_INSTALL, CMD_OFFLINE_LICENSE, CMD_OFFLINE_PAY,
  CMD_OFFLINE_SIG_READ, STATUS_NO_LICENSE, STATUS_OFFLINE_LIMIT,
} from "../../src/offline/applet.ts";
import { encodeKeySection, OFFLINE_KEY_FILE } from "../../src/offline/key-store.ts";
import { makeRig } from "../store/harness.ts";
import { nodeLmsNatives } from "./lms-reference.ts";
import { testInstall } from "./offline-fixture.ts";

class StandInUi implements TrustedUi {
  pending: ((d: number) => void) | null = null;
  ask(_cls: number, cb?: (d: number) => void) { this.pending = cb ?? null; }
  decision() { return this.pending ? DECISION_PENDING : DECISION_NONE; }
  reset() { this.pending = null; }
  buttonDown() {}
  buttonUp() {}
  decide(d: number) { const cb = this.pending; this.pending = null; cb!(d); }
}

function world() {
  const rig = makeRig();
  const ui = new StandInUi();
  const st = createOfflineState({ env: rig.env, nat: nodeLmsNatives, ui, random: (n) => "r".repeat(n), carrierId: () => "CARRIER1" });
  const dispatch = createDispatcher([...offlineOuterCommands(st), offlineInstallCommand(st)], () => STATE_PERSONALISED);
  let late: { status: number; body: string } | null = null;
  const sink: LateReply = (r) => { late = r; };
  const call = (cmd: number, m: CborMap) => {
    const r = dispatch(cmd, encode(m), sink);
    const d = r.status === STATUS_DEFERRED ? null : decode(r.body);
    return { status: r.status, body: d && d.ok ? (d.value as CborMap) : {} };
  };
  const install = (part: number, bytes: string, piece = 448) => {
    let last = { status: 0, body: {} as CborMap };
    for (let off = 0; off < bytes.length && last.status === 0; off += piece) last = call(CMD_OFFLINE_INSTALL, { 1: part, 2: off, 3: bytes.length, 4: bytes.substr(off, piece) });
    return last;
  };
  return { rig, ui, st, call, install, late: () => late };
}

const pay = (amount: number, over: CborMap = {}): CborMap => ({ 1: amount, 2: text("EUR"), 3: "TERM0001", 4: "n".repeat(16), 5: 20261207, ...over });

describe("offline applet commands (Node, dispatcher)", () => {
  it("bad OFFLINE_INSTALL pieces are BAD_ARGUMENT with a reason, never INTERNAL; a good install then works", () => {
    const w = world();
    const section = encodeKeySection(testInstall());
    const bad: [CborMap, RegExp][] = [
      [{ 1: 3, 2: 0, 3: 10, 4: "x" }, /bad install piece/],
      [{ 1: 1, 2: 0, 3: section.length, 4: "KCO1\x00\x00\x00\x63" + section.substr(8, 400) }, /unsupported LMS type 99/],
      [{ 1: 1, 2: 0, 3: 12345, 4: section.substr(0, 448) }, /total is not the key section/],
      [{ 1: 1, 2: 448, 3: section.length, 4: section.substr(448, 448) }, /offset 0 first/],
      [{ 1: 2, 2: 5, 3: 100, 4: "x" }, /offset 0 first/],
      [{ 1: 2, 2: 0, 3: 100000, 4: "x" }, /license: 1-16384 B/],
    ];
    for (const [body, why] of bad) {
      const r = w.call(CMD_OFFLINE_INSTALL, body);
      expect(r.status, JSON.stringify(body).slice(0, 60)).toBe(0x05);
      expect(String((r.body[1] as { tstr: string }).tstr)).toMatch(why);
    }
    // out of order after a good first piece
    expect(w.call(CMD_OFFLINE_INSTALL, { 1: 1, 2: 0, 3: section.length, 4: section.substr(0, 448) }).status).toBe(0);
    expect((w.call(CMD_OFFLINE_INSTALL, { 1: 1, 2: 896, 3: section.length, 4: section.substr(896, 448) }).body[1] as { tstr: string }).tstr).toMatch(/expected the piece at 448/);
    // the same piece again is fine (a host retry)
    expect(w.call(CMD_OFFLINE_INSTALL, { 1: 1, 2: 0, 3: section.length, 4: section.substr(0, 448) }).status).toBe(0);
    expect(w.install(1, section).body[1]).toBe(section.length);
    expect(w.call(CMD_OFFLINE_PAY, pay(1)).status).toBe(STATUS_NO_LICENSE);
    expect(w.install(2, "L".repeat(1000)).body[1]).toBe(1000);
    expect(w.call(CMD_OFFLINE_LICENSE, {}).body[2]).toBe(1000);
  });

  it("OFFLINE_PAY: malformed fields are BAD_ARGUMENT; a second one while the first waits is BUSY; decline and confirm", () => {
    const w = world();
    w.install(1, encodeKeySection(testInstall()));
    w.install(2, "L".repeat(600));
    for (const body of [pay(-1), pay(1, { 2: text("eur") }), pay(1, { 3: "short" }), pay(1, { 4: "n" }), pay(1, { 5: 1 }), { ...pay(1), 6: 1 }]) {
      expect(w.call(CMD_OFFLINE_PAY, body as CborMap).status).toBe(0x05);
    }
    expect(w.call(CMD_OFFLINE_PAY, pay(6000)).status).toBe(STATUS_OFFLINE_LIMIT);
    expect(w.call(CMD_OFFLINE_PAY, pay(100)).status).toBe(STATUS_DEFERRED);
    expect(offlineWaiting(w.st)).toBe(true);
    expect(w.call(CMD_OFFLINE_PAY, pay(100, { 4: "m".repeat(16) })).status).toBe(0x07);
    w.ui.decide(DECISION_DECLINED);
    expect(w.late()!.status).toBe(0x41);
    expect(w.rig.storage.read(OFFLINE_KEY_FILE, 0, 4)).toBe("KCO1");
    expect(w.call(CMD_OFFLINE_SIG_READ, { 1: 0 }).status).toBe(0x05);
    expect(w.call(CMD_OFFLINE_PAY, pay(100)).status).toBe(STATUS_DEFERRED);
    w.ui.decide(DECISION_CONFIRMED);
    const ok = decode(w.late()!.body);
    expect(w.late()!.status).toBe(0);
    const m = (ok as { value: CborMap }).value;
    expect([m[1], m[2], (m[3] as string).length]).toEqual([1, 2352, 480]);
    expect(w.call(CMD_OFFLINE_SIG_READ, { 1: 2352 }).status).toBe(0x05);
    expect((w.call(CMD_OFFLINE_SIG_READ, { 1: 2304 }).body[1] as string).length).toBe(48);
  });
});
