// Bundle size and the JsVars its code keeps when run from Storage (firmware/dist/build-report.json).
import { buildReport } from "../context.ts";
import type { Row, Section } from "./types.ts";

export const buildSection: Section = {
  name: "build",
  note: "from firmware/dist/build-report.json; codeVarsFromStorage/boardVars/varsPct are the build's code-size estimate (facts §8 points), NOT the memory the firmware holds: the memory section counts that (function instances, scopes and objects: ~2.6× more)",
  run: async () => {
    const r = buildReport();
    const rows: Row[] = [];
    for (const b of r.boards) {
      rows.push({
        board: b.id, releaseBytes: r.bytes.release, debugBytes: r.bytes.debug,
        codeVarsFromStorage: r.estimatedJsVarsFromStorage, boardVars: b.vars, varsPct: b.varsPercent, gate: r.gate.verdict,
      });
    }
    return rows;
  },
};
