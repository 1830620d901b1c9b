// The cost model wired inside the VirtualBoard runtime (board/docs/cost-model.md "Wiring"): every
// source the board compiles is instrumented, every event-loop entry gets a cost scope, NFCrx replies
// are judged against the frame delay, and the var pool is enforced (facts §8 out-of-memory).
import { describe, expect, it } from "vitest";
import { VirtualBoard } from "../src/virtual-board.ts";
import { CostMeter } from "../src/cost/meter.ts";
import { NfcLateReply } from "../src/runtime/nfc.ts";

function metered(id = "puckjs", setup?: (b: VirtualBoard) => void) {
  const meter = new CostMeter();
  const board = new VirtualBoard({ board: id, cost: meter });
  setup?.(board);
  board.powerOn();
  const ms = (label: string) => {
    const rec = meter.lastScope(label);
    if (!rec) throw new Error(`no "${label}" scope recorded; scopes: ${meter.scopes.map((s) => s.label).join(", ")}`);
    return meter.estimate(board.profile, rec.counts).ms;
  };
  return { meter, board, ms };
}

describe("cost scopes per event-loop entry", () => {
  it("boot code from Storage is instrumented (Storage keeps the original bytes) and costed as 'boot'", () => {
    const boot = "var n = 0;\nfor (var i = 0; i < 10; i++) n += i;\nE.on('init', function () { n++; });\n";
    const { meter, board, ms } = metered("puckjs", (b) => b.storage.write(".bootcde", boot));
    expect(board.storage.read(".bootcde")).toBe(boot);
    const rec = meter.lastScope("boot")!;
    expect(rec.counts.loops).toBe(10);
    expect(rec.counts.entries).toBe(1); // the init handler ran inside the boot scope
    expect(ms("boot")).toBeGreaterThan(2);
    expect(meter.skipped).toEqual([]);
  });

  it("evaluate, function and string timers, USB data and setWatch each get their own scope", () => {
    const { meter, board } = metered("nrf52840");
    board.evaluate(`LoopbackA.setConsole();
      USB.on('data', function (d) { for (var i = 0; i < d.length; i++) {} });
      setTimeout(function () { var a = 1; }, 10);
      setTimeout("var s = 2; s++;", 20);
      setWatch(function (e) { digitalWrite(LED1, e.state); }, BTN1, { repeat: true, edge: 'both', debounce: 0 });`);
    expect(meter.lastScope("eval")!.counts.statements).toBe(5);
    board.advance(25);
    const timers = meter.scopes.filter((s) => s.label === "timer");
    expect(timers.map((t) => t.counts.statements)).toEqual([1, 2]);
    board.usb.write("abcd");
    expect(meter.lastScope("USB.data")!.counts.loops).toBe(4);
    board.pressButton(1);
    board.advance(1);
    expect(meter.lastScope("watch")!.counts.native).toEqual({});
    expect(meter.lastScope("watch")!.counts.entries).toBe(1);
    expect(meter.skipped).toEqual([]);
  });

  it("modules from Storage and the firmware's eval are instrumented too", () => {
    const { meter, board } = metered();
    board.storage.write("lib", "exports.sum = function (n) { var s = 0; for (var i = 0; i < n; i++) s += i; return s; };");
    expect(board.evaluate("require('lib').sum(7)")).toEqual({ ok: true, value: 21 });
    expect(meter.lastScope("eval")!.counts.loops).toBe(7);
    expect(board.evaluate("eval('for (var j = 0; j < 3; j++) {} j')")).toEqual({ ok: true, value: 3 });
    expect(meter.lastScope("eval")!.counts.loops).toBe(3);
  });

  it("code the caller already instrumented is not instrumented twice", () => {
    const { meter, board } = metered();
    expect(board.evaluate(meter.prepare("var q = 1 + 2; q", "test"))).toEqual({ ok: true, value: 3 });
    expect(meter.skipped).toEqual([]);
    expect(meter.lastScope("eval")!.counts.statements).toBe(2);
  });

  it("without a meter nothing is instrumented (function text is the original)", () => {
    const board = new VirtualBoard({ board: "puckjs" });
    board.powerOn();
    expect(board.evaluate("(function () { return 1; }).toString()")).toEqual({ ok: true, value: "function () { return 1; }" });
  });
});

