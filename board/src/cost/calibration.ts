// Turns a board profile's calibration rows (facts §3, "Est. 64 MHz M4" column, one row per
// micro-benchmark) into per-operation costs for the cost model. The rows are what one measures on a
// board; the per-operation costs are derived, so re-calibrating a board means editing its rows only.
// Derivation and its assumptions: board/docs/cost-model.md.
import type { SiteCounts } from "./instrument.ts";

/** The `costCalibration` block of a board profile (board/boards/*.json); all times in µs. */
export interface CalibrationRows {
  source?: string;
  statementUs: number;            // one empty `for` iteration (facts: "~0.2 ms per simple statement")
  fourIntOpsIterationUs: number;  // one `for` iteration whose body is one statement with 4 int ops
  callUs: number;                 // one `for` iteration calling an empty JS function
  typedArrayRwUs: number;         // one `for` iteration doing one Uint8Array read + one write
  nativeCallOverheadUs: number;   // fixed cost of a native call that allocates its result (~110k instructions)
  sha256FixedUs: number;          // SHA256 call, the per-call part (includes the calling JS statement)
  sha256PerBlockUs: number;       // SHA256, per 64-byte block
  aesEcbBlockUs: number;          // AES-128 ECB of one block, whole call
  aesCtr256Us: number;            // AES-128 CTR of 256 bytes, whole call
  jsXor256Us: number;             // XOR of two 256-byte Uint8Arrays into a third in a JS loop
}

/** Facts §3 "Est. 64 MHz M4" column (Puck.js layout, 64 MHz, ~1.25 cycles/instruction, ±2×). */
export const FACTS_64MHZ_ROWS: Readonly<CalibrationRows> = Object.freeze({
  source: "facts §3 Est. 64 MHz M4 column (x86 instruction counts of a Puck-layout build at ~1.25 CPI, ±2×)",
  statementUs: 200,
  fourIntOpsIterationUs: 600,
  callUs: 700,
  typedArrayRwUs: 700,
  nativeCallOverheadUs: 2150,  // 110k instructions × 1.25 / 64 MHz
  sha256FixedUs: 2290,
  sha256PerBlockUs: 113,       // 5.8k instructions × 1.25 / 64 MHz
  aesEcbBlockUs: 3600,
  aesCtr256Us: 4400,
  jsXor256Us: 140000,
});

/**
 * The reference programs behind the rows, as per-iteration counts of
 * `for (var i = 0; i < N; i++) BODY` (the loop head adds 1 loop + 2 ops: `i < N`, `i++`).
 * board/test/cost-meter.test.ts checks that instrumenting these exact programs gives these counts.
 */
export const REFERENCE_PROGRAMS = {
  emptyIteration: { body: "{}", setup: "", perIteration: { loops: 1, ops: 2 } },
  fourIntOps: { body: "{ x = ((x + i) ^ (i << 3)) & 65535; }", setup: "var x = 0;", perIteration: { loops: 1, ops: 7, statements: 1 } },
  call: { body: "{ f(); }", setup: "function f() {}", perIteration: { loops: 1, ops: 2, statements: 1, entries: 1, callSites: 1 } },
  typedArrayRw: { body: "{ b[i] = a[i]; }", setup: "var a = new Uint8Array(256), b = new Uint8Array(256);", perIteration: { loops: 1, ops: 3, statements: 1, elems: 2 } },
  xor256: { body: "{ out[i] = a[i] ^ b[i]; }", setup: "var a = new Uint8Array(256), b = new Uint8Array(256), out = new Uint8Array(256);", perIteration: { loops: 1, ops: 4, statements: 1, elems: 3 } },
} as const;

/**
 * Cycles per instruction turning the interpreter's instruction counts (x86, same source, -Os) into
 * Cortex-M time: one stated range, used everywhere; estimates are printed at the point value and
 * the range is carried next to them (board/docs/cost-model.md "Calibration").
 */
export const CPI_RANGE = Object.freeze({ low: 1.0, point: 1.25, high: 2.0 });

/**
 * Instructions of natives, measured on the real 2v29 interpreter (issue #10; facts §8 "Time"):
 * SHA-256 20k + 5.3k per 64-byte block + 75 per input byte when the input is not a flat string;
 * AES-ECB of one block 20k (per extra block: 2.7k, from the facts §3 CTR/ECB rows); a small
 * E.toString 0.7k; string `+` 175 per byte copied. Plain natives (no result buffer) 0.4k and the
 * per-byte figures of the other natives are assumptions (not measured).
 */
export const NATIVE_INSTRUCTIONS = Object.freeze({
  sha256Fixed: 20_000, sha256PerBlock: 5_300, sha256PerNonFlatByte: 75,
  aesFirstBlock: 20_000, aesPerExtraBlock: 2_700,
  allocatingFixed: 700, plainFixed: 400,
  concatPerByte: 175,
});

