// The committed real-interpreter measurements (board/calibration/real-2v29-*.json, written by
// `npm run calibrate -- --write`) against the virtual board's own figures for the same programs and
// steps (bench/calibrate/model.ts, the one adapter to the cost model). CI has no interpreter: this
// is how it compares model and reality.
//
// Every row must agree within the tolerance the issue sets (vars 10%, instructions 15%) or be listed
// in KNOWN_GAPS with what is wrong. A listed gap that has closed fails too ("remove it"), so the list
// is the model's current, honest error budget and shrinks as the model is fixed (issue #10).
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { ROOT } from "../../bench/context.ts";
import { modelFigures, type ModelFigures } from "../../bench/calibrate/model.ts";
import type { ProbeResult } from "../../bench/calibrate/parse.ts";

interface Measured {
  provenance: {
    interpreter: { version: string; board: string; binarySha256: string; build: { espruinoCommit: string; flags: string[]; patches: string[] } };
    firmware: { bytes: number; sha256: string; repoCommit: string };
    measuredAt: string; callgrind: boolean; modelProfile: string;
  };
  corpus: { name: string; real: string; model: string }[];
  probes: { source: string; real: ProbeResult[] };
  firmware: { steps: { name: string; ok: boolean; vars?: number; instructions?: number; errorFlags?: string[] }[]; idleInstructionsPerSecond?: number };
}

const BOARDS = ["puckjs", "pico"] as const;
const VARS_TOLERANCE = 0.10;
const INSTRUCTIONS_TOLERANCE = 0.15;

const load = (board: string): Measured => JSON.parse(readFileSync(join(ROOT, "board", "calibration", `real-2v29-${board}.json`), "utf8")) as Measured;

// What the model gets wrong today, per row ("board:kind:name"), with the reason. Measured on
// 2v29.277; see board/docs/calibration.md.
const KNOWN_GAPS: Record<string, string> = {
  // filled in from the measured tables below
};

function within(model: number, real: number, tol: number): boolean {
  if (real === 0) return model === 0;
  return Math.abs(model - real) <= Math.max(1, tol * Math.abs(real));
}

describe.each(BOARDS)("real-2v29-%s.json", (board) => {
  const m = load(board);
  let model: ModelFigures;
  beforeAll(async () => { model = await modelFigures(board, { probes: true, firmware: true }); }, 60_000);

  it("says where it comes from: interpreter commit, build flags, firmware bundle, date", () => {
    const p = m.provenance;
    expect(p.interpreter.version).toMatch(/^2v29/);
    expect(p.interpreter.board).toBe(board === "puckjs" ? "LINUX_KC_PUCKJS" : "LINUX_KC_PICO");
    expect(p.interpreter.build.espruinoCommit).toMatch(/^[0-9a-f]{40}$/);
    expect(p.interpreter.build.flags).toEqual(expect.arrayContaining(["-m32", "-Os", "-DLINUX_MEMMAPPED_FLASH=1"]));
    expect(p.interpreter.build.patches).toEqual(["boards.patch", "memmapped-flash.patch", "kc-rig.patch"]);
    expect(p.firmware.bytes).toBeGreaterThan(10_000);
    expect(p.firmware.repoCommit).toMatch(/^[0-9a-f]{40}$/);
    expect(Number.isNaN(Date.parse(p.measuredAt))).toBe(false);
    expect(p.modelProfile).toBe(board);
  });

  it("measured every probe board/calibration/probes.js has, and nothing else", () => {
    const source = readFileSync(join(ROOT, m.probes.source), "utf8");
    const names = [...source.matchAll(/kcReport\("([^"]+)"\)/g)].map((x) => x[1]);
    expect(m.probes.real.map((p) => p.name)).toEqual(names);
  });

  it("probes: the model's vars agree within 10% or the gap is listed", () => {
    const byName = new Map(model.probes.map((p) => [p.name, p]));
    const wrong: string[] = [];
    const closed: string[] = [];
    for (const r of m.probes.real) {
      const key = `${board}:probe:${r.name}`;
      const mv = byName.get(r.name)?.vars;
      const ok = mv !== undefined && within(mv, r.vars, VARS_TOLERANCE);
      if (!ok && !(key in KNOWN_GAPS)) wrong.push(`${key} model ${mv} real ${r.vars}`);
      if (ok && key in KNOWN_GAPS) closed.push(key);
    }
    expect(wrong, "rows outside tolerance and not in KNOWN_GAPS").toEqual([]);
    expect(closed, "gaps that have closed: remove them from KNOWN_GAPS").toEqual([]);
  });

  it("firmware steps: vars within 10%, instructions within 15%, out of memory at the same step — or listed", () => {
    const byName = new Map(model.steps.map((s) => [s.name, s]));
    const wrong: string[] = [];
    const closed: string[] = [];
    const check = (key: string, ok: boolean, text: string): void => {
      if (!ok && !(key in KNOWN_GAPS)) wrong.push(`${key}: ${text}`);
      if (ok && key in KNOWN_GAPS) closed.push(key);
    };
    for (const r of m.firmware.steps) {
      const s = byName.get(r.name);
      if (!s) continue; // "personalise (whole flow)" has no model row
      check(`${board}:ok:${r.name}`, s.ok === r.ok, `model ${s.ok ? "runs" : "fails"}, real ${r.ok ? "runs" : "fails"}`);
      if (r.ok && r.vars !== undefined) check(`${board}:vars:${r.name}`, within(s.vars, r.vars, VARS_TOLERANCE), `model ${s.vars} real ${r.vars}`);
      if (r.ok && r.instructions !== undefined) check(`${board}:instructions:${r.name}`, within(s.instructions, r.instructions, INSTRUCTIONS_TOLERANCE), `model ${s.instructions} real ${r.instructions}`);
    }
    expect(wrong, "rows outside tolerance and not in KNOWN_GAPS").toEqual([]);
    expect(closed, "gaps that have closed: remove them from KNOWN_GAPS").toEqual([]);
  });
});
