// The offline signing step under power cuts (issue 16; extends the payment campaign of
// firmware/test/store/powercut.test.ts to the offline key): cut the power at every flash word write
// of signOffline, markOnline and the key install ("none": the word does not land; "some-bits": a
// seeded subset of its bits clears), power on (Espruino's boot check), reopen the key, sign again,
// and check: no leaf index ever appears in two signatures that left the carrier (0 reused leaves),
// every signature verifies, and the cumulative offline amount is never under-counted.
import { describe, expect, test } from "vitest";
import { PowerCut, type WordCutMode } from "../../../board/src/flash.ts";
import { makeRig, type Rig } from "../store/harness.ts";
import { installOfflineKey, markOnline, openOfflineKey, type OfflineKey } from "../../src/offline/key-store.ts";
import { offlineSignedMessage, signOffline, type OfflineRequest } from "../../src/offline/authorize.ts";
import { bin, hssVerify, nodeLmsNatives } from "./lms-reference.ts";
import { testHssPublicKey, testInstall } from "./offline-fixture.ts";

const CID = "KC-CID-1";
const PUB = testHssPublicKey();
const req = (amount: number): OfflineRequest => ({ amount, currency: "EUR", terminalId: "TERM0001", terminalNonce: "N".repeat(16), date: 20261207 });

interface Emitted { q: number; amount: number; afterMark: boolean }

function emit(rig: Rig, key: OfflineKey, amount: number, out: Emitted[], afterMark: boolean): void {
  const a = signOffline(rig.env, key, nodeLmsNatives, CID, req(amount), "C".repeat(32));
  if (a === null) throw new Error("keys exhausted");
  const sig = bin(a.signature);
  expect(hssVerify(PUB, bin(offlineSignedMessage(CID, req(amount), a.atc)), sig)).toBe(true);
  out.push({ q: sig.readUInt32BE(4), amount, afterMark });
}

const tally = { cuts: 0, signatures: 0, reused: 0, undercounted: 0 };

function campaign(name: string, mode: WordCutMode, op: (rig: Rig, key: OfflineKey, out: Emitted[]) => void, marked: boolean): void {
  // history: leaf 0 (100), online contact, leaf 1 (200)
  const base = makeRig();
  installOfflineKey(base.env, testInstall());
  const before: Emitted[] = [];
  let key = openOfflineKey(base.env)!;
  emit(base, key, 100, before, false);
  markOnline(base.env, key);
  emit(base, key, 200, before, true);
  const image = base.flash.snapshot();
  for (let n = 0; ; n++) {
    const rig = makeRig({ image });
    key = openOfflineKey(rig.env)!;
    const out = before.slice();
    rig.flash.cutPowerAfterWordWrites(n, mode);
    let cut = false;
    try {
      op(rig, key, out);
    } catch (e) {
      if (!(e instanceof PowerCut)) throw e;
      cut = true;
    }
    rig.flash.cancelPowerCuts();
    const where = `${name} [${mode}], cut after ${n} word writes`;
    if (cut) {
      expect(rig.reboot(), where).toBe("ok");
      tally.cuts++;
    }
    const again = openOfflineKey(rig.env);
    expect(again, `${where}: the key survives`).not.toBeNull();
    // the online mark in force: the history's (since leaf 1), or the op's own (since leaf 2) once it landed
    expect(marked ? [1, 2] : [1], `${where}: mark`).toContain(again!.since);
    if (marked && !cut) expect(again!.since, where).toBe(2);
    // never under-counted: at least the amounts of the signatures that left since that mark
    const floor = out.filter((e) => e.q >= again!.since).reduce((s, e) => s + e.amount, 0);
    if (again!.cumulative < floor) tally.undercounted++;
    expect(again!.cumulative, `${where}: cumulative`).toBeGreaterThanOrEqual(floor);
    emit(rig, again!, 5, out, true);
    const leaves = out.map((e) => e.q);
    const reused = leaves.length - new Set(leaves).size;
    tally.reused += reused;
    tally.signatures += out.length - before.length;
    expect(reused, `${where}: leaves ${leaves.join(",")}`).toBe(0);
    if (!cut) break;
  }
}

describe("offline signing under power cuts (puckjs flash, every word write)", () => {
  for (const mode of ["none", "some-bits"] as WordCutMode[]) {
    test(`signOffline [${mode}]`, () => campaign("signOffline", mode, (rig, key, out) => emit(rig, key, 300, out, true), false));
    test(`markOnline [${mode}]`, () => campaign("markOnline", mode, (rig, key) => markOnline(rig.env, key), true));
  }

  for (const mode of ["none", "some-bits"] as WordCutMode[]) {
    test(`key install [${mode}]: after any cut the key is either absent or whole`, () => {
      const base = makeRig();
      const image = base.flash.snapshot();
      let n = 0;
      for (; ; n += 7) { // every 7th word write of ~620 (the install is one file written in order)
        const rig = makeRig({ image });
        rig.flash.cutPowerAfterWordWrites(n, mode);
        let cut = false;
        try {
          installOfflineKey(rig.env, testInstall());
        } catch (e) {
          if (!(e instanceof PowerCut)) throw e;
          cut = true;
        }
        rig.flash.cancelPowerCuts();
        if (!cut) break;
        const boot = rig.reboot();
        tally.cuts++;
        const key = openOfflineKey(rig.env);
        if (key !== null) {
          const out: Emitted[] = [];
          emit(rig, key, 1, out, true);
        }
        // a re-install after the cut always works (personalisation is repeated)
        installOfflineKey(rig.env, testInstall());
        expect(openOfflineKey(rig.env), `cut ${n} (${boot})`).not.toBeNull();
      }
      expect(n).toBeGreaterThan(500);
    });
  }

  test("tally: 0 reused leaves", () => {
    console.log(`offline power-cut campaign: ${tally.cuts} cuts, ${tally.signatures} signatures after them, ${tally.reused} reused leaves, ${tally.undercounted} under-counted amounts`);
    expect(tally.cuts).toBeGreaterThan(0);
    expect(tally.reused).toBe(0);
    expect(tally.undercounted).toBe(0);
  });
});