/**
 * Espruino runs the source text itself: every character it lexes costs, whether the code runs or
 * not. Measured on the real 2v29 interpreter (Puck.js build, code run from memory-mapped flash,
 * callgrind; bench/calibrate/text-probes.ts, data board/calibration/real-2v29-text.json):
 * - `execPerChar`: lexing text that executes (39 more characters of identifiers in one statement,
 *   or a 100-character string literal: ≈ 155 instructions per character);
 * - `skipPerChar`: a block skipped token by token (`if (0) { … }`: jspeSkipBlock, ≈ 135);
 * - `parsePerChar`: code parsed with execution off (an untaken `?:` arm or `&&` operand, a brace-less
 *   untaken `if` body: every expression rule runs, nothing executes, ≈ 330);
 * - `createPerChar`: a function body lexed to find its end when an instance is created (≈ 127).
 * Code after a `return` costs nothing: Espruino stops parsing the function there.
 */
export const TEXT_INSTRUCTIONS = Object.freeze({ execPerChar: 155, skipPerChar: 120, parsePerChar: 290, createPerChar: 127 });

/**
 * Interpreted JS: the facts §3 rows give the relative cost of statements, operators, calls and
 * accesses; on the real interpreter the firmware's JS costs this many times what those rows say
 * (least-squares fit of boot, INFO, CHANNEL_OPEN and PAY instruction counts once the natives and
 * string copies above are charged; board/docs/cost-model.md "Calibration table").
 */
export const JS_SCALE = 1.22;

/**
 * Instructions per character of function body lexed when a function instance is created
 * (src/jsparse.c jspeFunctionDefinitionInternal matches every token up to the closing brace);
 * fitted with JS_SCALE (board/docs/cost-model.md "Calibration table").
 */
export const LEX_INSTRUCTIONS_PER_CHAR = TEXT_INSTRUCTIONS.createPerChar;

/** Per-operation costs in µs, and native costs, for one board. */
export interface UnitCosts {
  statementUs: number; loopIterationUs: number; opUs: number; entryUs: number;
  propUs: number; elemUs: number; callSiteUs: number;
  /** µs per CPU instruction (CPI_RANGE.point at the board clock), for native work given in instructions. */
  usPerInstruction: number;
  /** µs per byte copied by string `+`. */
  concatPerByteUs: number;
  /** µs per character of a function body lexed when a function instance is created. */
  lexPerCharUs: number;
  /** µs per character of source text lexed while executing, skipped as a block, parsed without executing. */
  charUs: number; skipCharUs: number; parseCharUs: number;
  /** SHA-256 per input byte when the input is not flat (a JS string). */
  sha256PerNonFlatByteUs: number;
  native: {
    allocatingFixedUs: number;    // dispatch + result allocation
    plainFixedUs: number;         // dispatch only (no result buffer)
    sha256FixedUs: number; sha256PerBlockUs: number;
    aesFixedUs: number; aesPerBlockUs: number;
  };
  flash: FlashTiming;
}

/** Physical flash times; they do not scale with the CPU clock. NOT measured (see cost-model.md). */
export interface FlashTiming { wordWriteUs: number; pageEraseUs: number; source: string }

export const NRF52_FLASH: FlashTiming = Object.freeze({
  wordWriteUs: 41, pageEraseUs: 85000,
  source: "nRF52 NVMC worst-case order of magnitude (41 µs per word, 85 ms per page) — unverified, calibrate on a board",
});
export const STM32F4_FLASH: FlashTiming = Object.freeze({
  wordWriteUs: 16, pageEraseUs: 250000,
  source: "STM32F4 16 KB sector, typical order of magnitude (16 µs per word, 250 ms per sector) — unverified, calibrate on a board",
});

/** Cycles per instruction at the point of CPI_RANGE (facts §3's 1.25 for Thumb-2 on a Cortex-M4). */
export const CYCLES_PER_INSTRUCTION = CPI_RANGE.point;

/**
 * What one call statement around a native costs in JS (`h = c.SHA256(m)`: 1 statement, 1 named
 * access, 1 assignment); the SHA/AES rows include it, so it is removed from the native part.
 */
export const NATIVE_CALL_STATEMENT: Partial<SiteCounts> = { statements: 1, props: 1, ops: 1, callSites: 1 };

/** Share of the native fixed overhead that is dispatch rather than result allocation (assumption). */
export const PLAIN_NATIVE_SHARE = 0.2;

export interface ProfileLike {
  id?: string;
  espruinoBoard?: string;
  cpu?: { mhz: number; core?: string };
  costCalibration?: CalibrationRows;
}

