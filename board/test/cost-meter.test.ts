// CostMeter: the facts §3 "Est. 64 MHz M4" rows must come back out of the model when the
// reference programs are run instrumented, native calls are metered by kind and size, scopes
// isolate per-command cost, and a board's own calibration rows (board/boards/*.json) are used.
import { describe, expect, it } from "vitest";
import { sha256 } from "@noble/hashes/sha2.js";
import { ecb, ctr } from "@noble/ciphers/aes.js";
import { CostMeter } from "../src/cost/meter.ts";
import { runMetered } from "../src/cost/sandbox.ts";
import { FACTS_64MHZ_ROWS, JS_SCALE, REFERENCE_PROGRAMS, unitCostsFor } from "../src/cost/calibration.ts";
import { COST_GLOBAL } from "../src/cost/instrument.ts";
import { loadProfile } from "../src/profiles.ts";

/** A crypto module for the sandbox: real results (noble), and a meter.native call per call as the runtime makes. */
function meteredCrypto(meter: CostMeter) {
  const bytesOf = (m: Uint8Array | string) => (typeof m === "string" ? Uint8Array.from(m, (c) => c.charCodeAt(0)) : m);
  return {
    SHA256(m: Uint8Array | string) { const b = bytesOf(m); meter.native("SHA256", b.length); return sha256(b).buffer; },
    AES: {
      encrypt(m: Uint8Array, key: Uint8Array, opts?: { mode?: string }) {
        meter.native("AES.encrypt", m.length);
        const mode = opts?.mode ?? "CBC";
        if (mode === "ECB") return ecb(key, { disablePadding: true }).encrypt(m).buffer;
        if (mode === "CTR") return ctr(key, new Uint8Array(16)).encrypt(m).buffer;
        throw new Error(`mode ${mode} not used by this test`);
      },
    },
  };
}

/** Per-operation estimate (ms) of one reference program, measured over `n` iterations. */
function perIterationMs(name: keyof typeof REFERENCE_PROGRAMS, n: number, profile?: Parameters<CostMeter["estimate"]>[0]): { ms: number; counts: ReturnType<CostMeter["counts"]> } {
  const p = REFERENCE_PROGRAMS[name];
  const meter = new CostMeter();
  // setup is outside the scope, like the benchmark's own setup
  const { context } = runMetered(p.setup, { meter });
  const { record } = meter.measure(name, () => runMetered(`for (var i = 0; i < ${n}; i++) ${p.body}`, { meter, context }));
  // the rows give the operations' relative costs; the source text is charged apart (measured on
  // 2v29, board/calibration/real-2v29-text.json, checked by calibration-text.test.ts)
  const e = meter.estimate(profile, record.counts);
  return { ms: (e.ms - e.breakdown.text - e.breakdown.skipped) / n, counts: record.counts };
}

