// Model-based test: random sequences of SET_PIN / VERIFY_PIN (right | wrong) / CHANGE_PIN / WIPE /
// reboot / power cut mid-operation, run against the real store on EspruinoStorage over NorFlash
// (puckjs geometry, small counter so rotations happen) and against a tiny in-memory model.
import { describe, expect, test } from "vitest";
import fc from "fast-check";
import { PowerCut } from "../../../board/src/flash.ts";
import { makeRig, TEST_CONFIG } from "../store/harness.ts";
import { STATE_BLANK, STATE_DESTROYED, STATE_PERSONALISED } from "../../src/security/carrier.ts";

interface Model { state: number; pin: string; failures: number }

type Op =
  | { kind: "set"; pin: string }
  | { kind: "verify"; right: boolean }
  | { kind: "change"; pin: string }
  | { kind: "wipe" }
  | { kind: "reboot" }
  | { kind: "cut"; inner: "verify-right" | "verify-wrong" | "change"; after: number };

const pinArb = fc.stringMatching(/^[0-9]{4,12}$/);
const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 1, arbitrary: pinArb.map((pin) => ({ kind: "set" as const, pin })) },
  { weight: 6, arbitrary: fc.boolean().map((right) => ({ kind: "verify" as const, right })) },
  { weight: 2, arbitrary: pinArb.map((pin) => ({ kind: "change" as const, pin })) },
  { weight: 1, arbitrary: fc.constant({ kind: "wipe" as const }) },
  { weight: 1, arbitrary: fc.constant({ kind: "reboot" as const }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant("cut" as const), inner: fc.constantFrom("verify-right" as const, "verify-wrong" as const, "change" as const), after: fc.nat(3) }) },
);

function wrongOf(pin: string): string {
  return pin === "0000" ? "1111" : "0000";
}

describe("store vs model", () => {
  test("random sequences (fast-check, 60 runs)", () => {
    fc.assert(
      fc.property(fc.array(opArb, { minLength: 5, maxLength: 60 }), (ops) => {
        const rig = makeRig({ config: { ...TEST_CONFIG, counterSlots: 16 } });
        const m: Model = { state: STATE_BLANK, pin: "", failures: 0 };
        for (const op of ops) {
          rig.clock.ms += 3_600_000; // past any lockout: the model has no clock
          const c = rig.carrier;
          if (op.kind === "set") {
            const o = c.setPin(op.pin);
            if (m.state === STATE_BLANK || m.state === STATE_DESTROYED) {
              expect(o.status).toBe(0);
              Object.assign(m, { state: STATE_PERSONALISED, pin: op.pin, failures: 0 });
            } else expect(o.status).toBe(0x04);
          } else if (op.kind === "verify") {
            const o = c.verifyPin(op.right ? m.pin || "1234" : wrongOf(m.pin));
            if (m.state !== STATE_PERSONALISED) expect(o.status).toBe(0x04);
            else if (op.right) {
              expect(o.status).toBe(0);
              m.failures = 0;
            } else {
              m.failures++;
              if (m.failures >= 10) {
                expect(o.status).toBe(0x11);
                Object.assign(m, { state: STATE_DESTROYED, pin: "", failures: 0 });
              } else expect(o).toMatchObject({ status: 0x10, triesLeft: 10 - m.failures });
            }
          } else if (op.kind === "change") {
            const o = c.changePin(m.pin || "1234", op.pin);
            if (m.state !== STATE_PERSONALISED) expect(o.status).toBe(0x04);
            else {
              expect(o.status).toBe(0);
              Object.assign(m, { pin: op.pin, failures: 0 });
            }
          } else if (op.kind === "wipe") {
            rig.presence.armed = true;
            const o = c.wipe();
            expect(o.status).toBe(m.state === STATE_PERSONALISED ? 0 : 0x04);
            if (m.state === STATE_PERSONALISED) Object.assign(m, { state: STATE_DESTROYED, pin: "", failures: 0 });
            rig.presence.armed = false;
          } else if (op.kind === "reboot") {
            rig.reboot();
          } else if (op.kind === "cut" && m.state === STATE_PERSONALISED) {
            rig.flash.cutPowerAfterWordWrites(op.after, "none");
            const before = m.failures;
            let cut = false;
            try {
              if (op.inner === "verify-right") c.verifyPin(m.pin);
              else if (op.inner === "verify-wrong") c.verifyPin(wrongOf(m.pin));
              else c.changePin(m.pin, m.pin === "2222" ? "3333" : "2222");
            } catch (e) {
              if (!(e instanceof PowerCut)) throw e;
              cut = true;
            }
            rig.flash.cancelPowerCuts();
            rig.reboot();
            // re-sync the model from what is observable, inside what the invariants allow
            const failures = 10 - rig.carrier.triesLeft();
            if (rig.carrier.state() === STATE_DESTROYED) {
              expect(before + 1).toBeGreaterThanOrEqual(10);
              Object.assign(m, { state: STATE_DESTROYED, pin: "", failures: 0 });
              continue;
            }
            const allowed = op.inner === "verify-wrong" ? [before, before + 1] : [before, before + 1, 0];
            expect(allowed).toContain(failures);
            if (!cut && op.inner === "verify-wrong") expect(failures).toBe(before + 1);
            m.failures = failures;
            if (op.inner === "change") {
              const candidate = m.pin === "2222" ? "3333" : "2222";
              rig.clock.ms += 3_600_000;
              if (rig.carrier.verifyPin(candidate).status === 0) m.pin = candidate;
              else {
                rig.clock.ms += 3_600_000;
                expect(rig.carrier.verifyPin(m.pin).status).toBe(0);
              }
              m.failures = 0;
            }
          }
          expect(rig.carrier.state()).toBe(m.state);
          if (m.state === STATE_PERSONALISED) expect(rig.carrier.triesLeft()).toBe(10 - m.failures);
        }
      }),
      { numRuns: 60, seed: 20261122 },
    );
  });
});
