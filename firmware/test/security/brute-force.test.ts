// A host feeding the carrier bad PIN verdicts (forged MACs, wrong PINs) and cutting the power at
// every flash word write of every one of them never gets more than 10 verdicts judged; the carrier
// ends DESTROYED and neither the master key nor both device-secret shares are left in flash.
// (The PIN itself is guessed only online, against the platform's own try limit:
// hil-tests/attacks/online-pin-guessing.test.ts.)
import { describe, expect, test } from "vitest";
import { PowerCut, type WordCutMode } from "../../../board/src/flash.ts";
import { makeRig, flashContains } from "../store/harness.ts";
import { openLog } from "../../src/store/log.ts";
import { LOG_NAMES, REC_PERSO, STATE_DESTROYED } from "../../src/security/carrier.ts";
import { VERDICT_FORGED } from "../../src/security/verdict.ts";

const MK = "M".repeat(32);

describe("10 bad verdicts with a power cut at every point", () => {
  for (const mode of ["none", "some-bits"] as WordCutMode[])
    test(`never an 11th verdict judged; DESTROYED; keys unreadable in flash [${mode}]`, () => {
      const rig = makeRig();
      expect(rig.carrier.enrol(MK).status).toBe(0);
      const p = openLog(rig.env, LOG_NAMES, rig.config.logBytes).get(REC_PERSO)!.payload;
      const shareA = p.substr(1, 32);
      const shareB = rig.storage.read("kc.ctr.a", 12, 32)!;
      expect(flashContains(rig.flash, shareA) && flashContains(rig.flash, shareB)).toBe(true);
      expect(flashContains(rig.flash, MK)).toBe(false); // never stored in the clear

      let judged = 0;
      let cuts = 0;
      let sent = 0;
      while (rig.carrier.state() !== STATE_DESTROYED && sent < 1000) {
        sent++;
        // the attacker's best move: cut at every point of this verdict in turn, rebooting each time
        for (let n = 0; ; n++) {
          rig.clock.ms += 3_600_000;
          rig.flash.cutPowerAfterWordWrites(n, mode);
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
          rig.flash.cancelPowerCuts();
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
      expect(flashContains(rig.flash, MK), "MK in the flash image").toBe(false);
      expect(flashContains(rig.flash, shareA) && flashContains(rig.flash, shareB), "both device-secret shares in the flash image").toBe(false);
    });
});
