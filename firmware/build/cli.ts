// `npm run build`: firmware/src/main.ts → the bundles of firmware/build/bundles.ts in firmware/dist,
// each release + debug (readable, same hoisting): keycarrier.js (USB link only: pico),
// keycarrier.nfc.js (+ NFC link: puckjs), keycarrier.full.js (+ offline, peer, display: nrf52840);
// plus build-report.json. Each board profile names the bundle it takes. The gate on all decides the exit code.
import { mkdirSync, readdirSync, readFileSync, writeFileSync, existsSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { compile, REPO_ROOT, type FirmwareFeatures } from "./pipeline.ts";
import { BUNDLES, type BundleFile } from "./bundles.ts";
import { checkBundle, formatFinding, type GateFinding } from "./gate.ts";
import { creationBytes, ESPRUINO_HEADER_BYTES } from "../src/store/space.ts";
import { CONSOLE_LOCK_CODE } from "../src/security/boot-lock.ts";
import { storagePagesForStore, MIN_PAD_BYTES } from "../src/store/reserve.ts";

// Measured vars kept after running minified, function-heavy code from Storage with
// eval(require("Storage").read(f)) on the Puck.js layout (13 B vars): 5 KB → 200, 10 KB → 368,
// 20 KB → 696 (docs/espruino-facts.md §8 "Memory"). Between points we interpolate linearly; outside
// them we extend the nearest segment (≈33.6 vars/KB below 5 KB, ≈32.8 vars/KB above 20 KB).
// 1 KB = 1024 bytes.
const VARS_FROM_STORAGE: ReadonlyArray<readonly [bytes: number, vars: number]> = [
  [5 * 1024, 200],
  [10 * 1024, 368],
  [20 * 1024, 696],
];

/** Estimated JsVars the bundle keeps when run from Storage (facts §8, Puck layout). */
export function estimateJsVarsFromStorage(bytes: number): number {
  if (!Number.isFinite(bytes) || bytes < 0) throw new Error(`estimateJsVarsFromStorage: bytes must be a non-negative number, got ${bytes}`);
  const pts = VARS_FROM_STORAGE;
  let seg = 0;
  while (seg < pts.length - 2 && bytes > pts[seg + 1]![0]) seg++;
  const [x0, y0] = pts[seg]!;
  const [x1, y1] = pts[seg + 1]!;
  return Math.max(0, Math.round(y0 + ((bytes - x0) * (y1 - y0)) / (x1 - x0)));
}

export interface BoardTarget {
  id: string; name: string; vars: number; varsPercent: number;
  /** The board's Storage size, and the share of it the bundle (+ its 32-byte header) occupies. */
  storageBytes: number; storagePercent: number;
  /** The largest bundle that leaves the store its files and rotation headroom (STORAGE.md §7); 0 when unknown. */
  largestBundleBytes: number;
  /** The same for store v2 (largestBundleBytesV2), which the carrier does not run yet; 0 when unknown. */
  largestBundleBytesV2: number;
  bundleBytes: number;
}

/**
 * The carrier's store (STORAGE.md §7): the live files personalisation creates (application log,
 * verdict counter, carrier log), each 1,024 B + Espruino's 32 B header, and the rotations one power
 * cycle needs before the boot-time maintenance compacts the trash (one: a payment session that
 * rotates the application log, or a wipe). Before them, right after the bundle, the factory's
 * transport key kc.tk (PROVISION: 32 B + its 32 B header), then the boot lock .boot0 (PERSONALISE).
 */
export const STORE_FILE_BYTES = 1024;
export const TRANSPORT_KEY_FILE_BYTES = 32;
export const STORE_LIVE_FILES = 3;
export const STORE_ROTATIONS_PER_BOOT = 1;

/**
 * The largest bundle (stored first, as .bootcde) with which every file the store creates still has
 * its Espruino header below the last page (space.ts canCreate): the bundle takes align4(bytes) + 32,
 * then the factory's transport key kc.tk PROVISION writes (32 B + its 32 B header), the boot lock
 * `.boot0` PERSONALISE writes before any key (SECURITY.md §7: 32 + align4 of its code), each store
 * file 1,056 B after them, and the last header must start before the last page.
 * Measured equal on the virtual board by firmware/test/store/capacity.test.ts.
 */
export function largestBundleBytes(storageBytes: number, pageBytes: number, creations = STORE_LIVE_FILES + STORE_ROTATIONS_PER_BOOT, wordBytes = 4): number {
  const lastPage = storageBytes - pageBytes;
  const lastHeaderBefore = lastPage - ESPRUINO_HEADER_BYTES - creationBytes(TRANSPORT_KEY_FILE_BYTES) - creationBytes(CONSOLE_LOCK_CODE.length)
    - (creations - 1) * creationBytes(STORE_FILE_BYTES);
  // aligned bundle end + 32 + kc.tk (64) + .boot0 (112) + (n-1) × 1,056 < lastPage
  const largest = Math.floor((lastHeaderBefore - 1) / wordBytes) * wordBytes;
  return largest > 0 ? largest : 0;
}

/**
 * The same budget for store v2 (STORAGE.md §A1, firmware/src/store/reserve.ts), which the build will
 * check once the carrier runs on it (today it runs on v1, above): the store's pages are the last
 * `storagePagesForStore` pages of Storage, behind kc.st's header in the 32 B before them and a pad
 * file of at least 36 B; before that the bundle, kc.tk and .boot0. Every later write goes into the
 * store's own pages, so no rotation headroom and no "last page" rule: nothing but these files is ever
 * created in Storage after personalisation.
 *   align4(bundle) + 32 + 64 (kc.tk) + 112 (.boot0) + 36 (smallest pad) + 32 (kc.st) ≤ Storage − pages × page
 */
export function largestBundleBytesV2(storageBytes: number, pageBytes: number, wordBytes = 4): number {
  const storeStart = storageBytes - storagePagesForStore(storageBytes, pageBytes) * pageBytes;
  const largest = storeStart - ESPRUINO_HEADER_BYTES - MIN_PAD_BYTES - creationBytes(CONSOLE_LOCK_CODE.length) - creationBytes(TRANSPORT_KEY_FILE_BYTES) - ESPRUINO_HEADER_BYTES;
  const aligned = Math.floor(largest / wordBytes) * wordBytes;
  return aligned > 0 ? aligned : 0;
}

/**
 * Budgets from the brief: idle memory ≤ 40% of the board's vars (code alone must leave room for
 * state), and the bundle should leave at least half of Storage to the record store and its A/B files.
 * The build warns on the Storage share only for a profile without a page size; otherwise it checks
 * the exact room the store needs (largestBundleBytes), which on 4 KB pages allows more than half.
 */
export const BUDGET = { varsPercent: 40, storagePercent: 50 } as const;

/** When board/boards has no profiles yet, these ids are reported (README's supported boards). */
export const DEFAULT_BOARD_IDS = ["nrf52840", "puckjs", "pico"];

export function loadBoardTargets(dir: string, estimatedVars: number, bundleBytes = 0): { boards: BoardTarget[]; source: string } {
  const files = existsSync(dir) ? readdirSync(dir).filter((f) => f.endsWith(".json") && f !== "schema.json").sort() : [];
  if (files.length === 0) {
    return { boards: DEFAULT_BOARD_IDS.map((id) => ({ id, name: id, vars: 0, varsPercent: 0, storageBytes: 0, storagePercent: 0, largestBundleBytes: 0, largestBundleBytesV2: 0, bundleBytes })), source: "built-in default list (no board/boards/*.json found)" };
  }
  const boards = files.map((file) => {
    const full = path.join(dir, file);
    let json: { id?: unknown; name?: unknown; vars?: unknown; storage?: { bytes?: unknown; pageBytes?: unknown; wordBytes?: unknown } };
    try {
      json = JSON.parse(readFileSync(full, "utf8"));
    } catch (err) {
      throw new Error(`build: board profile ${full} is not valid JSON (${(err as Error).message}); fix or remove it`);
    }
    if (typeof json.id !== "string") throw new Error(`build: board profile ${full} has no string "id"`);
    // Profiles state vars as a count or as { count, bytesPerVar }.
    const vars = typeof json.vars === "number" ? json.vars : typeof (json.vars as { count?: unknown })?.count === "number" ? (json.vars as { count: number }).count : 0;
    const name = typeof json.name === "string" ? json.name : json.id;
    const storageBytes = typeof json.storage?.bytes === "number" ? json.storage.bytes : 0;
    const pageBytes = typeof json.storage?.pageBytes === "number" ? json.storage.pageBytes : 0;
    const wordBytes = typeof json.storage?.wordBytes === "number" ? json.storage.wordBytes : 4;
    return {
      id: json.id, name, vars, varsPercent: percent(estimatedVars, vars),
      storageBytes, storagePercent: percent(bundleBytes > 0 ? bundleBytes + 32 : 0, storageBytes),
      largestBundleBytes: storageBytes > 0 && pageBytes > 0 ? largestBundleBytes(storageBytes, pageBytes, undefined, wordBytes) : 0,
      largestBundleBytesV2: storageBytes > 0 && pageBytes > 0 ? largestBundleBytesV2(storageBytes, pageBytes, wordBytes) : 0,
      bundleBytes,
    };
  });
  return { boards, source: path.relative(REPO_ROOT, dir) };
}

function percent(part: number, whole: number): number {
  return whole > 0 ? Math.round((part / whole) * 1000) / 10 : 0;
}

/** One line per board whose budget the bundle exceeds (empty when all fit). */
export function budgetWarnings(boards: BoardTarget[]): string[] {
  const out: string[] = [];
  for (const b of boards) {
    if (b.vars > 0 && b.varsPercent > BUDGET.varsPercent) out.push(`${b.id}: code alone keeps ~${b.varsPercent}% of ${b.vars} vars (budget ${BUDGET.varsPercent}%)`);
    // Storage: the exact room the store needs when the profile gives its page size, else the share
    if (b.largestBundleBytes > 0) {
      if (b.bundleBytes > b.largestBundleBytes) {
        out.push(`${b.id}: the bundle (${b.bundleBytes} B) is ${b.bundleBytes - b.largestBundleBytes} B over the ${b.largestBundleBytes} B that leave the store its ` +
          `${STORE_LIVE_FILES} files + ${STORE_ROTATIONS_PER_BOOT} rotation with no file header in the last page (STORAGE.md §7); personalisation or the first rotation fails with STORAGE_FULL`);
      }
    } else if (b.storageBytes > 0 && b.storagePercent > BUDGET.storagePercent) out.push(`${b.id}: the bundle fills ${b.storagePercent}% of ${b.storageBytes} B of Storage (budget ${BUDGET.storagePercent}%)`);
  }
  return out;
}

/** Each board id and the bundle its profile says it takes ("firmware"; without profiles: none). */
export function boardBundles(dir: string): Map<string, string> {
  const ids = new Map<string, string>();
  if (!existsSync(dir)) return ids;
  for (const file of readdirSync(dir).filter((f) => f.endsWith(".json") && f !== "schema.json")) {
    const json = JSON.parse(readFileSync(path.join(dir, file), "utf8")) as { id?: unknown; firmware?: unknown };
    if (typeof json.id === "string" && typeof json.firmware === "string") ids.set(json.id, json.firmware);
  }
  return ids;
}

/** One bundle of the build: its file in firmware/dist and the boards that take it, checked against its size. */
export interface BundleReport {
  file: BundleFile;
  nfc: boolean;
  features: FirmwareFeatures;
  bytes: { release: number; debug: number };
  estimatedJsVarsFromStorage: number;
  polyfills: string[];
  boards: BoardTarget[];
}

export interface BuildReport {
  entry: string;
  /** keycarrier.js (the USB-only bundle, the default release); bundles[] has both. */
  bytes: { release: number; debug: number };
  estimatedJsVarsFromStorage: number;
  estimateNote: string;
  polyfills: string[];
  bundles: BundleReport[];
  /** Every board, each checked against the bundle it takes (bundles[].boards). */
  boards: BoardTarget[];
  boardsSource: string;
  budget: { varsPercent: number; storagePercent: number; warnings: string[] };
  gate: { verdict: "pass" | "fail"; findings: (GateFinding & { bundle: "release" | "debug"; file: string; text: string })[] };
  buildMs: number;
}

export interface BuildOptions { entry: string; outDir: string; boardsDir: string }


export async function buildFirmware(opts: BuildOptions): Promise<BuildReport> {
  const started = Date.now();
  const compiled = await Promise.all(BUNDLES.map((b) => Promise.all([
    compile({ entry: opts.entry, minify: true, sourcemap: true, features: b.features }),
    compile({ entry: opts.entry, minify: false, sourcemap: true, features: b.features }),
  ])));
  const takes = boardBundles(opts.boardsDir);
  const findings: BuildReport["gate"]["findings"] = [];
  const bundles: BundleReport[] = [];
  let boardsSource = "";
  const boardsById = new Map<string, BoardTarget>();
  mkdirSync(opts.outDir, { recursive: true });
  BUNDLES.forEach((b, i) => {
    const [release, debug] = compiled[i]!;
    findings.push(
      ...checkBundle(release.code, { map: release.map, polyfills: release.polyfills }).map((f) => ({ ...f, bundle: "release" as const, file: b.file, text: formatFinding(f) })),
      ...checkBundle(debug.code, { map: debug.map, polyfills: debug.polyfills }).map((f) => ({ ...f, bundle: "debug" as const, file: b.debugFile, text: formatFinding(f) })),
    );
    const bytes = { release: Buffer.byteLength(release.code, "latin1"), debug: Buffer.byteLength(debug.code, "latin1") };
    const vars = estimateJsVarsFromStorage(bytes.release);
    const targets = loadBoardTargets(opts.boardsDir, vars, release.code.length);
    boardsSource = targets.source;
    // A board takes the bundle its profile names (without profiles: the USB bundle).
    const mine = targets.boards.filter((t) => (takes.get(t.id) ?? "keycarrier.js") === b.file);
    for (const t of mine) boardsById.set(t.id, t);
    bundles.push({ file: b.file, nfc: b.features.nfc, features: b.features, bytes, estimatedJsVarsFromStorage: vars, polyfills: release.polyfills, boards: mine });
    writeFileSync(path.join(opts.outDir, b.file), release.code);
    writeFileSync(path.join(opts.outDir, b.file + ".map"), release.map);
    writeFileSync(path.join(opts.outDir, b.debugFile), debug.code);
    writeFileSync(path.join(opts.outDir, b.debugFile + ".map"), debug.map);
  });
  const usb = bundles[0]!;
  const boards = loadBoardTargets(opts.boardsDir, 0).boards.map((t) => boardsById.get(t.id)!);
  const report: BuildReport = {
    entry: path.relative(REPO_ROOT, path.resolve(opts.entry)),
    bytes: usb.bytes,
    estimatedJsVarsFromStorage: usb.estimatedJsVarsFromStorage,
    estimateNote: "vars kept after eval(require('Storage').read(f)) of the release bundle, Puck.js layout; linear in docs/espruino-facts.md §8 points 5KB→200, 10KB→368, 20KB→696",
    polyfills: usb.polyfills,
    bundles,
    boards,
    boardsSource,
    budget: { ...BUDGET, warnings: budgetWarnings(boards) },
    gate: { verdict: findings.length === 0 ? "pass" : "fail", findings },
    buildMs: Date.now() - started,
  };
  writeFileSync(path.join(opts.outDir, "build-report.json"), JSON.stringify(report, null, 2) + "\n");
  return report;
}

async function main(): Promise<number> {
  const report = await buildFirmware({
    entry: path.join(REPO_ROOT, "firmware/src/main.ts"),
    outDir: path.join(REPO_ROOT, "firmware/dist"),
    boardsDir: path.join(REPO_ROOT, "board/boards"),
  });
  if (report.gate.verdict === "fail") {
    // The release and debug bundles usually report the same TS position; print each once.
    const lines = [...new Set(report.gate.findings.map((f) => f.text))];
    for (const line of lines) console.error(line);
    console.error(`build: the compatibility gate found ${lines.length} problem(s); firmware/dist/build-report.json has the details`);
    return 1;
  }
  for (const b of report.bundles) {
    const smallest = b.boards.filter((t) => t.vars > 0).sort((x, y) => x.vars - y.vars)[0];
    const fits = b.boards.map((t) => t.largestBundleBytes > 0 ? `${t.id} ≤ ${t.largestBundleBytes} B` : t.id).join(", ");
    const fitsV2 = b.boards.filter((t) => t.largestBundleBytesV2 > 0).map((t) => `${t.id} ≤ ${t.largestBundleBytesV2} B`).join(", ");
    console.log(
      `build: ${b.file} ${b.bytes.release} B (debug ${b.bytes.debug} B), ~${b.estimatedJsVarsFromStorage} vars from Storage` +
        (smallest ? ` (${smallest.varsPercent}% of ${smallest.id})` : "") +
        `, polyfills: ${b.polyfills.length ? b.polyfills.join(", ") : "none"}, gate: pass` + (fits ? `; for ${fits}` : "") +
        (fitsV2 ? ` (with store v2, STORAGE.md §A1: ${fitsV2})` : ""),
    );
  }
  console.log(`build: ${report.bundles.length} bundles in ${report.buildMs} ms`);
  for (const w of report.budget.warnings) console.warn(`build: over budget: ${w}`);
  return 0;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main().then(
    (code) => process.exit(code),
    (err: unknown) => {
      console.error(`build: ${err instanceof Error ? err.message : String(err)}`);
      process.exit(1);
    },
  );
}
