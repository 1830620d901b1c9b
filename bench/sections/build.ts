// Bundle size and the JsVars its code keeps when run from Storage (firmware/dist/build-report.json).
import { buildReport } from "../context.ts";
import type { Row, Section } from "./types.ts";

export const buildSection: Section = {
  name: "build",
  note: "from firmware/dist/build-report.json; codeVarsFromStorage/boardVars/varsPct are the build's code-size estimate (facts §8 points), NOT the memory the firmware holds: the memory section counts that (function instances, scopes and objects: ~2.6× more)",
  run: async () => {
    const r = buildReport();
    const rows: Row[] = [];
    // each board with the bundle it takes: keycarrier.js (USB only) or keycarrier.nfc.js (NFC link)
    for (const bundle of r.bundles) {
      for (const b of bundle.boards) {
        rows.push({
          board: b.id, bundle: bundle.file, releaseBytes: bundle.bytes.release, debugBytes: bundle.bytes.debug, largestBundleBytes: b.largestBundleBytes,
          codeVarsFromStorage: bundle.estimatedJsVarsFromStorage, boardVars: b.vars, varsPct: b.varsPercent, gate: r.gate.verdict,
        });
      }
    }
    return rows;
  },
};
