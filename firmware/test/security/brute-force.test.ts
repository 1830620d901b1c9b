// A host feeding the carrier bad PIN verdicts (forged MACs, wrong PINs) and cutting the power at
// every flash word write of every one of them never gets more than 10 verdicts judged; the carrier
// ends DESTROYED and neither the master key nor either device-secret share is left in flash (the
// self-destruct zeroises them in place, STORAGE.md §6).
// (The PIN itself is guessed only online, against the platform's own try limit:
// hil-tests/attacks/online-pin-guessing.test.ts.)
import { describe, expect, test } from "vitest";
import { PowerCut, type WordCutMode } from "../../../board/src/flash.ts";
import { makeRig, flashContains } from "../store/harness.ts";
import { storeGet } from "../../src/store/pages.ts";
import { tallyShare } from "../../src/store/tally.ts";
import { REC_PERSO, STATE_DESTROYED } from "../../src/security/carrier.ts";
import { VERDICT_FORGED } from "../../src/security/verdict.ts";

const MK = "M".repeat(32);

describe("10 bad verdicts with a power cut at every point", () => {
  for (const mode of ["none", "some-bits"] as WordCutMode[])
    test(`never an 11th verdict judged; DESTROYED; keys unreadable in flash [${mode}]`, () => {
      const rig = makeRig();
      expect(rig.carrier.enrol(MK).status).toBe(0);
      const p = storeGet(rig.pages, REC_PERSO)!;
      const shareA = p.substr(1, 32);
      const shareB = tallyShare(rig.pages);
      expect(flashContains(rig.bank, shareA) && flashContains(rig.bank, shareB)).toBe(true);
      expect(flashContains(rig.bank, MK)).toBe(false); // never stored in the clear

      let judged = 0;
      let cuts = 0;
      let sent = 0;
      while (rig.carrier.state() !== STATE_DESTROYED && sent < 1000) {
        sent++;
        // the attacker's best move: cut at every point of this verdict in turn, rebooting each time
        for (let n = 0; ; n++) {
          rig.clock.ms += 3_600_000;
          rig.bank.cutAtWord(rig.bank.words + n, mode);
          let cut = false;
          try {
            rig.carrier.countVerdict(() => {
              judged++;
              return VERDICT_FORGED;
            });
          } catch (e) {
            if (!(e instanceof PowerCut)) throw e;
            cut = true;
          }
          rig.bank.cancelCuts();
          if (cut) {
            cuts++;
            rig.reboot();
          }
          if (!cut || rig.carrier.state() === STATE_DESTROYED) break;
        }
      }
      console.log(`bad verdicts [${mode}]: ${sent} sent, ${cuts} power cuts, ${judged} judged`);
      expect(judged).toBeLessThanOrEqual(10);
      expect(rig.carrier.state()).toBe(STATE_DESTROYED);
      rig.reboot();
      expect(rig.carrier.state()).toBe(STATE_DESTROYED);
      expect(rig.carrier.countVerdict(() => 0).status).toBe(0x04); // refused: not allowed in DESTROYED
      expect(flashContains(rig.bank, MK), "MK in the flash image").toBe(false);
      expect(flashContains(rig.bank, shareA) || flashContains(rig.bank, shareB), "a device-secret share in the flash image").toBe(false);
    });
});
