// The release bundles `npm run build` makes from the same sources, and which features each has.
// A board profile names the bundle it takes (board/boards/*.json "firmware"); everything that picks
// a bundle for a board (build budgets, bench, emulate, tests) reads that field.
import type { FirmwareFeatures } from "./pipeline.ts";

export type BundleFile = "keycarrier.js" | "keycarrier.nfc.js" | "keycarrier.full.js";

export interface BundleSpec { file: BundleFile; debugFile: string; features: FirmwareFeatures }

const NONE: FirmwareFeatures = { nfc: false, offline: false, peer: false, display: false };

/**
 * keycarrier.js: USB link only — the Pico (no NFC, its Storage budget is the tightest, STORAGE.md §7.1).
 * keycarrier.nfc.js: + the NFC link — the Puck.js (NFC only, 2,630 vars).
 * keycarrier.full.js: + the offline card-emulation applet, the peer payment applet and the trusted
 * display — boards with room for them (the nrf52840 profile: 12,500 vars, 160 KB Storage).
 */
export const BUNDLES: readonly BundleSpec[] = [
  { file: "keycarrier.js", debugFile: "keycarrier.debug.js", features: NONE },
  { file: "keycarrier.nfc.js", debugFile: "keycarrier.nfc.debug.js", features: { ...NONE, nfc: true } },
  { file: "keycarrier.full.js", debugFile: "keycarrier.full.debug.js", features: { nfc: true, offline: true, peer: true, display: true } },
];

export function bundleSpec(file: BundleFile): BundleSpec {
  const spec = BUNDLES.find((b) => b.file === file);
  if (!spec) throw new Error(`no bundle named ${file}; the build makes ${BUNDLES.map((b) => b.file).join(", ")}`);
  return spec;
}