describe("NFCrx replies against the 4.8 ms frame delay", () => {
  async function frame(handler: string) {
    const { meter, board } = metered("puckjs");
    board.evaluate(`var c = require('crypto'), key = new Uint8Array(16); NRF.on('NFCrx', ${handler}); NRF.nfcStart();`);
    board.nfc.fieldOn();
    const t0 = board.now();
    const result = await board.nfc.transceive(Uint8Array.of(0x30, 4)).then((r) => r, (e: unknown) => e);
    return { meter, board, result, elapsed: board.now() - t0 };
  }

  it("a late reply is no reply: NfcLateReply, a console line and a cost event", async () => {
    const { board, result, elapsed } = await frame("function (ab) { var x = 0; for (var i = 0; i < 50; i++) x ^= i; NRF.nfcSend([x]); }");
    expect(result).toBeInstanceOf(NfcLateReply);
    expect((result as NfcLateReply).estimatedMs).toBeGreaterThan(4.8);
    expect(board.transcript()).toMatch(/\[virtual board\] NFC reply estimated at \d+\.\d\d ms on puckjs, after the 4.8 ms frame delay/);
    const events = board.costEvents();
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ kind: "nfc-late", budgetMs: 4.8 });
    expect(elapsed).toBeGreaterThanOrEqual(4.8); // the reader waited out the frame delay
  });

  it("work after nfcSend does not delay the reply: only the time up to the reply counts", async () => {
    const { result, meter, board } = await frame("function (ab) { NRF.nfcSend(0xA); var x = 0; for (var i = 0; i < 50; i++) x ^= i; }");
    expect(result).toBeInstanceOf(Uint8Array);
    expect((result as Uint8Array & { ack4?: number }).ack4).toBe(0xa);
    expect(meter.estimate(board.profile, meter.lastScope("NFCrx")!.counts).ms).toBeGreaterThan(4.8); // the whole handler
    expect(board.costEvents()).toEqual([]);
  });
});

describe("out of memory (facts §8)", () => {
  // Puck.js: 2,630 vars. Each pushed double costs a name var plus a value var.
  const fill = "var big = []; for (var i = 0; i < 3000; i++) big.push(i + 0.5);";

  it("interrupts the running code, prints OUT OF MEMORY, sets the MEMORY flag; the event loop carries on", () => {
    const { board } = metered();
    // touch the builtins the checks below use first (Array.prototype, E): their first use costs vars,
    // which on a full pool would fail again and set the flag anew, as on a board
    board.evaluate("setTimeout(function () { print('timer still runs'); }, 50); [].join(); E.getErrorFlags();");
    const r = board.evaluate(`try { ${fill} print('loop finished'); } catch (e) { print('caught'); }`);
    expect(r.ok).toBe(false);
    const out = board.transcript();
    expect(out).toContain("OUT OF MEMORY\r\n");
    expect(out).not.toContain("loop finished");
    expect(out).not.toContain("caught"); // an interrupt, not a catchable exception
    expect(out).not.toContain("Uncaught");
    const i = board.evaluate("big.length");
    expect(i.ok && (i.value as number) < 3000).toBe(true);
    expect(board.evaluate("E.getErrorFlags().join()")).toEqual({ ok: true, value: "MEMORY" });
    expect(board.evaluate("E.getErrorFlags().length")).toEqual({ ok: true, value: 0 }); // read and cleared
    expect(board.costEvents().map((e) => e.kind)).toEqual(["out-of-memory"]);
    // the pool stays full: the interrupted loop's array is still held (within 2 vars: the sample
    // that raised the interrupt ran mid-statement)
    const free = board.evaluate("process.memory().free");
    expect(free.ok && (free.value as number) <= 2).toBe(true);
    board.advance(60);
    expect(board.transcript()).toContain("timer still runs");
  });

  it("native calls after the interrupt fail too, and the interrupt ends with the entry", () => {
    const { board } = metered();
    board.evaluate(`try { ${fill} } catch (e) { } finally { E.CRC32('x'); print('finally ran'); }`);
    expect(board.transcript()).not.toContain("finally ran");
    board.evaluate("big = undefined;");
    expect(board.evaluate("E.CRC32('a')")).toEqual({ ok: true, value: 0xe8b7be43 }); // CRC-32("a"), standard check value
  });

  it("inside a promise job: interrupted too, with no 'Unhandled promise rejection' for the interrupt", () => {
    const { board } = metered();
    // a global (the estimate walks globals; a function's locals are invisible to it)
    board.evaluate(`var big; Promise.resolve().then(function () { big = []; for (var i = 0; i < 3000; i++) big.push(i + 0.5); print('job finished'); }).then(function () { print('next job'); });`);
    const out = board.transcript();
    expect(out).toContain("OUT OF MEMORY\r\n");
    expect(out).not.toMatch(/job finished|next job|Unhandled/);
    expect(board.evaluate("1 + 1")).toEqual({ ok: true, value: 2 });
  });

  it("is not enforced without a meter (no estimate is made)", () => {
    const board = new VirtualBoard({ board: "puckjs" });
    board.powerOn();
    expect(board.evaluate(`${fill} big.length`)).toEqual({ ok: true, value: 3000 });
    expect(board.transcript()).not.toContain("OUT OF MEMORY");
  });

  it("a bigger board (nRF52840, 12,500 vars) holds the same data", () => {
    const { board } = metered("nrf52840");
    expect(board.evaluate(`${fill} big.length`)).toEqual({ ok: true, value: 3000 });
    expect(board.memoryEstimate().total).toBeGreaterThan(6000);
  });
});
