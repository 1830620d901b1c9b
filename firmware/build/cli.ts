// `npm run build`: firmware/src/main.ts → the bundles of firmware/build/bundles.ts in firmware/dist,
// each release + debug (readable, same hoisting): keycarrier.js (USB link only: pico),
// keycarrier.nfc.js (+ NFC link: puckjs), keycarrier.full.js (+ offline, peer, display: nrf52840);
// plus build-report.json. Each board profile names the bundle it takes. The gate on all decides the exit code.
import { mkdirSync, readdirSync, readFileSync, writeFileSync, existsSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { compile, REPO_ROOT, type FirmwareFeatures } from "./pipeline.ts";
import { BUNDLES, chunkDistFile, type BundleFile, type BundleSpec } from "./bundles.ts";
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
  /** The largest bundle that leaves the page store its pages (largestBundleBytesV2, STORAGE.md §1); 0 when unknown. bundleBytes counts the bundle's chunk files too. */
  largestBundleBytes: number;
  bundleBytes: number;
}

/** The factory's transport key kc.tk (PROVISION: 32 B + its 32 B header), created before the store. */
export const TRANSPORT_KEY_FILE_BYTES = 32;

/**
 * The largest bundle (stored first, as .bootcde) that leaves the page store its pages (STORAGE.md §1,
 * firmware/src/store/reserve.ts): `storagePagesForStore` whole pages of Storage, behind kc.st's header
 * in the 32 B before them and a pad file of at least 36 B; before that the bundle, kc.tk and .boot0.
 * Every later write of the store goes into its own pages, so no rotation headroom and no "last page"
 * rule. Measured exact on the virtual board by firmware/test/store/pages-on-board.test.ts.
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
 * the exact room the page store needs (largestBundleBytes), which on 4 KB pages allows more than half.
 */
export const BUDGET = { varsPercent: 40, storagePercent: 50 } as const;

/** When board/boards has no profiles yet, these ids are reported (README's supported boards). */
export const DEFAULT_BOARD_IDS = ["nrf52840", "puckjs", "pico"];