/** Derives per-operation costs from calibration rows; see board/docs/cost-model.md for the algebra. */
export function deriveUnitCosts(rows: CalibrationRows, clockMHz = 64, flash: FlashTiming = NRF52_FLASH): UnitCosts {
  for (const key of ["statementUs", "fourIntOpsIterationUs", "callUs", "typedArrayRwUs", "nativeCallOverheadUs",
    "sha256FixedUs", "sha256PerBlockUs", "aesEcbBlockUs", "aesCtr256Us", "jsXor256Us"] as const) {
    const v = rows[key];
    if (typeof v !== "number" || !Number.isFinite(v) || v < 0) {
      throw new Error(`costCalibration.${key} must be a non-negative number of µs, got ${String(v)}; copy the row from facts §3 or measure it on the board`);
    }
  }
  if (!(clockMHz > 0)) throw new Error(`clock must be positive MHz, got ${clockMHz}`);
  const R1 = rows.statementUs, R2 = rows.fourIntOpsIterationUs, R3 = rows.callUs, R4 = rows.typedArrayRwUs, R5 = rows.jsXor256Us / 256;
  // Assumption A (facts rule 15): a simple statement costs about what an empty iteration costs.
  const statementUs = R1;
  // Row 2 adds one statement with 5 operators (4 int ops + the assignment) to an empty iteration.
  const opUs = Math.max(0, (R2 - R1 - statementUs) / 5);
  // Row 1: an empty iteration is the loop step plus its two head operators (`i < N`, `i++`).
  const loopIterationUs = Math.max(0, R1 - 2 * opUs);
  // Row 3: a call statement on top of an empty iteration; call-site cost is folded into the entry.
  const entryUs = Math.max(0, R3 - R1 - statementUs);
  // Rows 4 and 5 disagree (the XOR does more per byte yet costs less); pick the element cost that
  // makes their relative errors equal and opposite (minimax), see cost-model.md.
  const base4 = R1 + statementUs + opUs;          // b[i] = a[i]: 1 assignment
  const base5 = R1 + statementUs + 2 * opUs;      // out[i] = a[i] ^ b[i]: assignment + xor
  const elemUs = Math.max(0, (2 - base4 / R4 - base5 / R5) / (2 / R4 + 3 / R5));
  // Assumption B: a named property access costs like a computed one (no row measures it).
  const propUs = elemUs;
  // The rows' own clock: facts §3 rows are Puck.js (64 MHz); a profile's rows are scaled to its clock.
  const usPerInstruction = CYCLES_PER_INSTRUCTION / clockMHz;
  const k = JS_SCALE;
  const n = NATIVE_INSTRUCTIONS;
  return {
    statementUs: statementUs * k, loopIterationUs: loopIterationUs * k, opUs: opUs * k, entryUs: entryUs * k,
    propUs: propUs * k, elemUs: elemUs * k, callSiteUs: 0,
    usPerInstruction,
    concatPerByteUs: n.concatPerByte * usPerInstruction,
    lexPerCharUs: LEX_INSTRUCTIONS_PER_CHAR * usPerInstruction,
    charUs: TEXT_INSTRUCTIONS.execPerChar * usPerInstruction,
    skipCharUs: TEXT_INSTRUCTIONS.skipPerChar * usPerInstruction,
    parseCharUs: TEXT_INSTRUCTIONS.parsePerChar * usPerInstruction,
    sha256PerNonFlatByteUs: n.sha256PerNonFlatByte * usPerInstruction,
    native: {
      allocatingFixedUs: n.allocatingFixed * usPerInstruction,
      plainFixedUs: n.plainFixed * usPerInstruction,
      sha256FixedUs: n.sha256Fixed * usPerInstruction,
      sha256PerBlockUs: n.sha256PerBlock * usPerInstruction,
      aesFixedUs: (n.aesFirstBlock - n.aesPerExtraBlock) * usPerInstruction,
      aesPerBlockUs: n.aesPerExtraBlock * usPerInstruction,
    },
    flash,
  };
}

/** Unit costs for a board profile (its `costCalibration` rows and `cpu.mhz`), or facts §3 at 64 MHz. */
export function unitCostsFor(profile?: ProfileLike | null): UnitCosts {
  if (!profile) return deriveUnitCosts(FACTS_64MHZ_ROWS, 64, NRF52_FLASH);
  const rows = profile.costCalibration;
  if (!rows) throw new Error(`board profile ${profile.id ?? "(unnamed)"} has no costCalibration block; add one (board/boards/schema.json)`);
  const mhz = profile.cpu?.mhz ?? 64;
  // The Pico is the only STM32 board profile; every other profile is an nRF52.
  const flash = /^PICO/.test(profile.espruinoBoard ?? "") ? STM32F4_FLASH : NRF52_FLASH;
  return deriveUnitCosts(rows, mhz, flash);
}
