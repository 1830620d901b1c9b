// The carrier's power-cut campaign on the page store (STORAGE.md §7): for every state-changing
// operation of the carrier (security/carrier.ts on store/pages.ts + tally.ts), cut the power at every
// flash word write it performs ("none": the word does not land; "some-bits": a seeded subset of its
// bits clears) and at every page erase ("none": the page keeps its data; "some-words": a seeded mix of
// erased and old words), power on, run Espruino's boot check and openCarrier's recovery, then check
// the invariants and that the carrier still works. Every cut point, no sampling: the whole campaign
// runs in seconds. Flash: the puckjs store pages (2 × 4 KB), next to its 40 KB Storage with a
// stand-in bundle, which no operation may touch (so no cut can make the boot check erase it).
import { describe, expect, test } from "vitest";
import { PowerCut, type EraseCutMode, type WordCutMode } from "../../../board/src/flash.ts";
import { makeRig, flashContains, type Rig } from "./harness.ts";
import { REC_PERSO, STATE_BLANK, STATE_DESTROYED, STATE_PERSONALISED, type CarrierConfig } from "../../src/security/carrier.ts";
import { storeGet, storePut } from "../../src/store/pages.ts";
import { tallyShare } from "../../src/store/tally.ts";
import { VERDICT_BLOCKED, VERDICT_FORGED, VERDICT_OK, VERDICT_WRONG } from "../../src/security/verdict.ts";

// The carrier holds no PIN: it counts the platform's verdicts (countVerdict's judge stands in for
// the applet's MAC check here). MK is chosen by the test so its survival can be checked.
const MK = "M".repeat(32);
const PROBE = "p".repeat(32);

interface Ctx { failures: number; mk: string | null; secrets: string[] }

// Does the carrier's master key still unwrap what `mk` wrapped?
function masterKeyIs(rig: Rig, mk: string | null): boolean {
  return mk !== null && rig.carrier.unwrapKey(rig.carrier.wrapKey(mk, PROBE)) === PROBE;
}

interface Scenario {
  name: string;
  config?: CarrierConfig;
  setup(rig: Rig): Ctx;
  op(rig: Rig): void;
  check(rig: Rig, ctx: Ctx): void;
}

function personalised(rig: Rig, failures: number): Ctx {
  expect(rig.carrier.enrol(MK).status).toBe(0);
  for (let i = 0; i < failures; i++) {
    rig.clock.ms += 120_000;
    expect(rig.carrier.countVerdict(() => VERDICT_WRONG).status).toBe(0x10);
  }
  rig.clock.ms += 120_000;
  return { failures, mk: MK, secrets: secretsOf(rig) };
}

// Fills the current page with application records (log-entry keys, ≤ 200 B each) until fewer than
// `room` bytes are left: the operation's next record of `room` bytes then makes the store compact.
function fillPage(rig: Rig, room: number): void {
  const st = rig.pages;
  const free = () => st.pages[st.cur]! + st.sizes[st.cur]! - st.end;
  for (let i = 0; free() >= room; i++) storePut(st, 0x10 + (i % 8), "e".repeat(Math.min(200, free() - room - 4)));
  expect(free()).toBeLessThan(room);
}

// What a self-destruct must leave unrecoverable: the master key (never stored in the clear), share A
// (PERSO record) and share B (tally record) of the device secret, and the wrapped MK. The page store
// zeroises them in place: none of them may be anywhere in flash afterwards.
function secretsOf(rig: Rig): string[] {
  const p = storeGet(rig.pages, REC_PERSO)!;
  return [MK, p.substr(1, 32), tallyShare(rig.pages), p.substr(33, 32)];
}

// Count one verdict after skipping any lockout; returns the status.
function tryVerdict(rig: Rig, verdict: number): number {
  rig.clock.ms += 120_000;
  return rig.carrier.countVerdict(() => verdict).status;
}

// After a self-destruct's DESTROYED record landed (the boot finished the wipe): nothing of the secrets
// anywhere in flash, and the carrier can be personalised again.
function expectDestroyedClean(rig: Rig, ctx: Ctx): void {
  expect(rig.carrier.state()).toBe(STATE_DESTROYED);
  const left = ctx.secrets.filter((s) => flashContains(rig.bank, s) || flashContains(rig.flash, s));
  expect(left.length, "secret bytes left in flash after the self-destruct").toBe(0);
  expect(rig.carrier.enrol(MK).status).toBe(0);
  expect(tryVerdict(rig, VERDICT_OK)).toBe(0);
}