export function loadBoardTargets(dir: string, estimatedVars: number, bundleBytes = 0): { boards: BoardTarget[]; source: string } {
  const files = existsSync(dir) ? readdirSync(dir).filter((f) => f.endsWith(".json") && f !== "schema.json").sort() : [];
  if (files.length === 0) {
    return { boards: DEFAULT_BOARD_IDS.map((id) => ({ id, name: id, vars: 0, varsPercent: 0, storageBytes: 0, storagePercent: 0, largestBundleBytes: 0, bundleBytes })), source: "built-in default list (no board/boards/*.json found)" };
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
      largestBundleBytes: storageBytes > 0 && pageBytes > 0 ? largestBundleBytesV2(storageBytes, pageBytes, wordBytes) : 0,
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
        out.push(`${b.id}: the bundle (${b.bundleBytes} B) is ${b.bundleBytes - b.largestBundleBytes} B over the ${b.largestBundleBytes} B that leave the page store ` +
          `its pages (STORAGE.md §1); PERSONALISE fails with STORAGE_FULL`);
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
  /** The bundle's chunk files (issue #12), each installed in Storage under storageName next to .bootcde. */
  chunks: { name: string; storageName: string; file: string; bytes: { release: number; debug: number }; crc32: number; moved: string[] }[];
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


/** Storage a bundle's chunk files take besides it: each its Espruino header + its text, word-aligned. */
export function chunkStorageBytes(chunkBytes: readonly number[], wordBytes = 4): number {
  return chunkBytes.reduce((sum, n) => sum + ESPRUINO_HEADER_BYTES + Math.ceil(n / wordBytes) * wordBytes, 0);
}

/**
 * One bundle as `npm run build` makes it, compiled in memory (test rigs and tools that do not read
 * firmware/dist): the core (`.bootcde`) and each chunk file by its Storage name.
 */
export async function compileBundleFiles(file: BundleFile | BundleSpec, release = true): Promise<{ code: string; chunks: { storageName: string; code: string }[] }> {
  const spec = typeof file === "string" ? BUNDLES.find((b) => b.file === file) : file;
  if (!spec) throw new Error(`no bundle named ${String(file)}`);
  const out = await compileWithChunks(path.join(REPO_ROOT, "firmware/src/main.ts"), spec, release);
  return { code: out.core.code, chunks: out.chunks.map((c) => ({ storageName: c.storageName, code: c.code })) };
}

/** One bundle (release or debug) with its chunk files (BundleSpec.chunks; firmware/build/chunks.ts). */
async function compileWithChunks(entry: string, b: BundleSpec, release: boolean): Promise<{ core: Awaited<ReturnType<typeof compile>>; chunks: Awaited<ReturnType<typeof compile>>["chunks"] }> {
  const core = await compile({ entry, minify: release, sourcemap: true, features: b.features, chunks: b.chunks });
  return { core, chunks: core.chunks };
}

export async function buildFirmware(opts: BuildOptions): Promise<BuildReport> {
  const started = Date.now();
  const compiled = await Promise.all(BUNDLES.map((b) => Promise.all([compileWithChunks(opts.entry, b, true), compileWithChunks(opts.entry, b, false)])));
  const takes = boardBundles(opts.boardsDir);
  const findings: BuildReport["gate"]["findings"] = [];
  const bundles: BundleReport[] = [];
  let boardsSource = "";
  const boardsById = new Map<string, BoardTarget>();
  mkdirSync(opts.outDir, { recursive: true });
  BUNDLES.forEach((b, i) => {
    const [{ core: release, chunks: releaseChunks }, { core: debug, chunks: debugChunks }] = compiled[i]!;
    findings.push(
      ...checkBundle(release.code, { map: release.map, polyfills: release.polyfills }).map((f) => ({ ...f, bundle: "release" as const, file: b.file, text: formatFinding(f) })),
      ...checkBundle(debug.code, { map: debug.map, polyfills: debug.polyfills }).map((f) => ({ ...f, bundle: "debug" as const, file: b.debugFile, text: formatFinding(f) })),
    );
    // every chunk file passes the same gate (its text is a function body: a top-level return)
    // (a test fixture entry names no chunks: releaseChunks is empty then)
    const chunkSpecs = b.chunks.filter((c) => releaseChunks.some((r) => r.name === c.name));
    chunkSpecs.forEach((c, j) => {
      for (const [kind, out] of [["release", releaseChunks[j]!], ["debug", debugChunks[j]!]] as const) {
        const file = chunkDistFile(b.file, c, kind === "debug");
        findings.push(...checkBundle(out.code, { map: out.map, polyfills: release.polyfills, functionBody: true }).map((f) => ({ ...f, bundle: kind, file, text: formatFinding(f) })));
        writeFileSync(path.join(opts.outDir, file), out.code);
        writeFileSync(path.join(opts.outDir, file + ".map"), out.map);
      }
    });
    const chunkReports = chunkSpecs.map((c, j) => ({
      name: c.name, storageName: c.storageName, file: chunkDistFile(b.file, c),
      bytes: { release: Buffer.byteLength(releaseChunks[j]!.code, "latin1"), debug: Buffer.byteLength(debugChunks[j]!.code, "latin1") },
      crc32: releaseChunks[j]!.crc32, moved: releaseChunks[j]!.moved,
    }));
    const bytes = { release: Buffer.byteLength(release.code, "latin1"), debug: Buffer.byteLength(debug.code, "latin1") };
    const vars = estimateJsVarsFromStorage(bytes.release);
    // Storage: the chunk files sit next to the bundle, each with its own header, as if the bundle were that much longer
    const targets = loadBoardTargets(opts.boardsDir, vars, release.code.length + chunkStorageBytes(chunkReports.map((c) => c.bytes.release)));
    boardsSource = targets.source;
    // A board takes the bundle its profile names (without profiles: the USB bundle).
    const mine = targets.boards.filter((t) => (takes.get(t.id) ?? "keycarrier.js") === b.file);
    for (const t of mine) boardsById.set(t.id, t);
    bundles.push({ file: b.file, nfc: b.features.nfc, features: b.features, bytes, estimatedJsVarsFromStorage: vars, polyfills: release.polyfills, boards: mine, chunks: chunkReports });
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
    console.log(
      `build: ${b.file} ${b.bytes.release} B (debug ${b.bytes.debug} B), ~${b.estimatedJsVarsFromStorage} vars from Storage` +
        (smallest ? ` (${smallest.varsPercent}% of ${smallest.id})` : "") +
        `, polyfills: ${b.polyfills.length ? b.polyfills.join(", ") : "none"}, gate: pass` + (fits ? `; for ${fits}` : "") +
        (b.chunks.length ? `; chunks (own Storage files, counted in the budget): ${b.chunks.map((c) => `${c.storageName} ${c.bytes.release} B`).join(", ")}` : ""),
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
