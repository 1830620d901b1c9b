// Ctrl-C on the device timeline (board/src/runtime/ctrl-c.ts, facts §6): a 0x03 written with
// {atMs} meets the receive IRQ at that device ms inside metered code; SysTick promotes the flag.
import { describe, expect, it } from "vitest";
import { VirtualBoard } from "../src/virtual-board.ts";
import { BoardConsole } from "../src/console/attach.ts";
import { CostMeter } from "../src/cost/meter.ts";
import { CtrlCFlag, sysTickMs } from "../src/runtime/ctrl-c.ts";

const TICK = sysTickMs("NRF52840DK", 64); // 2^24 cycles at 64 MHz

// A boot file that runs for about `ms` device ms (a counted loop), printing when it gets through.
const slowBoot = (loops: number, extra = "") => `${extra}var n = 0; for (var i = 0; i < ${loops}; i++) { n = n + i; } print("boot done");`;

function metered(bootcde: string, opts: { attach?: boolean } = {}) {
  const meter = new CostMeter();
  const board = new VirtualBoard({ board: "nrf52840", seed: 5, cost: meter });
  board.storage.write(".bootcde", bootcde);
  meter.startClock(board.profile);
  const bc = opts.attach === false ? undefined : new BoardConsole(board, { banner: false });
  return { board, meter, bc };
}

describe("Ctrl-C flag (SysTick promotion)", () => {
  it("is WAIT from the first SysTick after it was set and INTERRUPTED one tick later", () => {
    expect(TICK).toBeCloseTo(262.144, 3);
    const f = new CtrlCFlag(TICK);
    expect(f.state(100)).toBe("none");
    f.set(10);
    f.set(200); // a second Ctrl-C before it is handled changes nothing
    expect(f.state(262)).toBe("ctrl-c");
    expect(f.state(263)).toBe("wait");
    expect(f.state(2 * TICK)).toBe("interrupted");
    f.clear();
    expect(f.state(1000)).toBe("none");
  });
});

describe("Ctrl-C inside running boot code", () => {
  it("a loop still running one SysTick after the Ctrl-C enters the debugger; the REPL is left on USB", () => {
    const { board, meter, bc } = metered(slowBoot(20_000));
    board.usb.write("\x03", { atMs: 5 });
    bc!.powerOn();
    const out = board.usb.take();
    expect(board.interrupts()).toEqual([expect.objectContaining({ via: "debugger", entry: "boot", console: "USB" })]);
    expect(board.interrupts()[0]!.atMs).toBeGreaterThanOrEqual(TICK);
    expect(meter.clockMs()).toBeLessThan(TICK + 5); // stopped right after the tick, not at the end
    expect(out).toBe("\r\x1b[JExecution Interrupted\r\n\r\n>");
    board.usb.write("typeof n\r");
    expect(board.usb.take()).toBe("typeof n\r\n=\"number\"\r\n>");
  });

  it("code without loops is stopped only at EXEC_INTERRUPTED, two ticks on, at the next check point", () => {
    // no loop: the debugger is never entered; every call of f is a check point (a counted run)
    const calls = "function f() { var a = 1; return a; }\n" + Array.from({ length: 4000 }, () => "f();").join("\n") + "\nprint('boot done');";
    const { board, meter, bc } = metered(calls);
    board.usb.write("\x03", { atMs: 1 });
    bc!.powerOn();
    expect(board.interrupts()).toEqual([expect.objectContaining({ via: "interrupted", entry: "boot", console: "USB" })]);
    expect(board.interrupts()[0]!.atMs).toBeGreaterThanOrEqual(2 * TICK);
    // A run's cost is charged at its head: the 4,000 calls are one top-level run, so the device clock
    // at the calls inside it is already past its end (board/README.md "Where it differs").
    expect(meter.clockMs()).toBeGreaterThan(2 * TICK);
    expect(board.usb.take()).not.toContain("boot done");
  });

  it("code that ends before the SysTick is not interrupted, and the flag is gone afterwards", () => {
    const { board, bc } = metered(slowBoot(100));
    board.usb.write("\x03", { atMs: 0 });
    bc!.powerOn();
    expect(board.interrupts()).toEqual([]);
    expect(board.usb.take()).toContain("boot done");
  });

  it("is ignored when the console has already left USB, or is password-locked", () => {
    const moved = metered(slowBoot(20_000, "E.setConsole(null,{force:true});"));
    moved.board.usb.write("\x03", { atMs: 5 });
    moved.bc!.powerOn();
    expect(moved.board.interrupts()).toEqual([]);
    expect(moved.board.consoleChanges()[0]).toMatchObject({ device: null });
    // before the Ctrl-C at 5 ms (the first run, the move included, is charged at its head: its
    // statements and, since issue #12, its source text, ≈ 1.1 ms)
    expect(moved.board.consoleChanges()[0]!.atMs).toBeLessThan(5);

    const locked = metered(slowBoot(20_000, "E.setPassword('pw');E.lockConsole();"));
    locked.board.usb.write("\x03", { atMs: 5 });
    locked.bc!.powerOn();
    expect(locked.board.interrupts()).toEqual([]);
  });

  it("a Ctrl-C accepted before the console moved still stops the code later, on a console that is nowhere", () => {
    const { board, bc } = metered(slowBoot(20_000, "E.setConsole(null,{force:true});"));
    board.usb.write("\x03", { atMs: 0 });
    bc!.powerOn();
    expect(board.interrupts()).toEqual([expect.objectContaining({ via: "debugger", console: null })]);
  });

  it("timers: 'Execution Interrupted during event processing.' and the event loop carries on", () => {
    const { board, bc } = metered("setTimeout(function () { var s = 0; for (var i = 0; i < 50000; i++) s += i; print('timer done'); }, 10); setTimeout(function () { print('next timer'); }, 2000);");
    bc!.powerOn();
    board.usb.take();
    board.usb.write("\x03", { atMs: 12 });
    board.advance(3000);
    const out = board.usb.take();
    expect(board.interrupts()).toEqual([expect.objectContaining({ entry: "setTimeout" })]);
    expect(out).toContain("Execution Interrupted during event processing.");
    expect(out).not.toContain("timer done");
    expect(out).toContain("next timer");
  });
});