function expectFailures(rig: Rig, allowed: number[]): void {
  expect(allowed).toContain(10 - rig.carrier.triesLeft());
}

const scenarios: Scenario[] = [
  {
    name: "ENROL (PERSONALISE's commit)",
    setup: () => ({ failures: 0, mk: null, secrets: [] }),
    op: (rig) => void rig.carrier.enrol(MK),
    check: (rig) => {
      const s = rig.carrier.state();
      expect([STATE_BLANK, STATE_PERSONALISED]).toContain(s);
      if (s === STATE_PERSONALISED) {
        expect(rig.carrier.triesLeft()).toBe(10);
        expect(tryVerdict(rig, VERDICT_OK)).toBe(0);
        expect(masterKeyIs(rig, MK)).toBe(true);
      } else expect(rig.carrier.enrol(MK).status).toBe(0);
    },
  },
  {
    name: "ENROL again after a self-destruct",
    setup: (rig) => {
      personalised(rig, 0);
      rig.presence.armed = true;
      expect(rig.carrier.wipe().status).toBe(0);
      return { failures: 0, mk: null, secrets: [] };
    },
    op: (rig) => void rig.carrier.enrol(MK),
    check: (rig) => {
      const s = rig.carrier.state();
      expect([STATE_DESTROYED, STATE_PERSONALISED]).toContain(s);
      if (s === STATE_PERSONALISED) {
        expect(rig.carrier.triesLeft()).toBe(10);
        expect(tryVerdict(rig, VERDICT_OK)).toBe(0);
        expect(masterKeyIs(rig, MK)).toBe(true);
      } else expect(rig.carrier.enrol(MK).status).toBe(0);
    },
  },
  {
    name: "verdict OK",
    setup: (rig) => personalised(rig, 3),
    op: (rig) => void rig.carrier.countVerdict(() => VERDICT_OK),
    check: (rig, ctx) => {
      expect(rig.carrier.state()).toBe(STATE_PERSONALISED);
      expectFailures(rig, [ctx.failures, ctx.failures + 1, 0]);
      expect(tryVerdict(rig, VERDICT_OK)).toBe(0);
      expect(masterKeyIs(rig, ctx.mk)).toBe(true);
    },
  },
  {
    name: "verdict WRONG",
    setup: (rig) => personalised(rig, 3),
    op: (rig) => void rig.carrier.countVerdict(() => VERDICT_WRONG),
    check: (rig, ctx) => {
      expect(rig.carrier.state()).toBe(STATE_PERSONALISED);
      expectFailures(rig, [ctx.failures, ctx.failures + 1]);
      expect(tryVerdict(rig, VERDICT_OK)).toBe(0);
    },
  },
  {
    name: "forged verdict (bad MAC)",
    setup: (rig) => personalised(rig, 3),
    op: (rig) => void rig.carrier.countVerdict(() => VERDICT_FORGED),
    check: (rig, ctx) => {
      expect(rig.carrier.state()).toBe(STATE_PERSONALISED);
      expectFailures(rig, [ctx.failures, ctx.failures + 1]);
      expect(tryVerdict(rig, VERDICT_OK)).toBe(0);
    },
  },
  {
    name: "verdict WRONG, the carrier's last try (self-destruct)",
    setup: (rig) => personalised(rig, 9),
    op: (rig) => void rig.carrier.countVerdict(() => VERDICT_WRONG),
    check: (rig, ctx) => {
      if (rig.carrier.state() === STATE_PERSONALISED) {
        expectFailures(rig, [9]);
        expect(tryVerdict(rig, VERDICT_OK)).toBe(0);
      } else expectDestroyedClean(rig, ctx);
    },
  },
  {
    name: "verdict BLOCKED (the issuer blocked the PIN: self-destruct)",
    setup: (rig) => personalised(rig, 2),
    op: (rig) => void rig.carrier.countVerdict(() => VERDICT_BLOCKED),
    check: (rig, ctx) => {
      if (rig.carrier.state() === STATE_PERSONALISED) {
        expectFailures(rig, [2, 3]);
        expect(tryVerdict(rig, VERDICT_BLOCKED)).toBe(0x11);
      } else expectDestroyedClean(rig, ctx);
    },
  },
  {
    name: "verdict WRONG on a full tally (new tally record, carried failures) in a full page (compaction)",
    setup: (rig) => {
      const ctx = personalised(rig, 0);
      for (let i = 0; i < 62; i++) expect(tryVerdict(rig, VERDICT_OK)).toBe(0);
      expect(tryVerdict(rig, VERDICT_WRONG)).toBe(0x10);
      expect(tryVerdict(rig, VERDICT_WRONG)).toBe(0x10); // 64 tail words used, 2 failures to carry
      fillPage(rig, 300);
      rig.clock.ms += 120_000;
      return { ...ctx, failures: 2 };
    },
    op: (rig) => void rig.carrier.countVerdict(() => VERDICT_WRONG),
    check: (rig, ctx) => {
      expect(rig.carrier.state()).toBe(STATE_PERSONALISED);
      expectFailures(rig, [ctx.failures, ctx.failures + 1]);
      expect(tryVerdict(rig, VERDICT_OK)).toBe(0);
      expect(masterKeyIs(rig, ctx.mk)).toBe(true);
    },
  },
  {
    name: "WIPE",
    setup: (rig) => personalised(rig, 1),
    op: (rig) => {
      rig.presence.armed = true;
      rig.carrier.wipe();
    },
    check: (rig, ctx) => {
      if (rig.carrier.state() === STATE_PERSONALISED) {
        expectFailures(rig, [ctx.failures]);
        expect(tryVerdict(rig, VERDICT_OK)).toBe(0);
      } else expectDestroyedClean(rig, ctx);
    },
  },
  {
    name: "WIPE of a full page (the DESTROYED mark compacts first)",
    setup: (rig) => {
      const ctx = personalised(rig, 1);
      fillPage(rig, 8);
      return ctx;
    },
    op: (rig) => {
      rig.presence.armed = true;
      rig.carrier.wipe();
    },
    check: (rig, ctx) => {
      if (rig.carrier.state() === STATE_PERSONALISED) {
        expectFailures(rig, [ctx.failures]);
        expect(tryVerdict(rig, VERDICT_OK)).toBe(0);
      } else expectDestroyedClean(rig, ctx);
    },
  },
];

