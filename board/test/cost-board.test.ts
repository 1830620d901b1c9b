// The cost model wired to the real VirtualBoard through its public hooks: the board calls
// meter.native() from its natives and meter.install() on each fresh context. Code handed to
// board.evaluate() already instrumented with meter.prepare() (as the bench does) is not
// instrumented a second time. The runtime wiring itself: cost-runtime.test.ts.
import { describe, expect, it } from "vitest";
import { VirtualBoard } from "../src/virtual-board.ts";
import { loadProfile } from "../src/profiles.ts";
import { CostMeter } from "../src/cost/meter.ts";
import { nfcFrameVerdict, NFC_FRAME_BUDGET_MS } from "../src/cost/nfc-budget.ts";
import { estimateVars, globalNames } from "../src/cost/vars.ts";
import { NfcLateReply } from "../src/runtime/nfc.ts";

function meteredBoard(id: string) {
  const meter = new CostMeter();
  const board = new VirtualBoard({ board: id, cost: meter });
  board.powerOn();
  meter.attachFlash(board.flash);
  const run = (src: string) => {
    const r = board.evaluate(meter.prepare(src, "test"));
    if (!r.ok) throw r.error;
    return r.value;
  };
  return { meter, board, run };
}

describe("CostMeter on the VirtualBoard", () => {
  it("a native SHA256 of 32 bytes costs its measured 25.3k instructions (~0.49 ms) on the Puck.js", () => {
    const { meter, run } = meteredBoard("puckjs");
    run("var c = require('crypto'), m = new Uint8Array(32), h;");
    const { record } = meter.measure("sha", () => run("h = c.SHA256(m);"));
    expect(record.counts.native["SHA256"]).toEqual({ calls: 1, bytes: 32, units: 0 });
    // issue #10: 20k + 5.3k per 64-byte block, at 1.25 cycles per instruction and 64 MHz
    expect(meter.estimate(loadProfile("puckjs"), record.counts).breakdown.native).toBeCloseTo((25_300 * 1.25) / 64_000, 6);
  });

  it("Storage writes reach the flash model and are charged as flash time", () => {
    const { meter, run } = meteredBoard("puckjs");
    const { record } = meter.measure("store", () => run("require('Storage').write('rec', 'abcdefgh');"));
    expect(record.counts.native["Storage.write"]?.calls).toBe(1);
    expect(record.counts.flashWordWrites).toBeGreaterThan(0);
    expect(meter.estimate(loadProfile("puckjs"), record.counts).breakdown.flash).toBeGreaterThan(0);
  });

  // The board opens one "NFCrx" scope per frame and judges the reply at the moment of nfcSend
  // (nfcFrameVerdict); a late reply is rejected as no reply (NfcLateReply).
  async function nfcTiming(handler: string, frameBytes: number) {
    const { meter, board, run } = meteredBoard("puckjs");
    run(`var c = require('crypto'), key = new Uint8Array(16), pad = new Uint8Array(256), out = new Uint8Array(256);
      NRF.on('NFCrx', ${handler});
      NRF.nfcStart();`);
    board.nfc.fieldOn();
    const outcome = await board.nfc.transceive(new Uint8Array(frameBytes).fill(7)).then((reply) => ({ reply, error: undefined }), (error: unknown) => ({ reply: undefined, error }));
    const frame = meter.lastScope("NFCrx")!;
    return { ...outcome, board, verdict: nfcFrameVerdict(meter, loadProfile("puckjs"), frame) };
  }

  it("NFCrx: a handler that XORs the frame in JS misses the 4.8 ms frame delay", async () => {
    const { error, verdict, board } = await nfcTiming("function (ab) { var f = new Uint8Array(ab); for (var i = 0; i < f.length; i++) out[i] = f[i] ^ pad[i]; NRF.nfcSend(out.subarray(0, 4)); }", 255);
    expect(error).toBeInstanceOf(NfcLateReply);
    expect(verdict.inTime).toBe(false);
    expect(verdict.ms).toBeGreaterThan(100);
    expect(board.costEvents().map((e) => e.kind)).toEqual(["nfc-late"]);
  });

  it("NFCrx: a lean handler around one native AES block makes it, with more than 3 ms to spare", async () => {
    const { reply, verdict, board } = await nfcTiming("function (ab) { NRF.nfcSend(c.AES.encrypt(ab, key, { mode: 'ECB' })); }", 16);
    expect(reply?.length).toBe(16);
    expect(verdict.inTime, JSON.stringify(verdict.estimate.breakdown)).toBe(true);
    // the AES block is 20k instructions (0.39 ms); the rest is the handler's JS
    expect(verdict.ms).toBeLessThan(NFC_FRAME_BUDGET_MS - 3);
    expect(verdict.estimate.breakdown.nativeByKind["AES.encrypt"]).toBeCloseTo((20_000 * 1.25) / 64_000, 6);
    expect(board.costEvents()).toEqual([]);
  });

  it("NFCrx: a 16-step JS loop before the same AES block misses it", async () => {
    const { error, verdict } = await nfcTiming("function (ab) { var f = new Uint8Array(ab), s = 0; for (var i = 0; i < 16; i++) s += f[i]; var r = c.AES.encrypt(f, key, { mode: 'ECB' }); NRF.nfcSend(r); }", 16);
    expect(error).toBeInstanceOf(NfcLateReply);
    expect(verdict.inTime, JSON.stringify(verdict.estimate.breakdown)).toBe(false);
  });

  it("estimateVars sees the firmware's globals on the board", () => {
    const { board, run } = meteredBoard("puckjs");
    const runtimeGlobals = globalNames(board.globalObject());
    run("var table = []; for (var i = 0; i < 100; i++) table.push(i * 1000);");
    const est = estimateVars(board.globalObject(), { profile: loadProfile("puckjs"), exclude: runtimeGlobals, codeBytes: 5 * 1024 });
    // "table" (5 chars: 2) + array 1 + 100 index names + 97 values beyond the 12-bit inline range
    // (0, 1000 and 2000 fit in their names: jsvMakeIntoVariableName) + "i" 1
    expect(est.live).toBe(2 + 1 + 100 + 97 + 1);
    expect(est.total).toBe(est.live + est.code);
  });
});

describe("the real firmware bundle, instrumented", () => {
  it("boots with the same console output as the plain bundle and gets a boot-time estimate", async () => {
    const { compile } = await import("../../firmware/build/pipeline.ts");
    const { code } = await compile({ entry: "firmware/src/main.ts", minify: true });
    const boot = (instrumented: boolean) => {
      const meter = new CostMeter();
      const board = new VirtualBoard({ board: "puckjs", cost: meter, seed: 3 });
      board.powerOn();
      const r = board.evaluate(instrumented ? meter.prepare(code, ".bootcde") : code);
      return { ok: r.ok, out: board.transcript(), meter };
    };
    const plain = boot(false), metered = boot(true);
    expect(metered.ok).toBe(plain.ok);
    expect(metered.out).toBe(plain.out);
    expect(metered.meter.skipped).toEqual([]);
    const est = metered.meter.estimate(loadProfile("puckjs"));
    expect(est.counts.entries).toBeGreaterThan(0);
    expect(est.ms).toBeGreaterThan(1);
  }, 30_000);
});
