// Pure parsing and formatting for the calibration tool (unit-tested without the interpreter).

/** What the build's rig hooks (scripts/real-espruino/kc-rig.patch) print on stderr. */
export type RigLine =
  | { kind: "ready" }
  | { kind: "mem"; usage: number; total: number; errorFlags: string[]; peak?: number; check?: number }
  | { kind: "press"; watched: boolean }
  | { kind: "release"; watched: boolean };

/** Espruino's JsErrorFlags bits (src/jsutils.h), as E.getErrorFlags() names them. */
const ERROR_FLAGS: [number, string][] = [[1, "FIFO_FULL"], [2, "BUFFER_FULL"], [4, "CALLBACK"], [8, "LOW_MEMORY"], [16, "MEMORY"], [32, "MEMORY_BUSY"], [64, "UART_OVERFLOW"]];

export function decodeErrorFlags(bits: number): string[] {
  return ERROR_FLAGS.filter(([b]) => (bits & b) !== 0).map(([, n]) => n);
}

/** One stderr line → a rig report, or undefined for anything else the interpreter prints. */
export function parseRigLine(line: string): RigLine | undefined {
  const t = line.replace(/\r$/, "");
  if (t === "KCRIG ready") return { kind: "ready" };
  // usage total error-flag-bits [peak check]: peak = most vars in use at once since the last report,
  // check = scan minus the running count behind peak (0 when the count is right)
  let m = /^KCRIG mem (\d+) (\d+) (\d+)(?: (\d+) (-?\d+))?$/.exec(t);
  if (m) {
    return {
      kind: "mem", usage: Number(m[1]), total: Number(m[2]), errorFlags: decodeErrorFlags(Number(m[3])),
      ...(m[4] !== undefined ? { peak: Number(m[4]), check: Number(m[5]) } : {}),
    };
  }
  m = /^KCRIG (press|release) ([01])$/.exec(t);
  if (m) return { kind: m[1] as "press" | "release", watched: m[2] === "1" };
  return undefined;
}

/** The total instruction count ("summary:" or "totals:") of one callgrind dump file. */
export function parseCallgrindTotal(text: string): number {
  const m = /^(?:summary|totals):\s*(\d+)/m.exec(text);
  if (!m) throw new Error("callgrind dump without a summary/totals line");
  return Number(m[1]);
}

export interface ProbeResult { name: string; vars: number; sizeOf: number }

/** `KCPROBE <name> <vars> <getSizeOf>` lines (board/calibration/probes.js) from a console transcript. */
export function parseProbeOutput(text: string): { probes: ProbeResult[]; finished: boolean; errors: string[] } {
  const probes: ProbeResult[] = [];
  const errors: string[] = [];
  let finished = false;
  for (const raw of text.replace(/\x1b\[J/g, "").split("\n")) {
    const line = raw.replace(/\r/g, "").replace(/^>+/, "");
    const m = /^KCPROBE (\S+) (-?\d+) (-?\d+)\s*$/.exec(line);
    if (m) probes.push({ name: m[1]!, vars: Number(m[2]), sizeOf: Number(m[3]) });
    else if (line.startsWith("KCPROBE-END")) finished = true;
    else if (/OUT OF MEMORY|Uncaught|Error/.test(line)) errors.push(line.trim());
  }
  return { probes, finished, errors };
}

export type Cell = string | number | null | undefined;

/** A plain text table (first row = header), columns padded; numbers right-aligned. */
export function formatTable(header: string[], rows: Cell[][]): string {
  const text = (c: Cell): string => (c === null || c === undefined ? "" : typeof c === "number" ? (Number.isInteger(c) ? c.toLocaleString("en-US") : c.toFixed(2)) : c);
  const cells = rows.map((r) => header.map((_, i) => text(r[i])));
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map((r) => r[i]!.length)));
  const numeric = header.map((_, i) => rows.every((r) => r[i] === null || r[i] === undefined || typeof r[i] === "number"));
  const line = (xs: string[]): string => xs.map((x, i) => (numeric[i] ? x.padStart(widths[i]!) : x.padEnd(widths[i]!))).join("  ").trimEnd();
  return [line(header), line(widths.map((w) => "-".repeat(w))), ...cells.map(line)].join("\n");
}

/** model / real as a signed percentage difference ("+12%", "−40%"), or "" when either is missing. */
export function relDiff(model: number | null | undefined, real: number | null | undefined): string {
  if (model === null || model === undefined || real === null || real === undefined || real === 0) return "";
  const d = Math.round(((model - real) / real) * 100);
  return (d > 0 ? "+" : d < 0 ? "−" : "±") + Math.abs(d) + "%";
}

export interface CliOptions { espruino: string; board: "puckjs" | "pico"; only: Set<string>; write: string | undefined; callgrind: boolean; personaliseWith: string | undefined; bundle: string | undefined }

export const CALIBRATE_USAGE = `usage: npm run calibrate -- --espruino BIN [--board puckjs|pico] [--only corpus,probes,firmware]
                           [--no-callgrind] [--personalise-with BIN2] [--bundle FILE.js] [--write FILE.json]
  --espruino BIN        a real Espruino Linux interpreter built by scripts/real-espruino/build.sh
  --board               the board profile whose pool BIN has (model side, default puckjs)
  --only                run only these parts (default all three)
  --no-callgrind        skip valgrind (no instruction counts; much faster)
  --personalise-with    a bigger-pool interpreter used only to personalise, when BIN runs out of memory
  --bundle FILE.js      the firmware bundle to measure (default firmware/dist/keycarrier.js, built if stale)
  --write FILE          also write the measured figures as JSON (board/calibration/real-*.json) and the
                        bundle measured beside it (bundle-<sha256 prefix>.js), which the tests' model runs`;

export function parseCliArgs(argv: string[]): CliOptions {
  const opts: CliOptions = { espruino: "", board: "puckjs", only: new Set(["corpus", "probes", "firmware"]), write: undefined, callgrind: true, personaliseWith: undefined, bundle: undefined };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const value = (): string => {
      const v = argv[++i];
      if (v === undefined || v.startsWith("--")) throw new Error(`${a} needs a value\n${CALIBRATE_USAGE}`);
      return v;
    };
    if (a === "--espruino") opts.espruino = value();
    else if (a === "--board") {
      const b = value();
      if (b !== "puckjs" && b !== "pico") throw new Error(`--board must be puckjs or pico, got ${b}`);
      opts.board = b;
    } else if (a === "--only") {
      const parts = value().split(",").map((s) => s.trim()).filter(Boolean);
      for (const p of parts) if (!["corpus", "probes", "firmware"].includes(p)) throw new Error(`--only: unknown part ${p} (corpus, probes, firmware)`);
      opts.only = new Set(parts);
    } else if (a === "--write") opts.write = value();
    else if (a === "--no-callgrind") opts.callgrind = false;
    else if (a === "--personalise-with") opts.personaliseWith = value();
    else if (a === "--bundle") opts.bundle = value();
    else if (a === "--help" || a === "-h") throw new Error(CALIBRATE_USAGE);
    else throw new Error(`unknown argument ${a}\n${CALIBRATE_USAGE}`);
  }
  if (!opts.espruino) throw new Error(`--espruino BIN is required\n${CALIBRATE_USAGE}`);
  return opts;
}