interface Tally { cuts: number; byScenario: Record<string, number> }

// One scenario, cut at its n-th word write (kind "word") or page erase (kind "erase") for n = 0, 1, …
// until the operation completes uncut.
function runCuts(s: Scenario, kind: "word" | "erase", mode: WordCutMode | EraseCutMode, tally: Tally): void {
  const base = makeRig({ config: s.config });
  const ctx = s.setup(base);
  const image = base.flash.snapshot();
  const bankImage = base.bank.snapshot();
  for (let n = 0; ; n++) {
    const rig = makeRig({ config: s.config, image, bankImage });
    rig.clock.ms = base.clock.ms;
    if (kind === "word") rig.bank.cutAtWord(rig.bank.words + n, mode as WordCutMode);
    else rig.bank.cutAtErase(rig.bank.erases + n, mode as EraseCutMode);
    let cut = false;
    try {
      s.op(rig);
    } catch (e) {
      if (!(e instanceof PowerCut)) throw e;
      cut = true;
    }
    if (!cut) break;
    const boot = rig.reboot();
    const key = `${s.name} (${kind} ${mode})`;
    tally.cuts++;
    tally.byScenario[key] = (tally.byScenario[key] ?? 0) + 1;
    const where = `${s.name}, ${kind} ${mode}, cut at ${kind} ${n}`;
    try {
      // the store never touches Storage: the boot check passes and Storage is bit for bit as before
      expect(boot, "Espruino's boot check").toBe("ok");
      expect(Buffer.compare(Buffer.from(rig.flash.snapshot()), Buffer.from(image)), "Storage unchanged").toBe(0);
      s.check(rig, ctx);
    } catch (e) {
      throw new Error(`${where}: ${(e as Error).message}`);
    }
  }
}

describe("power-cut campaign on the page store (puckjs, every word write and page erase)", () => {
  const tally: Tally = { cuts: 0, byScenario: {} };
  for (const s of scenarios) {
    for (const mode of ["none", "some-bits"] as WordCutMode[]) test(`${s.name} [word ${mode}]`, () => runCuts(s, "word", mode, tally));
    for (const mode of ["none", "some-words"] as EraseCutMode[]) test(`${s.name} [erase ${mode}]`, () => runCuts(s, "erase", mode, tally));
  }
  test("coverage", () => {
    console.log(
      `power-cut campaign (carrier on the page store): ${tally.cuts} cut points (${scenarios.length} operations, every word write × 2 partial modes, every page erase × 2), ` +
        `0 corrupt, 0 counter rollbacks, 0 boot-check wipes (Storage unchanged after every cut); per operation: ` +
        Object.entries(tally.byScenario).map(([k, v]) => `${k} ${v}`).join(", "),
    );
    expect(tally.cuts).toBeGreaterThan(1000);
  });
});
