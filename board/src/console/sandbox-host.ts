/**
 * A minimal ConsoleHost on a Node `vm` context, with a manual clock and an in-memory Storage.
 * It exists so the console (and the TCP exposure) can be tested on their own, without the full
 * VirtualBoard runtime; it is not a board model (no flash format, no cost model, no peripherals).
 */
import vm from "node:vm";
import type { ConsoleClock, ConsoleHost, ConsoleStorage, EvalResult, PacketUploadInfo } from "./repl.ts";
import { EspruinoConsole } from "./repl.ts";

/** Timers that fire only when `advance()` moves time on — deterministic tests. */
export class ManualClock implements ConsoleClock {
  private now = 0;
  private nextId = 1;
  private timers = new Map<number, { at: number; cb: () => void }>();

  setTimeout(cb: () => void, ms: number): unknown {
    const id = this.nextId++;
    this.timers.set(id, { at: this.now + Math.max(0, ms), cb });
    return id;
  }
  clearTimeout(handle: unknown): void {
    this.timers.delete(handle as number);
  }
  /** Move time forward, firing due timers in time order. */
  advance(ms: number): void {
    const end = this.now + ms;
    for (;;) {
      let due: [number, { at: number; cb: () => void }] | undefined;
      for (const entry of this.timers) if (entry[1].at <= end && (!due || entry[1].at < due[1].at)) due = entry;
      if (!due) break;
      this.timers.delete(due[0]);
      this.now = due[1].at;
      due[1].cb();
    }
    this.now = end;
  }
  pending(): number { return this.timers.size; }
}

/** Real-time timers for interactive use. */
export const realClock: ConsoleClock = {
  setTimeout: (cb, ms) => setTimeout(cb, ms),
  clearTimeout: (h) => clearTimeout(h as ReturnType<typeof setTimeout>),
};

/** Storage with Espruino's write(name, data, offset, size) shape; unwritten bytes read as 0xFF. */
export class MemoryStorage implements ConsoleStorage {
  readonly files = new Map<string, string>();
  read(name: string): string | undefined { return this.files.get(name); }
  write(name: string, data: string, offset = 0, size?: number): true {
    if (data.length === 0) throw new Error("Can't create zero length file");
    const existing = this.files.get(name);
    if (offset === 0 || existing === undefined) {
      const total = size ?? data.length;
      if (offset + data.length > total) throw new Error("Too much data for file size");
      this.files.set(name, ("\xff".repeat(offset) + data).padEnd(total, "\xff"));
      return true;
    }
    if (offset + data.length > existing.length) throw new Error("Too much data for file size");
    this.files.set(name, existing.slice(0, offset) + data + existing.slice(offset + data.length));
    return true;
  }
}

export interface SandboxOptions {
  boardId?: string;
  version?: string;
  clock?: ConsoleClock;
  storage?: ConsoleStorage;
  /** Receives every byte string the console sends to the host. */
  onOutput?: (bytes: string) => void;
}

/** A console plus a vm realm exposing print/echo/E.setPassword/E.lockConsole/E.on('packet'). */
export class SandboxBoard {
  readonly console: EspruinoConsole;
  readonly clock: ConsoleClock;
  readonly storage: ConsoleStorage;
  readonly uploads: PacketUploadInfo[] = [];
  readonly evaluations: { code: string; lineNumberOffset: number }[] = [];
  interrupts = 0;
  private output = "";
  private readonly usbListeners: ((bytes: Uint8Array) => void)[] = [];
  /** The host side of the console, shaped like VirtualBoard.usb. */
  readonly usb = {
    write: (bytes: Uint8Array | string): void => this.console.receive(bytes),
    onData: (cb: (bytes: Uint8Array) => void): void => { this.usbListeners.push(cb); },
  };
  private context!: vm.Context;
  private packetListeners: ((o: unknown) => void)[] = [];
  private todo: { kind: "reset" } | { kind: "load"; file: string | undefined } | undefined;

  constructor(opts: SandboxOptions = {}) {
    this.clock = opts.clock ?? new ManualClock();
    this.storage = opts.storage ?? new MemoryStorage();
    const host: ConsoleHost = {
      boardId: opts.boardId ?? "NRF52840DK",
      version: opts.version ?? "2v29",
      write: (bytes) => {
        this.output += bytes;
        opts.onOutput?.(bytes);
        if (this.usbListeners.length) {
          const u8 = Uint8Array.from(bytes, (c) => c.charCodeAt(0) & 0xff);
          for (const l of this.usbListeners) l(u8);
        }
      },
      evaluate: (code, o) => this.evaluate(code, o.lineNumberOffset),
      storage: this.storage,
      emitPacketEvent: (obj) => {
        for (const l of this.packetListeners) l(obj);
        return this.packetListeners.length > 0;
      },
      emitPacketUpload: (info) => { this.uploads.push(info); },
      clock: this.clock,
      interrupt: () => { this.interrupts++; },
      endOfTurn: () => this.runTodo(),
    };
    this.console = new EspruinoConsole(host);
    this.newRealm();
  }

  /** A fresh global scope, as after reset(): the old one's variables and listeners are gone. */
  private newRealm(): void {
    const con = this.console;
    this.packetListeners = [];
    const E = {
      setPassword: (pw: string) => con.setPassword(pw),
      lockConsole: () => con.lock(),
      setConsole: (dev: unknown) => con.setEnabled(dev !== null),
      on: (event: string, cb: (o: unknown) => void) => { if (event === "packet") this.packetListeners.push(cb); },
    };
    this.context = vm.createContext({
      print: (...args: unknown[]) => con.print(args.map(String).join(" ") + "\n"),
      echo: (on: unknown) => con.setEcho(Boolean(on)),
      reset: () => { this.todo = { kind: "reset" }; },
      load: (file?: string) => { this.todo = { kind: "load", file }; },
      E,
      require: (name: string) => {
        if (name === "Storage") return this.storage;
        throw new Error(`Module ${name} not found`);
      },
    });
  }

  private evaluate(code: string, lineNumberOffset: number): EvalResult {
    this.evaluations.push({ code, lineNumberOffset });
    try {
      return { ok: true, value: vm.runInContext(code, this.context, { filename: "REPL" }) };
    } catch (error) {
      return { ok: false, error };
    }
  }

  /** reset()/load() take effect after the current input, as Espruino's jsiIdle TODOs do. */
  private runTodo(): void {
    const todo = this.todo;
    this.todo = undefined;
    if (!todo) return;
    this.newRealm();
    this.console.resetState();
    this.console.announce({ banner: true });
    // load() evaluates the file after the interpreter is back (jsiIdle's TODO_FLASH_LOAD)
    if (todo.kind === "load") this.runStored(todo.file ?? ".bootcde");
  }

  private runStored(file: string): void {
    const code = this.storage.read(file);
    if (code === undefined) return;
    const r = this.evaluate(code, 0);
    if (!r.ok) this.console.reportUncaught(r.error);
  }

  /** Power off and on: fresh realm, .bootcde runs, then the banner (jsiSemiInit order). */
  powerCycle(): void {
    this.newRealm();
    this.console.resetState();
    this.runStored(".bootcde");
    this.console.announce({ banner: true });
    this.console.idle();
  }

  /** Run code in the realm (e.g. boot code) outside the REPL. */
  run(code: string): unknown { return vm.runInContext(code, this.context); }

  /** Everything written to the host since the last call. */
  take(): string {
    const out = this.output;
    this.output = "";
    return out;
  }
}
