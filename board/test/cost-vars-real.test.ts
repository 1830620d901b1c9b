// The cost model's JsVars accounting against a real Espruino 2v29 interpreter: every vector in
// vectors/real-espruino-vars.json was measured on the real Linux builds with the Puck.js and Pico
// pools (provenance in the file); here the virtual board, metered, must keep exactly as many vars.
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { CostMeter } from "../src/cost/meter.ts";
import { VirtualBoard } from "../src/virtual-board.ts";

interface Vector { rule: string; program: string; real: { puckjs: number; pico: number }; modelDiffers?: { puckjs: number; pico: number; why: string }; boards?: string[] }
const file = JSON.parse(readFileSync(new URL("./vectors/real-espruino-vars.json", import.meta.url), "utf8")) as {
  setup: string; vectors: Vector[]; firstUse: { vectors: Vector[] };
  getSizeOf: { vectors: { program: string; expr: string; real: { puckjs: number; pico: number } }[] };
};

function modelDelta(board: "puckjs" | "pico", program: string, setupCode = file.setup): number {
  const vb = new VirtualBoard({ board, cost: new CostMeter(), seed: 1 });
  try {
    vb.powerOn();
    const setup = vb.evaluate(setupCode);
    if (!setup.ok) throw setup.error;
    const before = vb.memoryEstimate().total;
    // the Linux build's pin D1 is the board's BTN1 here (a watch's vars do not depend on the pin)
    const run = vb.evaluate(program.replace(/global\./g, "this.").replace(/\bD1\b/g, "BTN1"));
    if (!run.ok) throw run.error;
    return vb.memoryEstimate().total - before;
  } finally {
    vb.dispose();
  }
}

describe("JsVars accounting vs the real interpreter (vectors/real-espruino-vars.json)", () => {
  for (const v of file.vectors) {
    for (const board of ["puckjs", "pico"] as const) {
      it(`${board}: ${v.rule} — ${v.program}`, () => {
        const expected = v.modelDiffers ? v.modelDiffers[board] : v.real[board];
        expect(modelDelta(board, v.program)).toBe(expected);
      });
    }
  }
});

describe("builtins' first use vs the real interpreter (vectors/real-espruino-vars.json firstUse)", () => {
  for (const v of file.firstUse.vectors) {
    for (const board of (v.boards ?? ["puckjs", "pico"]) as ("puckjs" | "pico")[]) {
      it(`${board}: ${v.rule} — ${v.program}`, () => {
        expect(modelDelta(board, v.program, ";")).toBe(v.real[board]);
      });
    }
  }
});

describe("E.getSizeOf on the board vs the real interpreter (vectors/real-espruino-vars.json getSizeOf)", () => {
  for (const v of file.getSizeOf.vectors) {
    for (const board of ["puckjs", "pico"] as const) {
      it(`${board}: E.getSizeOf(${v.expr}) after ${v.program}`, () => {
        const vb = new VirtualBoard({ board, cost: new CostMeter(), seed: 1 });
        try {
          vb.powerOn();
          const run = vb.evaluate(v.program.replace(/global\./g, "this."));
          if (!run.ok) throw run.error;
          expect(vb.evaluate(`E.getSizeOf(${v.expr})`)).toEqual({ ok: true, value: v.real[board] });
        } finally {
          vb.dispose();
        }
      });
    }
  }
});
