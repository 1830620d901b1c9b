// The release bundles `npm run build` makes from the same sources, and which features each has.
// A board profile names the bundle it takes (board/boards/*.json "firmware"); everything that picks
// a bundle for a board (build budgets, bench, emulate, tests) reads that field.
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import type { FirmwareFeatures } from "./pipeline.ts";

export type BundleFile = "keycarrier.js" | "keycarrier.nfc.js" | "keycarrier.full.js";

/**
 * A code chunk (issue #12): code a carrier needs only for a few commands, in a Storage file of its
 * own, which the core loads when such a command arrives and drops after it (firmware/src/platform.ts
 * loadChunk). The source names it by that call, `loadChunk(storageName, KC_CHUNK_CRC_<NAME>, root)`;
 * the build moves what only `root` reaches into the file (firmware/build/chunks.ts), whose text is
 * the body of a function returning root()'s handlers; the core checks the CRC-32 the build compiled
 * into it before running it.
 */
export interface ChunkSpec { name: string; storageName: string }

/**
 * "perso": PERSONALISE and PROVISION (firmware/src/chunks/perso.ts), run once in a carrier's life.
 * A chunk's Storage name is shorter than the store's A/B file names (8 characters, kc.log.a): the
 * store checks every listed file for a torn variant of its names at boot (store/space.ts isTorn),
 * and dismisses a shorter name at once. Measured on the cost model: an 11-character chunk name
 * cost every boot ≈ 90 ms, this one ≈ 11 ms (and the real interpreter agreed: +5.3M instructions).
 */
export const PERSO_CHUNK: ChunkSpec = { name: "perso", storageName: "kc.chp" };

export interface BundleSpec { file: BundleFile; debugFile: string; features: FirmwareFeatures; chunks: readonly ChunkSpec[] }

const NONE: FirmwareFeatures = { nfc: false, offline: false, peer: false, display: false };

/**
 * keycarrier.js: USB link only — the Pico (no NFC, its Storage budget is the tightest, STORAGE.md §7.1).
 * keycarrier.nfc.js: + the NFC link — the Puck.js (NFC only, 2,630 vars).
 * keycarrier.full.js: + the offline card-emulation applet, the peer payment applet and the trusted
 * display — boards with room for them (the nrf52840 profile: 12,500 vars, 160 KB Storage).
 */
export const BUNDLES: readonly BundleSpec[] = [
  // the Pico's Storage has no room for the chunk files' headers and the code they repeat (STORAGE.md
  // §7.1: 87 B to spare) and its 5,100 vars need no chunks; the nrf52840's 12,500 neither
  { file: "keycarrier.js", debugFile: "keycarrier.debug.js", features: NONE, chunks: [] },
  // no chunk shipped: the perso chunk saves ≈ 16 vars of a Puck.js's idle carrier and costs ≈ 500 B
  // of Storage (loader, stand-ins, file header), which store v2's two pages leave it no room for
  // (STORAGE.md §1): the mechanism is built and tested on PERSO_CHUNKED_NFC below
  { file: "keycarrier.nfc.js", debugFile: "keycarrier.nfc.debug.js", features: { ...NONE, nfc: true }, chunks: [] },
  { file: "keycarrier.full.js", debugFile: "keycarrier.full.debug.js", features: { nfc: true, offline: true, peer: true, display: true }, chunks: [] },
];

/**
 * keycarrier.nfc.js with PERSONALISE and PROVISION in the perso chunk: the code-chunk mechanism
 * (build, loader, install paths) as the tests build it. Not shipped — see BUNDLES; measured on the
 * Puck.js model and the real interpreter: idle −16 to −19 vars, personalisation peak +42 (+73 real),
 * +507 B of Storage (docs/FLOWS.md "Code chunks").
 */
export const PERSO_CHUNKED_NFC: BundleSpec = { file: "keycarrier.nfc.js", debugFile: "keycarrier.nfc.debug.js", features: { ...NONE, nfc: true }, chunks: [PERSO_CHUNK] };

/** The dist file of a bundle's chunk: keycarrier.nfc.js + perso → keycarrier.nfc.perso.js (debug: keycarrier.nfc.perso.debug.js). */
export function chunkDistFile(bundle: string, chunk: ChunkSpec, debug = false): string {
  return bundle.replace(/\.js$/, "") + "." + chunk.name + (debug ? ".debug" : "") + ".js";
}

/**
 * The files a board must hold besides the bundle (`.bootcde`): each chunk file, by its Storage name,
 * with its text from `distDir` (firmware/dist). Every installer (virtual board rigs, emulate, bench,
 * calibration, `keycarrier flash`) writes these next to `.bootcde`; a bundle without chunks has none.
 * `bundle` is a bundle's release or debug file name (a path is reduced to its name); `built` says
 * which build it is when it is not the shipped bundle of that name (PERSO_CHUNKED_NFC).
 */
export function chunkFiles(distDir: string, bundle: string, built?: BundleSpec): { storageName: string; distFile: string; code: string }[] {
  const base = path.basename(bundle);
  const debug = base.endsWith(".debug.js");
  const spec = built ?? BUNDLES.find((b) => b.file === base || b.debugFile === base);
  if (!spec) return [];
  return spec.chunks.map((c) => {
    const distFile = chunkDistFile(spec.file, c, debug);
    const full = path.join(distDir, distFile);
    if (!existsSync(full)) throw new Error(`no chunk file ${full}: run \`npm run build\` (${spec.file} loads ${c.storageName} from Storage)`);
    return { storageName: c.storageName, distFile, code: readFileSync(full, "latin1") };
  });
}

export function bundleSpec(file: BundleFile): BundleSpec {
  const spec = BUNDLES.find((b) => b.file === file);
  if (!spec) throw new Error(`no bundle named ${file}; the build makes ${BUNDLES.map((b) => b.file).join(", ")}`);
  return spec;
}
