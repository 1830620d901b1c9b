// Ctrl-C as Espruino 2v29 handles it (facts §6), on the device timeline of the cost model.
//
// The receive IRQ (src/jsdevices.c jshPushIOCharEventsHandler) calls jsiCtrlC() for a 0x03 byte
// that arrives on the device that IS the console at that instant; jsiCtrlC (src/jsinteractive.c)
// ignores it while the console is password-locked or a packet is being received, else it sets
// EXEC_CTRL_C. Running code is not stopped at once: the SysTick handler (targets/nrf5x/jshardware.c
// SysTick_Handler, the same in stm32 and linux) turns EXEC_CTRL_C into EXEC_CTRL_C_WAIT at its next
// tick and EXEC_CTRL_C_WAIT into EXEC_INTERRUPTED at the tick after. EXEC_INTERRUPTED stops
// execution at the next statement (JSP_SHOULD_EXECUTE); while EXEC_CTRL_C_WAIT is set, the next
// loop iteration enters the debugger (jsparse.c jspDebuggerLoopIfCtrlC → jsiDebuggerLoop: a
// `debug>` prompt on the console that evaluates whatever the host types). When the code ends first,
// jsiLoop clears the flag and the line: nothing was interrupted.
//
// This module is the flag's state machine; the virtual board feeds it IRQ bytes and asks it at each
// instrumented check point (a run of statements or a loop iteration, board/src/cost/instrument.ts).

/** SysTick period per board family: the tick that promotes EXEC_CTRL_C (facts §6, source). */
export function sysTickMs(espruinoBoard: string, cpuMhz: number): number {
  // nRF52: SysTick_Config(0xFFFFFF) (targets/nrf5x/jshardware.c) → 2^24 cycles.
  // STM32 (Pico): SysTick_Config(SYSTICK_RANGE-1), SYSTICK_RANGE 0x1000000 (targets/stm32/jshardware.c).
  void espruinoBoard;
  return (0x1000000 / (cpuMhz * 1e6)) * 1000;
}

export type CtrlCState = "none" | "ctrl-c" | "wait" | "interrupted";

/** How a Ctrl-C ended the running code. */
export type InterruptVia = "interrupted" | "debugger";

/** Thrown into running firmware code to stop it; firmware try/catch cannot keep it (rethrown at every check point). */
export class CtrlCInterrupt extends Error {
  constructor(readonly via: InterruptVia, readonly atMs: number) {
    super(via === "debugger" ? "Ctrl-C: debugger entered" : "Execution Interrupted");
  }
}

export class CtrlCFlag {
  private setAt: number | undefined;

  constructor(private readonly tickMs: number) {
    if (!(tickMs > 0)) throw new Error(`CtrlCFlag: SysTick period must be > 0 ms, got ${tickMs}`);
  }

  /** jsiCtrlC: sets EXEC_CTRL_C at device time `atMs` (a second Ctrl-C before it is handled changes nothing). */
  set(atMs: number): void {
    if (this.setAt === undefined) this.setAt = atMs;
  }

  get isSet(): boolean {
    return this.setAt !== undefined;
  }

  /** The flag at device time `nowMs` (SysTicks at whole multiples of the period from power-on). */
  state(nowMs: number): CtrlCState {
    if (this.setAt === undefined) return "none";
    const firstTick = (Math.floor(this.setAt / this.tickMs) + 1) * this.tickMs;
    if (nowMs >= firstTick + this.tickMs) return "interrupted";
    if (nowMs >= firstTick) return "wait";
    return "ctrl-c";
  }

  /** jsiLoop after the idle turn (or a reboot): the flag is cleared. */
  clear(): void {
    this.setAt = undefined;
  }
}