describe("facts §3 rows are reproduced by the model (64 MHz, Puck.js calibration)", () => {
  it("the reference programs produce the per-iteration counts the derivation assumes", () => {
    for (const name of Object.keys(REFERENCE_PROGRAMS) as (keyof typeof REFERENCE_PROGRAMS)[]) {
      const n = 50;
      const { counts } = perIterationMs(name, n);
      const per = REFERENCE_PROGRAMS[name].perIteration as Record<string, number>;
      for (const field of ["statements", "loops", "ops", "entries", "elems", "props"] as const) {
        // the for statement itself and its final test are counted once, outside the iterations
        const once = field === "statements" ? 1 : field === "ops" ? 1 : 0;
        expect(counts[field], `${name}.${field}`).toBe((per[field] ?? 0) * n + once);
      }
    }
  });

  // The rows give interpreted JS its relative costs; the firmware's JS costs JS_SCALE times them on
  // the real interpreter (fitted, cost-model.md "Calibration table"). Rows 4 and 5 disagree with
  // each other (see cost-model.md); the derivation splits the difference, so they are held to ±25%
  // and every other row to ±5%.
  const rows: [keyof typeof REFERENCE_PROGRAMS, number, number, number][] = [
    ["emptyIteration", 1000, 0.2, 0.05],
    ["fourIntOps", 1000, 0.6, 0.05],
    ["call", 1000, 0.7, 0.05],
    ["typedArrayRw", 256, 0.7, 0.25],
  ];
  for (const [name, n, tableMs, tol] of rows) {
    it(`${name}: ~${tableMs} ms × ${JS_SCALE} per iteration (±${tol * 100}%)`, () => {
      const { ms } = perIterationMs(name, n);
      expect(Math.abs(ms / (tableMs * JS_SCALE) - 1)).toBeLessThanOrEqual(tol);
    });
  }

  it("JS XOR over 256 B: ~140 ms × JS_SCALE (±25%) — far over an NFC frame", () => {
    const { ms } = perIterationMs("xor256", 256);
    expect(Math.abs((ms * 256) / (140 * JS_SCALE) - 1)).toBeLessThanOrEqual(0.25);
  });

  // Natives: the real interpreter's instruction counts (issue #10) at 1.25 cycles per instruction,
  // 64 MHz, plus the JS statement around the call (`h = c.SHA256(m)`: statement + access + assignment).
  const msOfInstructions = (n: number) => (n * 1.25) / 64_000;
  const callStatementMs = () => { const u = unitCostsFor(null); return (u.statementUs + u.propUs + u.opUs) / 1000; };
  for (const bytes of [32, 64, 256, 1024] as const) {
    const blocks = Math.floor((bytes + 8) / 64) + 1;
    it(`SHA256 of a ${bytes}-byte buffer: 20k + 5.3k × ${blocks} blocks instructions`, () => {
      const meter = new CostMeter();
      const { context } = runMetered(`var c = crypto, m = new Uint8Array(${bytes}), h;`, { meter, globals: { crypto: meteredCrypto(meter) } });
      const { record } = meter.measure("sha", () => runMetered("h = c.SHA256(m);", { meter, context }));
      expect(record.counts.native["SHA256"]).toEqual({ calls: 1, bytes, units: 0 });
      const e = meter.estimate(null, record.counts);
      expect(e.breakdown.native).toBeCloseTo(msOfInstructions(20_000 + 5_300 * blocks), 6);
      expect(e.ms - e.breakdown.native - e.breakdown.text).toBeCloseTo(callStatementMs(), 6);
    });
  }

  it("SHA256 of a 100-character string (not flat): + 75 instructions per byte", () => {
    const meter = new CostMeter();
    meter.native("SHA256", 100, 1);
    expect(meter.estimate(null).ms).toBeCloseTo(msOfInstructions(20_000 + 5_300 * 2 + 75 * 100), 6);
  });

  for (const [label, source, instructions] of [
    ["AES-128 ECB, 1 block", "r = c.AES.encrypt(m16, k, { mode: \"ECB\" });", 20_000],
    ["AES-128 CTR, 256 B", "r = c.AES.encrypt(m256, k, { mode: \"CTR\" });", 20_000 + 15 * 2_700],
  ] as const) {
    it(`${label}: ${instructions} instructions`, () => {
      const meter = new CostMeter();
      const { context } = runMetered("var c = crypto, k = new Uint8Array(16), m16 = new Uint8Array(16), m256 = new Uint8Array(256), r;", { meter, globals: { crypto: meteredCrypto(meter) } });
      const { record } = meter.measure("aes", () => runMetered(source, { meter, context }));
      expect(meter.estimate(null, record.counts).breakdown.native).toBeCloseTo(msOfInstructions(instructions), 6);
    });
  }

  it("a small E.toString is 0.7k instructions; string + 175 per byte copied", () => {
    const meter = new CostMeter();
    meter.native("E.toString", 16);
    expect(meter.estimate(null).ms).toBeCloseTo(msOfInstructions(700 + 2 * 16), 6);
    const m2 = new CostMeter();
    const ctx = runMetered("var a = 'abcdefghij', b;", { meter: m2 }).context;
    const { record } = m2.measure("cat", () => runMetered("b = a + a;", { meter: m2, context: ctx }));
    expect(record.counts.concatBytes).toBe(20);
    expect(m2.estimate(null, record.counts).breakdown.concat).toBeCloseTo(msOfInstructions(175 * 20), 6);
  });

  it("every estimate carries the 1.0–2.0 cycles-per-instruction range around its 1.25 point", () => {
    const { counts } = perIterationMs("call", 100);
    const e = new CostMeter().estimate(null, counts);
    expect(e.msRange.low).toBeCloseTo(e.ms / 1.25, 9);
    expect(e.msRange.high).toBeCloseTo((e.ms * 2) / 1.25, 9);
  });
});

