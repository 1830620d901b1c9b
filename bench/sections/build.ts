// Bundle size and the JsVars its code keeps when run from Storage (firmware/dist/build-report.json).
import { buildReport } from "../context.ts";
import type { Row, Section } from "./types.ts";

export const buildSection: Section = {
  name: "build",
  note: "from firmware/dist/build-report.json (the build's own estimate, facts §8 code-from-Storage points)",
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
