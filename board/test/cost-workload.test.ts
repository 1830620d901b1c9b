// Issue 3, Done-when: "The cost model reports estimated ms and vars for a sample workload".
// A small KeyCarrier-shaped workload (boot code from Storage that builds a key table, then one
// command handler on a timer: SHA-256 of a 64-byte message, a 32-byte JS loop, a Storage record,
// a CRC) runs on a metered VirtualBoard of every profile; the figures are printed as a table.
// Method and constants: board/docs/cost-model.md. The real firmware bundle's boot is costed too.
import { beforeAll, describe, expect, it } from "vitest";
import { VirtualBoard } from "../src/virtual-board.ts";
import { CostMeter } from "../src/cost/meter.ts";
import { listProfiles } from "../src/profiles.ts";
import type { CostEstimate } from "../src/cost/meter.ts";

const WORKLOAD = [
  "var c = require('crypto'), S = require('Storage');",
  "var keys = [];",
  "for (var i = 0; i < 8; i++) keys.push(E.toUint8Array(i, i + 1, i + 2, i + 3));",
  "var seq = 0, last;",
  "function handle(msg) {",
  "  var d = new Uint8Array(c.SHA256(msg)), x = 0;",
  "  for (var j = 0; j < 32; j++) x ^= d[j];",
  "  S.write('rec' + (seq++ % 4), E.toString(d));",
  "  return E.CRC32(msg) ^ x;",
  "}",
  "setTimeout(function () { last = handle('0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef'); }, 10);",
  "",
].join("\n");

interface Figures { board: string; bootMs: number; handlerMs: number; handler: CostEstimate; vars: number; code: number; live: number; limit: number }

function runWorkload(id: string): Figures {
  const meter = new CostMeter();
  const board = new VirtualBoard({ board: id, cost: meter });
  meter.attachFlash(board.flash);
  board.storage.write(".bootcde", WORKLOAD);
  board.powerOn();
  board.advance(20);
  expect(board.transcript(), "the workload must run cleanly").toBe("");
  expect(board.evaluate("typeof last")).toEqual({ ok: true, value: "number" });
  const boot = meter.estimate(board.profile, meter.lastScope("boot")!.counts);
  const handler = meter.estimate(board.profile, meter.lastScope("timer")!.counts);
  const mem = board.memoryEstimate();
  return { board: id, bootMs: boot.ms, handlerMs: handler.ms, handler, vars: mem.total, code: mem.code, live: mem.live, limit: board.profile.vars.count };
}

function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return rows.map((r) => r.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join("  ")).join("\n");
}

describe("sample workload: estimated board ms and JsVars on every profile", () => {
  const figures: Figures[] = [];
  beforeAll(() => {
    for (const id of listProfiles()) figures.push(runWorkload(id));
    const rows = [["board", "boot ms", "handler ms", "native", "flash", "JS", "vars", "code", "live", "of"]];
    for (const f of figures) {
      const b = f.handler.breakdown;
      rows.push([f.board, f.bootMs.toFixed(2), f.handlerMs.toFixed(2), b.native.toFixed(2), b.flash.toFixed(2),
        (f.handlerMs - b.native - b.flash).toFixed(2), String(f.vars), String(f.code), String(f.live), String(f.limit)]);
    }
    console.log(`cost model, sample workload (estimates calibrated against the real interpreter; board/docs/cost-model.md):\n${table(rows)}`);
  });

  it("covers every profile, with the handler's native SHA-256 + CRC + Storage write itemised", () => {
    expect(figures.map((f) => f.board).sort()).toEqual(["nrf52840", "nrf52840-oled", "pico", "puckjs"]);
    for (const f of figures) {
      expect(Object.keys(f.handler.counts.native).sort()).toEqual(["E.CRC32", "E.toString", "SHA256", "Storage.write"]);
      expect(f.handler.counts.loops).toBe(32);
      expect(f.handler.counts.flashWordWrites).toBeGreaterThan(0);
      expect(f.handler.unknownNativeKinds).toEqual([]);
    }
  });

  it("Puck.js and nRF52840 share the 64 MHz calibration and nRF52 flash: same milliseconds", () => {
    const puck = figures.find((f) => f.board === "puckjs")!, nrf = figures.find((f) => f.board === "nrf52840")!;
    expect(nrf.handlerMs).toBeCloseTo(puck.handlerMs, 9);
    expect(nrf.bootMs).toBeCloseTo(puck.bootMs, 9);
  });

  it("the 84 MHz Pico's CPU time is the 64 MHz figure × 64/84 (its rows are scaled, rounded to 1 µs)", () => {
    const puck = figures.find((f) => f.board === "puckjs")!, pico = figures.find((f) => f.board === "pico")!;
    const cpu = (f: Figures) => f.handlerMs - f.handler.breakdown.flash;
    expect(Math.abs(cpu(pico) / cpu(puck) / (64 / 84) - 1)).toBeLessThan(0.01);
  });

  it("vars: the function instances and the live key table are counted var by var (no code-size figure); well inside every pool", () => {
    for (const f of figures) {
      expect(f.code).toBe(0); // metered: functions are counted as instances, not from the bundle size
      // "keys" 1 + array 1 + 8 × (index 1 + view 1 + ArrayBuffer 1 + 4 bytes as a chunked string 1)
      expect(f.live).toBeGreaterThan(2 + 8 * 4);
      expect(f.vars).toBeLessThan(f.limit / 4);
    }
  });
});

describe("the release firmware bundle booted from Storage on every profile", () => {
  it("reports boot ms and vars", async () => {
    const { compile } = await import("../../firmware/build/pipeline.ts");
    const { code } = await compile({ entry: "firmware/src/main.ts", minify: true });
    const rows = [["board", "bundle B", "boot ms", "vars", "of"]];
    for (const id of listProfiles()) {
      const meter = new CostMeter();
      const board = new VirtualBoard({ board: id, cost: meter, seed: 3 });
      board.storage.write(".bootcde", code);
      board.powerOn();
      expect(board.transcript()).not.toMatch(/Uncaught|OUT OF MEMORY/);
      expect(meter.skipped).toEqual([]);
      const boot = meter.estimate(board.profile, meter.lastScope("boot")!.counts);
      const mem = board.memoryEstimate();
      expect(boot.ms).toBeGreaterThan(0);
      expect(mem.code).toBe(0); // counted as function instances and scopes (cost-model.md "JsVars")
      // a blank carrier boots within every pool (the real 2,630-var interpreter: 2,502-2,545 after boot)
      expect(mem.total).toBeLessThan(board.profile.vars.count);
      rows.push([id, String(code.length), boot.ms.toFixed(2), String(mem.total), String(board.profile.vars.count)]);
    }
    console.log(`release bundle boot (estimates):\n${table(rows)}`);
  }, 30_000);
});