describe("per-profile calibration", () => {
  it("the Puck.js profile carries the facts §3 rows, so it estimates like the defaults", () => {
    const puck = loadProfile("puckjs");
    const { counts } = perIterationMs("call", 100);
    const meter = new CostMeter();
    expect(meter.estimate(puck, counts).ms).toBeCloseTo(meter.estimate(null, counts).ms, 6);
  });

  it("the Pico (84 MHz) is faster by the clock ratio 64/84", () => {
    const pico = loadProfile("pico");
    const { counts } = perIterationMs("fourIntOps", 200);
    const meter = new CostMeter();
    const ratio = meter.estimate(pico, counts).ms / meter.estimate(null, counts).ms;
    expect(ratio).toBeGreaterThan((64 / 84) * 0.99);
    expect(ratio).toBeLessThan((64 / 84) * 1.01);
  });

  it("derived unit costs are exact for rows 1–3 (× JS_SCALE) and non-negative everywhere", () => {
    const u = unitCostsFor(null);
    expect(u.loopIterationUs + 2 * u.opUs).toBeCloseTo(FACTS_64MHZ_ROWS.statementUs * JS_SCALE, 9);
    expect(u.loopIterationUs + 7 * u.opUs + u.statementUs).toBeCloseTo(FACTS_64MHZ_ROWS.fourIntOpsIterationUs * JS_SCALE, 9);
    expect(u.loopIterationUs + 2 * u.opUs + u.statementUs + u.entryUs).toBeCloseTo(FACTS_64MHZ_ROWS.callUs * JS_SCALE, 9);
    for (const v of [u.statementUs, u.loopIterationUs, u.opUs, u.entryUs, u.elemUs, u.propUs, ...Object.values(u.native)]) expect(v).toBeGreaterThanOrEqual(0);
  });

  it("a profile without calibration rows is refused with a fix", () => {
    expect(() => new CostMeter().estimate({ id: "bare", cpu: { mhz: 64 } })).toThrow(/no costCalibration block.*schema/);
    expect(() => new CostMeter().estimate({ id: "bad", costCalibration: { ...FACTS_64MHZ_ROWS, callUs: -1 } })).toThrow(/callUs must be a non-negative number/);
  });
});

describe("CostMeter mechanics", () => {
  it("scopes nest and isolate counts, natives and flash time", () => {
    let words = 0;
    const erases = [0, 0];
    const meter = new CostMeter();
    meter.attachFlash({ wordWrites: () => words, eraseCounts: () => erases });
    const { context } = runMetered("function work(n) { var s = 0; for (var i = 0; i < n; i++) s += i; return s; }", { meter });
    meter.begin("outer");
    runMetered("work(3);", { meter, context });
    meter.native("E.CRC32", 100);
    meter.begin("inner");
    runMetered("work(5);", { meter, context });
    meter.native("SHA256", 64);
    words += 8; erases[1]! += 1;
    const inner = meter.end();
    const outer = meter.end();
    expect(inner.label).toBe("inner");
    expect(inner.counts.loops).toBe(5);
    expect(inner.counts.native).toEqual({ SHA256: { calls: 1, bytes: 64, units: 0 } });
    expect(outer.counts.loops).toBe(8);
    expect(Object.keys(outer.counts.native).sort()).toEqual(["E.CRC32", "SHA256"]);
    const est = meter.estimate(null, inner.counts);
    expect(est.breakdown.flash).toBeCloseTo((8 * 41 + 85000) / 1000, 9);
    expect(meter.lastScope("inner")).toBe(inner);
  });

  it("estimate breakdown sums to ms and names unknown native kinds", () => {
    const meter = new CostMeter();
    runMetered("var a = {x: 1}; for (var i = 0; i < 10; i++) a.x = a.x * 3 % 7;", { meter });
    meter.native("crypto.SHA256", 32);
    meter.native("Mystery.call", 10);
    const est = meter.estimate();
    const b = est.breakdown;
    const parts = b.statements + b.loops + b.ops + b.props + b.elems + b.calls + b.callSites + b.native + b.text + b.skipped + b.flash;
    expect(b.text).toBeGreaterThan(0);
    expect(parts).toBeCloseTo(est.ms, 9);
    expect(Object.values(b.nativeByKind).reduce((x, y) => x + y, 0)).toBeCloseTo(b.native, 9);
    expect(Object.keys(b.nativeByKind).sort()).toEqual(["Mystery.call", "SHA256"]);
    expect(est.unknownNativeKinds).toEqual(["Mystery.call"]);
  });

  it("measure() still records a scope when the code throws", () => {
    const meter = new CostMeter();
    expect(() => meter.measure("boom", () => runMetered("var q = 1; throw new Error('x');", { meter }))).toThrow("x");
    expect(meter.lastScope("boom")!.counts.statements).toBe(2);
    expect(() => meter.end()).toThrow(/without a matching begin/);
  });

  it("the hidden global is non-enumerable and read-only", () => {
    const meter = new CostMeter();
    const { context } = runMetered("var keys = Object.keys(this); var ok = true; try { this['__kc' + '$cost'] = 1; } catch (e) { ok = false; }", { meter });
    expect(context["keys"]).toEqual(["keys", "ok"]);
    expect((context as Record<string, unknown>)[COST_GLOBAL]).toBe(meter.hooks);
  });

  it("rejects bad native reports with a clear message", () => {
    const meter = new CostMeter();
    expect(() => meter.native("", 1)).toThrow(/kind must be a non-empty string/);
    expect(() => meter.native("SHA256", -1)).toThrow(/bytes must be a finite number/);
  });

  it("hotspots point at the hot loop's line", () => {
    const meter = new CostMeter();
    runMetered("var s = 0;\nfor (var i = 0; i < 200; i++) {\n  s = (s + i) | 0;\n}\nvar done = true;", { meter });
    expect(meter.hotspots(null, 1)[0]!.line).toBe(3);
  });
});
