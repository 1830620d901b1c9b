// Model-based test: random sequences of ENROL / verdict (OK | WRONG | forged | BLOCKED) / WIPE /
// reboot / power cut mid-verdict, run against the real store on EspruinoStorage over NorFlash
// (puckjs geometry, small counter so rotations happen) and against a tiny in-memory model.
import { describe, expect, test } from "vitest";
import fc from "fast-check";
import { PowerCut } from "../../../board/src/flash.ts";
import { makeRig, TEST_CONFIG } from "../store/harness.ts";
import { STATE_BLANK, STATE_DESTROYED, STATE_PERSONALISED } from "../../src/security/carrier.ts";
import { VERDICT_BLOCKED, VERDICT_FORGED, VERDICT_OK, VERDICT_WRONG } from "../../src/security/verdict.ts";

interface Model { state: number; failures: number }

type Op =
  | { kind: "enrol" }
  | { kind: "verdict"; v: number }
  | { kind: "wipe" }
  | { kind: "reboot" }
  | { kind: "cut"; v: number; after: number };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 1, arbitrary: fc.constant({ kind: "enrol" as const }) },
  { weight: 6, arbitrary: fc.constantFrom(VERDICT_OK, VERDICT_OK, VERDICT_WRONG, VERDICT_WRONG, VERDICT_FORGED).map((v) => ({ kind: "verdict" as const, v })) },
  { weight: 1, arbitrary: fc.constant({ kind: "verdict" as const, v: VERDICT_BLOCKED }) },
  { weight: 1, arbitrary: fc.constant({ kind: "wipe" as const }) },
  { weight: 1, arbitrary: fc.constant({ kind: "reboot" as const }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant("cut" as const), v: fc.constantFrom(VERDICT_OK, VERDICT_WRONG), after: fc.nat(3) }) },
);

describe("store vs model", () => {
  test("random sequences (fast-check, 60 runs)", () => {
    fc.assert(
      fc.property(fc.array(opArb, { minLength: 5, maxLength: 60 }), (ops) => {
        const rig = makeRig({ config: TEST_CONFIG });
        const m: Model = { state: STATE_BLANK, failures: 0 };
        for (const op of ops) {
          rig.clock.ms += 3_600_000; // past any lockout: the model has no clock
          const c = rig.carrier;
          if (op.kind === "enrol") {
            const o = c.enrol();
            if (m.state === STATE_BLANK || m.state === STATE_DESTROYED) {
              expect(o.status).toBe(0);
              Object.assign(m, { state: STATE_PERSONALISED, failures: 0 });
            } else expect(o.status).toBe(0x04);
          } else if (op.kind === "verdict") {
            const o = c.countVerdict(() => op.v);
            if (m.state !== STATE_PERSONALISED) expect(o.status).toBe(0x04);
            else if (op.v === VERDICT_OK) {
              expect(o.status).toBe(0);
              m.failures = 0;
            } else if (op.v === VERDICT_BLOCKED) {
              expect(o.status).toBe(0x11);
              Object.assign(m, { state: STATE_DESTROYED, failures: 0 });
            } else {
              m.failures++;
              if (m.failures >= 10) {
                expect(o.status).toBe(0x11);
                Object.assign(m, { state: STATE_DESTROYED, failures: 0 });
              } else expect(o).toMatchObject({ status: op.v === VERDICT_WRONG ? 0x10 : 0x13, triesLeft: 10 - m.failures });
            }
          } else if (op.kind === "wipe") {
            rig.presence.armed = true;
            const o = c.wipe();
            expect(o.status).toBe(m.state === STATE_PERSONALISED ? 0 : 0x04);
            if (m.state === STATE_PERSONALISED) Object.assign(m, { state: STATE_DESTROYED, failures: 0 });
            rig.presence.armed = false;
          } else if (op.kind === "reboot") {
            rig.reboot();
          } else if (op.kind === "cut" && m.state === STATE_PERSONALISED) {
            rig.bank.cutAtWord(rig.bank.words + op.after, "none");
            const before = m.failures;
            let cut = false;
            try {
              c.countVerdict(() => op.v);
            } catch (e) {
              if (!(e instanceof PowerCut)) throw e;
              cut = true;
            }
            rig.bank.cancelCuts();
            rig.reboot();
            // re-sync the model from what is observable, inside what the invariants allow
            const failures = 10 - rig.carrier.triesLeft();
            if (rig.carrier.state() === STATE_DESTROYED) {
              expect(before + 1).toBeGreaterThanOrEqual(10);
              Object.assign(m, { state: STATE_DESTROYED, failures: 0 });
              continue;
            }
            const allowed = op.v === VERDICT_WRONG ? [before, before + 1] : [before, before + 1, 0];
            expect(allowed).toContain(failures);
            if (!cut && op.v === VERDICT_WRONG) expect(failures).toBe(before + 1);
            m.failures = failures;
          }
          expect(rig.carrier.state()).toBe(m.state);
          if (m.state === STATE_PERSONALISED) expect(rig.carrier.triesLeft()).toBe(10 - m.failures);
        }
      }),
      { numRuns: 60, seed: 20261122 },
    );
  });
});
