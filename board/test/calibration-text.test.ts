// The cost model's source-text terms (calibration.ts TEXT_INSTRUCTIONS) against the real 2v29
// interpreter: board/calibration/real-2v29-text.json holds the per-iteration instruction counts of
// bench/calibrate/text-probes.ts's micro-programs (callgrind, code run from Storage), measured with
// `npx tsx bench/calibrate/text-probes.ts --espruino BIN --write board/calibration/real-2v29-text.json`.
// Each check is a DIFFERENCE of two probes that differ only in text, so the statement and call costs
// (fitted per request, not per micro-program: see board/docs/calibration.md) cancel out.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ROOT } from "../../bench/context.ts";
import { modelTextProbes, TEXT_PROBES } from "../../bench/calibrate/text-probes.ts";

const real = (JSON.parse(readFileSync(join(ROOT, "board", "calibration", "real-2v29-text.json"), "utf8")) as { real: Record<string, number> }).real;
const TOLERANCE = 0.15;

describe("source text: the model's per-character costs against the real interpreter", () => {
  const model = modelTextProbes();

  it("measured every probe the tool defines", () => {
    expect(Object.keys(real).sort()).toEqual(Object.keys(TEXT_PROBES).sort());
  });

  const pairs: [string, string, string][] = [
    ["lexing 45 more characters of names in an executed statement", "x=a+b, 16-character names", "x=a+b"],
    ["an untaken `if {…}` of 490 characters, skipped token by token", "call: untaken if {490 characters}", "call of an empty function"],
    ["an untaken `?:` arm of 490 characters, parsed without running", "call: untaken ?: arm of 490 characters", "call: return, then 490 characters"],
    ["an untaken brace-less `if` body of 490 characters, parsed without running", "call: untaken brace-less if, 490 characters", "call of an empty function"],
    ["creating a function instance with a 490-character body", "function expression, 490-character body", "x=a+b"],
  ];
  for (const [what, a, b] of pairs) {
    it(`${what}: within ${TOLERANCE * 100}%`, () => {
      const m = model[a]! - model[b]!;
      const r = real[a]! - real[b]!;
      expect(Math.abs(m / r - 1), `model ${m} real ${r} instructions`).toBeLessThanOrEqual(TOLERANCE);
    });
  }

  it("code after a return costs nothing to skip (Espruino stops parsing the function there)", () => {
    // real: the `return 1;` statement alone (≈ 3k); the model charges that statement its fitted
    // statement cost (≈ 12.5k: per-operation weights are fitted per request, not per micro-program)
    // and nothing for the 490 characters after it
    const r = real["call: return, then 490 characters"]! - real["call of an empty function"]!;
    expect(r).toBeLessThan(490 * 20);
    const m = model["call: return, then 490 characters"]! - model["call of an empty function"]!;
    expect(m).toBeLessThan(490 * 40);
  });
});
