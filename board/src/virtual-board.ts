// The virtual board: runs the very bundle a board runs, in a node:vm context whose globals are
// Espruino 2v29's, on a virtual clock, over the NOR flash + Espruino Storage models.
// Contract: docs/ARCHITECTURE.md "Virtual board". What it models and where it differs from a real
// board: board/README.md.
import vm from "node:vm";
import { NorFlash, PowerCut } from "./flash.ts";
import { EspruinoStorage } from "./storage.ts";
import { FlashModule, MappedReads } from "./flash-module.ts";
import { loadProfile, validateProfile, type BoardProfile } from "./profiles.ts";
import { getSizeOf, estimateVars, codeVars, nameVars, sizeRulesFor, type FunctionRegistry, type RuntimeRoot, type ScopeInfo, nfcFrameVerdict, OutOfMemory, OUT_OF_MEMORY_FLAG, NFC_FRAME_BUDGET_MS, COST_GLOBAL,
  type CostCounts, type CostEstimate, type ScopeRecord, type ProfileLike, type VarEstimate } from "./cost/index.ts";
import { unhoistFunctions } from "./runtime/no-hoist.ts";
import { builtinVars } from "./cost/builtins.ts";
import { VirtualClock } from "./runtime/clock.ts";
import { Emitter, type RuntimeCore } from "./runtime/core.ts";
import { BoardHang, Realm } from "./runtime/realm.ts";
import { MISSING_GLOBALS, MISSING_PROTO, MISSING_STATICS, PRELUDE } from "./runtime/prelude.ts";
import { bytesToString, crc32, formatForPrint, stringToBytes, toBytes, toJS, ByteConversionError } from "./runtime/bytes.ts";
import { createCryptoModule, hasCryptoModule } from "./runtime/crypto-module.ts";
import { PinBank } from "./runtime/pins.ts";
import { NfcController, type NfcReply, type TransceiveOptions } from "./runtime/nfc.ts";
import { LinkFaults, chunkBySizes, type LinkFaultOptions } from "./runtime/faults.ts";
import { stream, type Rng } from "./runtime/rng.ts";
import { CtrlCFlag, CtrlCInterrupt, sysTickMs, type InterruptVia } from "./runtime/ctrl-c.ts";
import { DisplayHardware, installDisplay, SSD1306_MODULE_SOURCE } from "./display/runtime.ts";

export type { BoardProfile } from "./profiles.ts";
export { PowerCut } from "./flash.ts";
export { BoardHang } from "./runtime/realm.ts";

export const ESPRUINO_VERSION = "2v29";
export type DeviceName = "USB" | "Serial1" | "LoopbackA" | "LoopbackB";

/**
 * The cost model's hook (board/src/cost CostMeter satisfies it). Only `native` is required; each
 * optional member switches on one part of the wiring (board/docs/cost-model.md "Wiring").
 */
export interface CostMeterLike {
  native(kind: string, bytes: number, units?: number): void;
  /** Defines the hidden global instrumented code calls; run on every fresh context. */
  install?(globalObject: object): void;
  /** Instruments source before the board compiles it (boot files, evaluate, string callbacks, modules, eval). */
  prepare?(code: string, filename?: string): string;
  /** Opens/closes the cost scope of one event-loop entry ("timer", "USB.data", "watch", "NFCrx", "boot", "eval", …). */
  begin?(label: string): void;
  end?(): ScopeRecord;
  /** Counts so far inside the innermost open scope `label` (NFCrx: read when the firmware replies). */
  peek?(label?: string): ScopeRecord | undefined;
  estimate?(profile?: ProfileLike | null, counts?: CostCounts): CostEstimate;
  /** Called by instrumented code every `everyHits` counter hits; used to sample memory while code runs. */
  setTick?(everyHits: number, fn: ((siteId: number) => void) | null): void;
  /** Device clock (board/docs/cost-model.md): starts the running estimate of board ms for a profile. */
  startClock?(profile?: ProfileLike | null): void;
  /** Estimated board ms since startClock(); places host bytes (a Ctrl-C) inside running code. */
  clockMs?(): number;
  /** Whether a site starts a loop iteration (Espruino enters its debugger there on a pending Ctrl-C). */
  isLoopSite?(siteId: number): boolean;
  /** Function instances the instrumented code created (CostMeter): memory then counts them and their scopes. */
  lookup?(fn: object): unknown;
  /** JS calls running now (CostMeter): their scopes count as live memory. */
  activeCalls?(): readonly { scope: unknown; depth: number }[];
}

/** What the cost wiring reports to the harness (also printed on the console, prefixed "[virtual board]"). */
export type CostEvent =
  | { kind: "nfc-late"; atMs: number; ms: number; budgetMs: number }
  | { kind: "out-of-memory"; atMs: number; entry: string; needed: number; limit: number };

/** What the console module (board/src/console) plugs in when it owns the console device. */
export interface ConsoleAttachment {
  /** Host bytes arriving on the console device (a byte string). */
  receive(bytes: string): void;
  /** Firmware print()/console.log/error text; default: written to the device unchanged. */
  firmwareOutput?(text: string): void;
  /** echo(0|1) from firmware. */
  setEcho?(on: boolean): void;
  /** A boot sequence finished (boot code and E.on('init') ran): the REPL prints banner + prompt. */
  onBoot?(kind: BootKind): void;
  /** True while a Ctrl-C must be ignored by the receive IRQ besides the lock: a packet is being received (jsiCtrlC). */
  receivingPacket?(): boolean;
  /** E.setConsole moves the console (jsiSetConsoleDevice): "-> NEW" on the old device, "<- OLD" on the new one. */
  consoleMoving?(to: string): void;
  consoleMoved?(from: string): void;
}

/** A Ctrl-C that stopped running code (see board/src/runtime/ctrl-c.ts). */
export interface InterruptRecord { atMs: number; via: InterruptVia; entry: string; console: DeviceName | null }

/** A change of the console device or its lock, at device ms (board: deviceNow()). */
export interface ConsoleChange { atMs: number; device: DeviceName | null; locked: boolean }

export type BootKind = "powerOn" | "reboot" | "reset" | "load";

export type EvalOutcome = { ok: true; value: unknown } | { ok: false; error: unknown };

export interface VirtualBoardOptions {
  board: string | BoardProfile;
  /** Seeds E.hwRand, Math.random, getSerial, the NFC UID and fault injection (default 1). */
  seed?: number;
  /** "real": virtual time follows the wall clock (call dispose() when done). Default "virtual". */
  clock?: "virtual" | "real";
  /** Flash contents to start from (NorFlash.snapshot() of another board). */
  flashImage?: Uint8Array;
  cost?: CostMeterLike;
  /** Host ms one firmware entry (callback, boot file, evaluate) may run before BoardHang (default 10 000). */
  entryTimeoutMs?: number;
}

type Restart = { kind: "reset" | "load" | "reboot"; file?: string };

const NRF52_BOARDS = /^(PUCKJS|PIXLJS|MDBT42Q|NRF52|BANGLEJS|JOLTJS)/;
const ENTRY_GLOBAL = "__keycarrier_entry__";

/** Host-side view of a byte link (USB or Serial1). */
export class HostPort {
  private sinks: ((bytes: Uint8Array) => void)[] = [];
  private received: number[] = [];
  private faults: LinkFaults | undefined;
  constructor(private readonly name: DeviceName, private readonly deliver: (chunks: Uint8Array[], atMs?: number) => void, private readonly available: boolean) {}

  /**
   * Host → device. `chunks` fixes how the bytes are split into 'data' events (default: one chunk).
   * `atMs` (absolute device ms, later than now) makes the bytes arrive then: the receive IRQ sees
   * them at that moment of the device timeline, inside whatever code the cost model says is running
   * (a Ctrl-C then interrupts it; needs a metered board), and the idle loop gets them after that code.
   */
  write(bytes: Uint8Array | string, opts: { chunks?: number[]; atMs?: number } = {}): void {
    if (!this.available) throw new Error(`this board profile has no ${this.name}; use Serial1 or a Loopback device instead`);
    const data = typeof bytes === "string" ? stringToBytes(bytes) : bytes;
    const chunks = this.faults ? this.faults.apply(data) : opts.chunks ? chunkBySizes(data, opts.chunks) : [data];
    this.deliver(chunks, opts.atMs);
  }
  /** Device → host bytes, as they leave the board. Returns an unsubscribe function. */
  onData(cb: (bytes: Uint8Array) => void): () => void {
    this.sinks.push(cb);
    return () => { this.sinks = this.sinks.filter((s) => s !== cb); };
  }
  /** Everything the device sent since the last call, as a byte string. */
  take(): string {
    const s = bytesToString(Uint8Array.from(this.received));
    this.received = [];
    return s;
  }
  /** Injects seeded split/drop/duplicate/garble faults into host → device writes (null: none). */
  setFaults(opts: LinkFaultOptions | null): LinkFaults | undefined {
    this.faults = opts ? new LinkFaults(opts) : undefined;
    return this.faults;
  }
  /** @internal */
  emitFromDevice(bytes: Uint8Array): void {
    for (const b of bytes) this.received.push(b);
    for (const s of this.sinks) s(bytes);
  }
}

export class VirtualBoard {
  readonly profile: BoardProfile;
  readonly flash: NorFlash;
  storage: EspruinoStorage;
  /** require("Flash") over `flash` (absolute addresses from the profile's storage.baseAddress) */
  readonly flashApi: FlashModule;
  /** the profile's flashFree areas (what Flash.getFree() lists), each its own NOR flash; kept across power cycles */
  readonly freeFlash: { base: number; flash: NorFlash }[];
  private readonly mappedReads: MappedReads;
  readonly clock = new VirtualClock();
  readonly cost: CostMeterLike | undefined;
  readonly usb: HostPort;
  readonly serial1: HostPort;
  readonly nfc: { fieldOn(): void; fieldOff(): void; transceive(frame: Uint8Array, opts?: TransceiveOptions): Promise<NfcReply> };
  /** The console module, when attached (see attachConsole). */
  console: ConsoleAttachment | undefined;
  /** The screen of a profile with peripherals.display (board/src/display): frame(), png(), text(). */
  readonly display: DisplayHardware | undefined;

  private context: vm.Context | undefined;
  private currentRealm: Realm | undefined;
  private readonly entryScript = new vm.Script(`${ENTRY_GLOBAL}()`, { filename: "board-entry" });
  private pendingEntry: (() => void) | undefined;
  private drainJobs: ((report: (e: unknown) => void) => void) | undefined;
  private dead: PowerCut | undefined;
  private powered = false;
  private restart: Restart | undefined;
  private inLoop = 0;
  private entryDepth = 0;
  private readonly timeoutMs: number;
  private readonly pins: PinBank;
  private readonly nfcCtl: NfcController | undefined;
  private readonly events = { E: new Emitter(), process: new Emitter(), NRF: new Emitter() } as const;
  private readonly devices = new Map<DeviceName, Emitter>();
  private consoleDev: DeviceName | null;
  private consoleLockState = { password: undefined as string | undefined, locked: false };
  private readonly outputListeners: ((bytes: string) => void)[] = [];
  private consoleText = "";
  private transcriptText = "";
  private readonly hwRand: Rng;
  private mathRandom: Rng;
  private readonly serial: string;
  private timeOffsetMs = 0;
  private watchdog: { timeoutMs: number; auto: boolean; event: number } | undefined;
  private powerCutEvent: number | undefined;
  private readonly nativeCutArm: { kind: string; remaining: number }[] = [];
  private realTimer: ReturnType<typeof setInterval> | undefined;
  private cachedModules = new Map<string, unknown>();
  private builtinGlobals = new Set<string>();
  private bootCount = 0;
  private bootCodeBytes = 0;
  private moduleCodeBytes = 0;
  private contextGlobal: Record<string, unknown> | undefined;
  /** Set while an out-of-memory interrupts the running entry: every native call and counter tick rethrows it. */
  private outOfMemory: OutOfMemory | undefined;
  /** Usage last reported as out of memory; a report repeats only when usage grows past it. */
  private oomWatermark = 0;
  private errorFlags: string[] = [];
  private readonly costEventList: CostEvent[] = [];
  // Ctrl-C (board/src/runtime/ctrl-c.ts): host bytes waiting for their device time, the EXEC_CTRL_C
  // flag, the interrupt stopping the running code, and where the device timeline of that code began.
  private readonly ctrlC: CtrlCFlag;
  private irqQueue: { dev: DeviceName; atMs: number; bytes: string; done: boolean; scheduled: boolean }[] = [];
  private interrupted: CtrlCInterrupt | undefined;
  private readonly interruptList: InterruptRecord[] = [];
  private readonly consoleChangeList: ConsoleChange[] = [];
  private busy: { clock: number; meterMs: number; label: string } | undefined;
  private booting = false;
  private memoryEvery = MEMORY_TICK_HITS;
  private memoryLeft = MEMORY_TICK_HITS;
  // Promise jobs (2v29: ordinary events, run after the timers due): queued, and whether a drain is scheduled.
  private jobsPending = false;
  private drainScheduled = false;
  private readonly costEventListeners: ((e: CostEvent) => void)[] = [];

  constructor(opts: VirtualBoardOptions) {
    this.profile = typeof opts.board === "string" ? loadProfile(opts.board) : validateProfile(opts.board, opts.board.id ?? "(inline)");
    const p = this.profile;
    const seed = (opts.seed ?? 1) >>> 0;
    this.flash = new NorFlash({ size: p.storage.bytes, pageSize: p.storage.pageBytes, wordSize: p.storage.wordBytes, endurance: p.storage.eraseEndurance }, { seed });
    if (opts.flashImage) this.flash.restore(opts.flashImage);
    this.storage = this.newStorage();
    this.freeFlash = (p.flashFree ?? []).map((a, i) => ({
      base: a.addr,
      flash: new NorFlash({ size: a.bytes, pageSize: a.pageBytes, wordSize: p.storage.wordBytes, endurance: p.storage.eraseEndurance }, { seed: seed + 1 + i }),
    }));
    this.flashApi = new FlashModule([{ base: p.storage.baseAddress, flash: this.flash }, ...this.freeFlash]);
    this.mappedReads = new MappedReads(this.flash, p.storage.baseAddress);
    this.cost = opts.cost;
    this.timeoutMs = opts.entryTimeoutMs ?? 10_000;
    this.hwRand = stream(seed, "hwRand");
    this.mathRandom = stream(seed, "Math.random");
    const idRng = stream(seed, "serial");
    const hex8 = () => idRng().toString(16).padStart(8, "0");
    this.serial = `${hex8()}-${hex8()}`;
    const uidRng = stream(seed, "nfc-uid");
    const uid = Uint8Array.from({ length: 7 }, (_, i) => (i === 0 ? 0x5f : uidRng() & 0xff));

    this.consoleDev = this.defaultConsole();
    for (const d of ["USB", "Serial1", "LoopbackA", "LoopbackB"] as const) this.devices.set(d, new Emitter());
    this.usb = new HostPort("USB", (chunks, atMs) => this.hostToDevice("USB", chunks, atMs), p.peripherals.usb);
    this.serial1 = new HostPort("Serial1", (chunks, atMs) => this.hostToDevice("Serial1", chunks, atMs), p.peripherals.serial1);
    this.ctrlC = new CtrlCFlag(sysTickMs(p.espruinoBoard, p.cpu.mhz));

    const core = this.core();
    this.pins = new PinBank(core, p);
    this.display = p.peripherals.screen ? new DisplayHardware(p.peripherals.screen) : undefined;
    if (p.peripherals.nfc) {
      this.nfcCtl = new NfcController(core, this.events.NRF, uid, (ms) => this.advance(ms));
      const ctl = this.nfcCtl;
      this.nfc = { fieldOn: () => ctl.fieldOn(), fieldOff: () => ctl.fieldOff(), transceive: (f, o) => ctl.transceive(f, o) };
    } else {
      const no = () => { throw new Error(`board ${p.id} has no NFC (profile peripherals.nfc is false)`); };
      this.nfc = { fieldOn: no, fieldOff: no, transceive: no };
    }
    if (opts.clock === "real") {
      let last = Date.now();
      this.realTimer = setInterval(() => {
        const now = Date.now();
        if (this.powered) this.advance(now - last);
        last = now;
      }, 5);
    }
  }

  // ───────────────────────────────────────── power

  get isOn(): boolean {
    return this.powered;
  }

  /** Power on: Storage boot check, .bootPowerOn, .boot0-3, .bootrst or .bootcde, E.on('init'). */
  powerOn(): void {
    if (this.powered) throw new Error("board is already on: call powerCut() first, or reset()");
    this.boot("powerOn");
  }

  /** Power lost: RAM (the vm context, timers, console state) is gone; flash is kept as it is. */
  powerCut(): void {
    this.powered = false;
    this.context = undefined;
    this.currentRealm = undefined;
    this.drainJobs = undefined;
    this.jobsPending = false;
    this.drainScheduled = false;
    this.ctrlC.clear();
    this.interrupted = undefined;
    this.busy = undefined;
    this.restart = undefined;
    this.watchdog = undefined;
    this.clock.resetEvents();
    this.pins.resetRam();
    this.nfcCtl?.resetRam();
    this.display?.powerOff();
    this.consoleDev = this.defaultConsole();
    this.consoleLockState = { password: undefined, locked: false };
  }

  /** reset() as typed at the REPL: E.on('kill'), fresh RAM, then .boot0 and .bootrst (not .bootcde). */
  reset(): void {
    this.requireOn("reset()");
    this.emitKill();
    this.boot("reset");
  }

  /** Stops the real-time driver, if any. */
  dispose(): void {
    if (this.realTimer) clearInterval(this.realTimer);
    this.realTimer = undefined;
  }

  // ───────────────────────────────────────── fault injection

  /** Cut power when the virtual clock reaches `atMs` (absolute virtual time). */
  cutPowerAt(atMs: number): void {
    if (this.powerCutEvent !== undefined) this.clock.cancel(this.powerCutEvent);
    this.powerCutEvent = this.clock.addInternal(atMs - this.clock.now(), () => this.cutNow(new PowerCut(`power cut at ${atMs} ms (injected)`)));
  }

  /** Cut power during the n-th flash word write from now (delegates to NorFlash). */
  cutPowerAfterFlashWrites(n: number, partial: "none" | "some-bits" = "none"): void {
    this.flash.cutPowerAfterWordWrites(n, partial);
  }

  /** Cut power when the firmware makes its n-th (1-based) native call of `kind` (e.g. "Storage.write"). */
  cutPowerOnNativeCall(kind: string, nth = 1): void {
    if (!(Number.isInteger(nth) && nth >= 1)) throw new Error(`cutPowerOnNativeCall: nth must be an integer >= 1, got ${nth}`);
    this.nativeCutArm.push({ kind, remaining: nth });
  }

  // ───────────────────────────────────────── clock

  now(): number {
    return this.clock.now();
  }

  /** Runs every event due in the next `ms` of virtual time, then leaves the clock at now+ms. */
  advance(ms: number): void {
    if (!(ms >= 0)) throw new Error(`advance(ms): ms must be >= 0, got ${ms}`);
    const target = this.clock.now() + ms;
    this.inLoop++;
    try {
      while (this.clock.runNext(target)) this.afterEvent();
    } finally {
      this.inLoop--;
    }
    this.clock.setNow(target);
  }

  /** Runs events until none are left or `maxMs` of virtual time has passed; returns the time spent. */
  runUntilIdle(maxMs = 60_000): number {
    const start = this.clock.now();
    const limit = start + maxMs;
    this.inLoop++;
    try {
      while (this.clock.runNext(limit)) this.afterEvent();
    } finally {
      this.inLoop--;
    }
    return this.clock.now() - start;
  }

  // ───────────────────────────────────────── buttons, LEDs

  pressButton(n = 1, opts: { bounceMs?: number[] } = {}): void {
    this.bounce(n, true, opts.bounceMs);
  }

  releaseButton(n = 1, opts: { bounceMs?: number[] } = {}): void {
    this.bounce(n, false, opts.bounceMs);
  }

  /** Press and release after `holdMs` of virtual time. */
  clickButton(n = 1, holdMs = 100): void {
    this.pressButton(n);
    this.advance(holdMs);
    this.releaseButton(n);
  }

  leds(): boolean[] {
    return this.pins.leds();
  }

  // ───────────────────────────────────────── console seam (board/src/console)

  /** Which device the console is on ("USB" | "Serial1" | "LoopbackA" | "LoopbackB"), or null. */
  get consoleDevice(): DeviceName | null {
    return this.consoleDev;
  }

  attachConsole(c: ConsoleAttachment | undefined): void {
    this.console = c;
  }

  /** E.setPassword / E.lockConsole state, for the console's password prompt. */
  consoleLock(): { password: string | undefined; locked: boolean } {
    return { ...this.consoleLockState };
  }

  unlockConsole(): void {
    this.consoleLockState.locked = false;
  }

  /** Raw bytes to the host side of the console device (nothing if the console is null). */
  writeConsole(bytes: string): void {
    const dev = this.consoleDev;
    if (dev === null) return;
    this.consoleText += bytes;
    for (const l of this.outputListeners) l(bytes);
    this.deviceToHost(dev, bytes);
  }

  /** Every byte string written to the console device. Returns an unsubscribe function. */
  onConsoleOutput(cb: (bytes: string) => void): () => void {
    this.outputListeners.push(cb);
    return () => {
      const i = this.outputListeners.indexOf(cb);
      if (i >= 0) this.outputListeners.splice(i, 1);
    };
  }

  /** Console output since the last call (what a terminal on the console device saw). */
  takeOutput(): string {
    const s = this.consoleText;
    this.consoleText = "";
    return s;
  }

  /** Everything the firmware printed, including while the console was null or elsewhere. */
  transcript(): string {
    return this.transcriptText;
  }

  /** Evaluates `code` at global scope (the REPL way); microtasks run before it returns. */
  evaluate(code: string, opts: { filename?: string; lineOffset?: number } = {}): EvalOutcome {
    this.requireOn("evaluate()");
    let outcome: EvalOutcome = { ok: false, error: new Error("evaluation did not run") };
    this.enter("evaluate", () => {
      try {
        const filename = opts.filename ?? "REPL";
        const script = new vm.Script(this.prepareSource(code, filename), { filename, lineOffset: opts.lineOffset ?? 0 });
        outcome = { ok: true, value: script.runInContext(this.context!) };
      } catch (error) {
        if (error instanceof PowerCut || (error === this.interrupted && error !== undefined)) throw error;
        outcome = { ok: false, error }; // an OutOfMemory interrupt ends up here too (already printed)
      }
    });
    if (this.drainScheduled) this.pump(); // the next idle turn: due timers, then the promise jobs
    return outcome;
  }

  /** Cost events so far (late NFC replies, out-of-memory), oldest first; only with a cost meter. */
  costEvents(): readonly CostEvent[] {
    return this.costEventList;
  }

  /** Calls `cb` for every cost event as it happens. Returns an unsubscribe function. */
  onCostEvent(cb: (e: CostEvent) => void): () => void {
    this.costEventListeners.push(cb);
    return () => {
      const i = this.costEventListeners.indexOf(cb);
      if (i >= 0) this.costEventListeners.splice(i, 1);
    };
  }

  /** The JsVars estimate process.memory() reports: code run from Storage plus the firmware's live globals. */
  memoryEstimate(): VarEstimate {
    this.requireOn("memoryEstimate()");
    return this.estimateMemory();
  }

  /** E.emit(event, ...args) from the host (e.g. the console's 'packet' events); returns listener count. */
  emitE(event: string, ...args: unknown[]): number {
    const listeners = this.events.E.get(event);
    const realm = this.realmOrThrow();
    for (const fn of listeners) this.invoke(`E.on('${event}')`, fn, args.map((a) => realm.copyIn(a)));
    return listeners.length;
  }

  /** The board's global object (for the cost model's estimateVars, debugging). */
  globalObject(): object {
    this.requireOn("globalObject()");
    return vm.runInContext("this", this.context!) as object;
  }

  /** Names of the globals the runtime provides (so memory estimates can exclude them). */
  runtimeGlobalNames(): string[] {
    return [...this.builtinGlobals];
  }

  get serialNumber(): string {
    return this.serial;
  }

  // ───────────────────────────────────────── internals: entries and the event loop

  private core(): RuntimeCore {
    return {
      clock: this.clock,
      realm: () => this.realmOrThrow(),
      invoke: (label, fn, args) => this.invoke(label, fn, args),
      timeSeconds: () => this.timeSeconds(),
      native: (kind, bytes, units) => this.native(kind, bytes, units),
      printLine: (line) => this.printLine(line),
      assertPowered: () => this.assertPowered(),
      pump: () => this.pump(),
      costScope: (label, fn) => this.costScope(label, fn),
      nfcReplyEstimate: () => this.nfcReplyEstimate(),
      nfcLateReply: (ms) => this.reportCostEvent({ kind: "nfc-late", atMs: this.clock.now(), ms, budgetMs: NFC_FRAME_BUDGET_MS },
        `NFC reply estimated at ${ms.toFixed(2)} ms on ${this.profile.id}, after the ${NFC_FRAME_BUDGET_MS} ms frame delay: the reader got no reply`),
    };
  }

  private realmOrThrow(): Realm {
    if (!this.currentRealm) throw new Error("the board is off: call powerOn() first");
    return this.currentRealm;
  }

  private requireOn(what: string): void {
    if (!this.powered || !this.context) throw new Error(`${what}: the board is off; call powerOn() first`);
  }

  private pump(): void {
    if (this.inLoop === 0 && this.powered) this.advance(0);
  }

  private afterEvent(): void {
    if (this.watchdog?.auto) this.kickWatchdog(); // the idle loop kicks an auto watchdog
  }

  /** Runs `fn` (host code that calls into the firmware) as one event-loop entry. */
  private enter(label: string, fn: () => void): void {
    if (!this.context) return;
    const scope = costLabelOf(label);
    if (this.entryDepth > 0) {
      // Re-entered from firmware (E.emit, a Loopback write...): run inline; promise jobs, restarts
      // and power cuts are handled once, when the outermost entry ends, as on the board.
      this.costBegin(scope);
      try {
        fn();
      } catch (e) {
        if (e instanceof PowerCut) { this.dead = e; throw e; }
        if (e !== undefined && (e === this.outOfMemory || e === this.interrupted)) throw e; // interrupts the whole stack, not just this handler
        this.reportUncaught(e);
      } finally {
        this.costEnd(scope);
      }
      return;
    }
    const previous = this.pendingEntry;
    this.pendingEntry = () => {
      try {
        fn();
      } catch (e) {
        if (e instanceof PowerCut) { this.dead = e; return; }
        // OUT OF MEMORY was printed when it struck; a Ctrl-C interrupt prints as jsiCheckErrors does
        if (e !== undefined && e === this.interrupted) this.printLine(this.booting || label === "evaluate" ? "Execution Interrupted" : "Execution Interrupted during event processing.");
        else if (e === undefined || e !== this.outOfMemory) this.reportUncaught(e);
      }
      this.endInterrupt();
    };
    this.costBegin(scope);
    if (!this.booting) this.beginBusy(label);
    this.entryDepth++;
    try {
      this.entryScript.runInContext(this.context, { timeout: this.timeoutMs, breakOnSigint: false });
    } catch (e) {
      // the timeout error comes from another realm, so match its code rather than instanceof
      if ((e as { code?: unknown } | null)?.code === "ERR_SCRIPT_EXECUTION_TIMEOUT") throw new BoardHang(label, this.timeoutMs);
      throw e;
    } finally {
      this.entryDepth--;
      this.pendingEntry = previous;
      this.endInterrupt();
      this.costEnd(scope);
      if (!this.booting) this.endBusy();
    }
    this.scheduleJobs();
    if (this.powered && !this.dead) this.checkMemory(label, false);
    if (this.dead) {
      this.dead = undefined;
      this.powerCut();
      return;
    }
    this.processRestart();
  }

  /**
   * Promise jobs queued by the code that just ran: one drain, scheduled behind every event already
   * due now (the timers jsiIdle runs first), as 2v29 runs its event queue after the due timers.
   */
  private scheduleJobs(): void {
    if (!this.jobsPending || this.drainScheduled || !this.powered || this.booting) return;
    this.drainScheduled = true;
    this.clock.addInternal(0, () => {
      this.drainScheduled = false;
      this.jobsPending = false;
      const drain = this.drainJobs;
      if (drain) this.enter("promise jobs", () => drain((e) => this.reportUncaught(e)));
    });
  }

  private invoke(label: string, fn: unknown, args: unknown[]): void {
    if (!this.context) return;
    this.enter(label, () => {
      if (typeof fn === "string") {
        new vm.Script(this.prepareSource(fn, label), { filename: label }).runInContext(this.context!);
      } else if (typeof fn === "function") {
        (fn as (...a: unknown[]) => unknown)(...args);
      }
    });
  }

  private reportUncaught(e: unknown): void {
    if (this.dead) return;
    const handlers = this.events.process.get("uncaughtException");
    if (handlers.length) {
      for (const h of handlers) {
        try {
          (h as (err: unknown) => void)(e);
        } catch (inner) {
          if (inner instanceof PowerCut) { this.dead = inner; return; }
          this.printLine(`Uncaught ${describeError(inner)}`);
        }
      }
      return;
    }
    this.printLine(`Uncaught ${describeError(e)}`);
  }

  private cutNow(cut: PowerCut): void {
    this.transcriptText += `[${cut.message}]\r\n`;
    this.powerCut();
  }

  private assertPowered(): void {
    if (this.dead) throw this.dead;
    if (!this.powered) throw new PowerCut("the board has no power");
  }

  private native(kind: string, bytes: number, units?: number): void {
    this.assertPowered();
    if (this.outOfMemory) throw this.outOfMemory;
    if (this.interrupted) throw this.interrupted;
    this.cost?.native(kind, bytes, units);
    for (const arm of this.nativeCutArm) {
      if (arm.kind === kind && --arm.remaining === 0) {
        this.nativeCutArm.splice(this.nativeCutArm.indexOf(arm), 1);
        this.dead = new PowerCut(`power cut at native call ${kind} (injected)`);
        this.transcriptText += `[${this.dead.message}]\r\n`;
        throw this.dead;
      }
    }
  }

  private timeSeconds(): number {
    const hz = this.profile.cpu.timeResolutionHz;
    return Math.floor(((this.clock.now() + this.timeOffsetMs) / 1000) * hz) / hz;
  }

  // ───────────────────────────────────────── boot

  private defaultConsole(): DeviceName {
    return this.profile.peripherals.usb ? "USB" : "Serial1";
  }

  private newStorage(): EspruinoStorage {
    return new EspruinoStorage(this.flash, { print: (line) => this.printLine(line), mappedBase: this.profile.storage.baseAddress });
  }

  private boot(kind: BootKind, file?: string): void {
    if (++this.bootCount > 1000) throw new Error("more than 1000 boots: the firmware is in a reset loop");
    this.powerCut();
    this.bootCodeBytes = 0;
    this.flash.powerOn(); // a cut flash refuses writes until the board is powered again
    for (const r of this.freeFlash) r.flash.powerOn();
    this.powered = true;
    this.newContext();
    if (kind === "powerOn" || kind === "reboot") {
      this.storage = this.newStorage();
      this.storage.bootCheck();
    }
    const nrf52 = NRF52_BOARDS.test(this.profile.espruinoBoard);
    const skip = (kind === "powerOn" || kind === "reboot") && nrf52 && this.pins.buttonHeld(1);
    // One "boot" cost scope for the boot files and E.on('init'); ended before a restart boots again.
    // One device timeline too: a Ctrl-C flag set in one boot file still stops the next (jsiSemiInit
    // runs them all before the idle loop clears it).
    this.costBegin("boot");
    this.booting = true;
    this.beginBusy("boot");
    try {
      this.runBootFiles(kind, skip, file);
    } finally {
      this.costEnd("boot");
      this.booting = false;
      this.endBusy();
    }
    if (this.powered && !this.restart) this.console?.onBoot?.(kind);
    this.scheduleJobs();
    this.scheduleIrqDeliveries();
  }

  private runBootFiles(kind: BootKind, skip: boolean, file: string | undefined): void {
    if (!skip) {
      const run = (name: string): boolean => {
        if (!this.powered || this.restart) return false;
        const code = this.storage.read(name);
        if (code === undefined) return false;
        this.bootCodeBytes += code.length;
        this.enter(name, () => { new vm.Script(this.prepareSource(code, name), { filename: name }).runInContext(this.context!); });
        return true;
      };
      if (kind === "powerOn") run(".bootPowerOn");
      if (kind === "reset") {
        run(".boot0");
        run(".bootrst");
      } else {
        for (const n of [".boot0", ".boot1", ".boot2", ".boot3"]) run(n);
        if (file !== undefined) run(file);
        else if (this.storage.read(".bootrst") !== undefined) run(".bootrst");
        else run(".bootcde");
      }
    }
    if (this.powered && !this.restart) {
      for (const fn of this.events.E.get("init")) this.invoke("E.on('init')", fn, []);
    }
  }

  private processRestart(): void {
    const r = this.restart;
    if (!r || !this.powered) return;
    this.restart = undefined;
    if (r.kind !== "reboot") this.emitKill();
    this.boot(r.kind, r.file);
  }

  private emitKill(): void {
    for (const fn of this.events.E.get("kill")) this.invoke("E.on('kill')", fn, []);
  }

  private newContext(): void {
    this.events.E.clear();
    this.events.process.clear();
    this.events.NRF.clear();
    for (const d of this.devices.values()) d.clear();
    this.cachedModules = new Map();
    // A display board's upload carries the SSD1306 module (EspruinoTools: Modules.addCached).
    if (this.display) this.cachedModules.set("SSD1306", SSD1306_MODULE_SOURCE);
    this.moduleCodeBytes = 0;
    this.outOfMemory = undefined;
    this.oomWatermark = 0;
    this.errorFlags = [];
    this.mathRandom = stream(this.hwRand(), "Math.random"); // nRF52 seeds rand() from the hardware RNG at init
    const ctx = vm.createContext({}, { name: `KeyCarrier ${this.profile.id}`, codeGeneration: { strings: true, wasm: false } });
    this.context = ctx;
    const realm = new Realm(ctx);
    this.currentRealm = realm;
    const g = vm.runInContext("this", ctx) as Record<string, unknown>;
    this.contextGlobal = g;
    Object.defineProperty(g, ENTRY_GLOBAL, { value: () => this.pendingEntry?.(), enumerable: false });
    g["__kc_host"] = {
      nowMs: () => this.timeSeconds() * 1000,
      missingGlobals: MISSING_GLOBALS,
      missingStatics: MISSING_STATICS,
      missingProto: MISSING_PROTO,
      registerDrain: (fn: (report: (e: unknown) => void) => void) => { this.drainJobs = fn; },
      jobsQueued: () => { this.jobsPending = true; },
      format: (v: unknown) => (v !== null && typeof v === "object" && "message" in v ? String(v) : formatForPrint(v)),
      fatal: (e: unknown) => e !== undefined && (e instanceof PowerCut || e === this.outOfMemory || e === this.interrupted || e instanceof OutOfMemory),
    };
    vm.runInContext(PRELUDE, ctx, { filename: "espruino-prelude" });
    this.installGlobals(g, realm);
    // The firmware's own eval goes through the same no-hoisting pass and instrumentation. Called from
    // here it is an indirect eval: the code runs at global scope (see board/README.md).
    const contextEval = vm.runInContext("eval", ctx) as (code: string) => unknown;
    Object.defineProperty(g, "eval", {
      value: (code: unknown) => (typeof code === "string" ? contextEval(this.prepareSource(code, "eval")) : code),
      writable: true, configurable: true, enumerable: false,
    });
    this.cost?.install?.(g);
    this.memoryEvery = Math.min(this.peakSampleHits, MEMORY_TICK_HITS);
    this.applyTick();
    this.builtinGlobals = new Set(Object.getOwnPropertyNames(g));
    this.runtimeValues = new WeakSet();
    for (const name of this.builtinGlobals) {
      const d = Object.getOwnPropertyDescriptor(g, name);
      if (d && "value" in d) this.markRuntime(d.value, 2);
    }
  }

  /**
   * Objects and functions the runtime made (E, USB, Math, the crypto and Storage modules, their
   * methods): on a board they live in ROM or are one-off builtins, so firmware references to them
   * cost no vars of their own (a native method stored in a variable: 1 var, see vars.ts).
   */
  private runtimeValues = new WeakSet<object>();
  private markRuntime(v: unknown, depth: number): void {
    if (v === null || (typeof v !== "object" && typeof v !== "function") || this.runtimeValues.has(v)) return;
    this.runtimeValues.add(v);
    if (depth <= 0) return;
    for (const key of Object.getOwnPropertyNames(v)) {
      const d = Object.getOwnPropertyDescriptor(v, key);
      if (d && "value" in d) this.markRuntime(d.value, depth - 1);
    }
  }

  // ───────────────────────────────────────── the Espruino API

  private printLine(line: string): void {
    this.firmwareOutput(line + "\r\n");
  }

  private firmwareOutput(text: string): void {
    if (this.dead) return;
    const bytes = bytesToString(toBytes(text)); // boards have no unicode: one byte per char
    this.transcriptText += bytes;
    if (this.console?.firmwareOutput && this.consoleDev !== null) this.console.firmwareOutput(bytes);
    else this.writeConsole(bytes);
  }

  private installGlobals(g: Record<string, unknown>, realm: Realm): void {
    const p = this.profile;
    const err = (msg: string) => realm.newError("Error", msg);
    const printArgs = (args: unknown[]) => this.printLine(args.map(formatForPrint).join(" "));
    const def = (name: string, value: unknown) => { g[name] = value; };

    def("global", g);
    def("print", (...a: unknown[]) => printArgs(a));
    const con = realm.object();
    for (const k of ["log", "info", "warn", "error", "debug"]) con[k] = (...a: unknown[]) => printArgs(a);
    def("console", con);
    def("getSerial", () => this.serial);
    def("getTime", () => this.timeSeconds());
    def("setTime", (t: unknown) => { this.timeOffsetMs = Number(t) * 1000 - this.clock.now(); });
    def("btoa", (s: unknown) => Buffer.from(stringToBytes(String(s))).toString("base64"));
    def("atob", (s: unknown) => bytesToString(Buffer.from(String(s), "base64")));
    def("echo", (on: unknown) => this.console?.setEcho?.(Boolean(on)));
    def("reset", () => { this.restart = { kind: "reset" }; });
    def("load", (file?: unknown) => { this.restart = file === undefined ? { kind: "load" } : { kind: "load", file: String(file) }; });
    def("save", () => {
      if (this.storage.read(".bootcde") !== undefined)
        throw err("save() refused: Storage holds .bootcde, which would run instead of the saved RAM image. Erase .bootcde or use E.setBootCode");
      throw err("save() (a RAM image in .varimg) is not modelled by the virtual board: put boot code in Storage (.bootcde / E.setBootCode) instead");
    });

    // timers
    const addTimer = (repeat: boolean) => (fn: unknown, ms?: unknown, ...args: unknown[]) => {
      if (typeof fn !== "function" && typeof fn !== "string") throw err("Function or String not supplied!"); // src/jswrap_interactive.c
      let delay = Number(ms);
      if (!(delay >= 0)) delay = 0;
      const interval = repeat ? Math.max(delay, 0.001) : undefined; // a 0 ms interval would stall virtual time
      return this.clock.addTimer(repeat ? interval! : delay, () => this.invoke(repeat ? "setInterval" : "setTimeout", fn, args), interval, [fn, ...args]);
    };
    def("setTimeout", addTimer(false));
    def("setInterval", addTimer(true));
    const clearTimer = (name: string) => (...args: unknown[]) => {
      if (args.length === 0) { this.clock.clearFirmwareTimers(); return; }
      if (args[0] === undefined) throw err(`${name}(undefined) not allowed: pass a timer id, or call ${name}() with no arguments to clear every timer`);
      const id = Number(args[0]);
      // src/jswrap_interactive.c: an id that is not (or no longer) a timer throws
      if (!this.clock.has(id) || id <= 0) throw err(name === "clearTimeout" ? "Unknown Timeout" : "Unknown Interval");
      this.clock.cancel(id);
    };
    def("clearTimeout", clearTimer("clearTimeout"));
    def("clearInterval", clearTimer("clearInterval"));
    def("changeInterval", (id: unknown, ms: unknown) => {
      if (!this.clock.changeInterval(Number(id), Math.max(Number(ms) || 0, 0.001))) throw err("Unknown Interval");
    });

    // pins
    this.pins.resetRam();
    this.pins.installGlobals(g);

    // Math.random is C rand(): seeded here so runs repeat
    vm.runInContext("Math", this.context!).random = () => this.mathRandom() / 0x100000000;

    // process
    const proc = realm.object();
    this.events.process.install(proc);
    proc["version"] = ESPRUINO_VERSION;
    proc["env"] = realm.copyIn({
      VERSION: ESPRUINO_VERSION, BOARD: p.espruinoBoard, SERIAL: this.serial, CONSOLE: this.consoleDev ?? "null",
      RAM: p.vars.count * p.vars.bytesPerVar, FLASH: p.storage.bytes, MODULES: this.moduleNames().join(","),
    });
    proc["memory"] = () => this.memory(realm);
    def("process", proc);

    // E
    const E = realm.object();
    this.events.E.install(E);
    E["emit"] = (event: unknown, ...args: unknown[]) => {
      for (const fn of this.events.E.get(String(event))) this.invoke(`E.on('${String(event)}')`, fn, args);
    };
    const conv = (kind: string, f: (...a: unknown[]) => unknown) => (...a: unknown[]) => {
      try {
        return f(...a);
      } catch (e) {
        if (e instanceof ByteConversionError) throw err(`${kind}: ${e.message}`);
        throw e;
      }
    };
    E["toUint8Array"] = conv("E.toUint8Array", (...a) => { const b = toBytes(...a); this.native("E.toUint8Array", b.length); return realm.uint8Array(b); });
    E["toString"] = conv("E.toString", (...a) => { const b = toBytes(...a); this.native("E.toString", b.length); return bytesToString(b); });
    E["toArrayBuffer"] = conv("E.toArrayBuffer", (s) => { const b = toBytes(String(s)); this.native("E.toArrayBuffer", b.length); return realm.arrayBuffer(b); });
    E["toJS"] = (v: unknown) => toJS(v);
    // E.getAddressOf(v, true) = jsvGetDataPointer (src/jsvar.c:1766): the flash address of a
    // memory-mapped Storage read; 0 for anything else this board cannot place (flash-module.ts).
    // E.memoryArea(addr, len): a native string over memory-mapped flash (jswrap_espruino.c); the
    // modelled flash only (flash-module.ts), and a snapshot, as Storage.read's strings are here.
    E["memoryArea"] = (addr: unknown, len: unknown) => {
      this.native("E.memoryArea", 0);
      return this.storageCall("E.memoryArea", () => bytesToString(this.flashApi.memoryArea(Number(addr), Number(len))));
    };
    E["getAddressOf"] = (v: unknown, flat?: unknown) => { this.native("E.getAddressOf", 0); return flat ? this.mappedReads.addressOf(v) : 0; };
    E["CRC32"] = conv("E.CRC32", (d) => { const b = toBytes(d); this.native("E.CRC32", b.length); return crc32(b); });
    E["hwRand"] = () => this.hwRand() | 0;
    E["srand"] = (n: unknown) => { this.mathRandom = stream(Number(n) >>> 0, "Math.random"); };
    E["getSizeOf"] = (v: unknown) => getSizeOf(v, p, this.cost?.lookup ? (this.cost as unknown as FunctionRegistry) : undefined);
    E["getTemperature"] = () => 21.25;
    E["setFlags"] = () => {};
    E["getFlags"] = () => realm.object();
    E["getErrorFlags"] = () => { const f = this.errorFlags; this.errorFlags = []; return realm.array(f); }; // read-and-clear, as on a board
    E["setConsole"] = (dev: unknown) => this.setConsole(dev);
    E["setPassword"] = (pw: unknown) => {
      const s = pw === undefined ? undefined : String(pw);
      if (s !== undefined && s.length > 20) throw err("Password too long (max 20 characters)");
      this.consoleLockState.password = s;
    };
    E["lockConsole"] = () => {
      this.irqUpTo(this.deviceNow());
      if (this.consoleLockState.password === undefined || this.consoleLockState.locked) return;
      this.consoleLockState.locked = true;
      this.consoleChangeList.push({ atMs: this.deviceNow(), device: this.consoleDev, locked: true });
    };
    E["reboot"] = () => { this.restart = { kind: "reboot" }; };
    E["enableWatchdog"] = (timeout: unknown, isAuto?: unknown) => this.enableWatchdog(Number(timeout), isAuto === undefined ? true : Boolean(isAuto));
    E["kickWatchdog"] = () => this.kickWatchdog();
    E["setBootCode"] = (code: unknown, alwaysRun?: unknown) => {
      for (const f of [".bootcde", ".bootrst", ".varimg"]) this.storage.erase(f);
      const text = code === undefined ? "" : String(code);
      if (text.length) this.storageCall("write", () => this.storage.write(alwaysRun ? ".bootrst" : ".bootcde", text));
    };
    def("E", E);

    // serial devices
    const available: Record<DeviceName, boolean> = { USB: p.peripherals.usb, Serial1: p.peripherals.serial1, LoopbackA: true, LoopbackB: true };
    for (const name of ["USB", "Serial1", "LoopbackA", "LoopbackB"] as const) {
      if (!available[name]) continue;
      const dev = realm.object();
      this.devices.get(name)!.install(dev);
      const send = (data: string) => {
        this.native(`${name === "USB" || name === "Serial1" ? name : "Serial1"}.write`, data.length);
        this.deviceToHost(name, data);
      };
      dev["write"] = conv(`${name}.write`, (...a) => send(bytesToString(toBytes(...a))));
      dev["print"] = (v: unknown) => send(bytesToString(toBytes(formatForPrint(v))));
      dev["println"] = (v: unknown) => send(bytesToString(toBytes(formatForPrint(v) + "\r\n")));
      dev["setConsole"] = () => { this.setConsole(name); };
      dev["setup"] = () => {};
      dev["toString"] = () => name;
      def(name, dev);
    }

    // NRF (nRF52 boards only); the NFC part only where the profile has NFC
    if (NRF52_BOARDS.test(p.espruinoBoard)) {
      const nrf = realm.object();
      this.events.NRF.install(nrf);
      const rng = stream(Number.parseInt(this.serial.slice(0, 8), 16), "mac");
      const mac = Array.from({ length: 6 }, (_, i) => ((rng() & 0xff) | (i === 0 ? 0xc0 : 0)).toString(16).padStart(2, "0"));
      nrf["getAddress"] = () => mac.join(":");
      nrf["getBattery"] = () => 3.0;
      nrf["setServices"] = () => {};
      nrf["sleep"] = () => {};
      nrf["wake"] = () => {};
      this.nfcCtl?.resetRam();
      this.nfcCtl?.installInto(nrf);
      def("NRF", nrf);
    }

    // Graphics, I2C1 and the SSD1306 panel (board/src/display), on a profile with a display
    if (this.display) {
      this.display.resetMcu();
      installDisplay(g, realm, this.display, {
        native: (k, b, u) => this.native(k, b, u), err, markRuntime: (v) => this.markRuntime(v, 0),
        fonts: p.requiredBuildLibraries.includes("FONT_6X8") ? ["4x6", "6x8"] : ["4x6"],
      });
    }

    // require
    const Modules = realm.object();
    Modules["addCached"] = (name: unknown, code: unknown) => { this.cachedModules.set(String(name), code); };
    Modules["removeCached"] = (name: unknown) => { this.cachedModules.delete(String(name)); };
    Modules["removeAllCached"] = () => { this.cachedModules.clear(); };
    Modules["getCached"] = () => realm.array([...this.cachedModules.keys()]);
    def("Modules", Modules);
    let storageModule: unknown;
    let cryptoModule: unknown;
    let flashModule: unknown;
    def("require", (nameIn: unknown) => {
      const name = String(nameIn);
      if (name === "Storage") {
        if (storageModule === undefined) this.markRuntime(storageModule = this.storageModule(realm), 2);
        return storageModule;
      }
      if (name === "Flash") {
        if (flashModule === undefined) this.markRuntime(flashModule = this.flashModule(realm), 2);
        return flashModule;
      }
      if (name === "crypto" && hasCryptoModule(p)) {
        if (cryptoModule === undefined) this.markRuntime(cryptoModule = createCryptoModule(p, realm, { printLine: (l) => this.printLine(l), native: (k, b, u) => this.native(k, b, u) }), 2);
        return cryptoModule;
      }
      if (this.cachedModules.has(name)) {
        const m = this.cachedModules.get(name);
        if (typeof m !== "string" && typeof m !== "function") return m;
        const exports = this.loadModule(name, m, realm);
        this.cachedModules.set(name, exports);
        return exports;
      }
      const code = this.storage.read(name);
      if (code !== undefined) {
        this.moduleCodeBytes += code.length; // a module from Storage keeps its function text in flash
        const exports = this.loadModule(name, code, realm);
        this.cachedModules.set(name, exports);
        return exports;
      }
      throw err(`Module ${JSON.stringify(name)} not found`);
    });
  }

  private moduleNames(): string[] {
    return ["Storage", "Flash", ...(hasCryptoModule(this.profile) ? ["crypto"] : [])];
  }

  private loadModule(name: string, code: unknown, realm: Realm): unknown {
    const module = realm.object();
    const exports = realm.object();
    module["exports"] = exports;
    const fn = typeof code === "function"
      ? (code as (e: unknown, m: unknown) => unknown)
      : (new vm.Script(this.prepareSource(`(function (exports, module) {${String(code)}\n})`, name), { filename: name }).runInContext(this.context!) as (e: unknown, m: unknown) => unknown);
    fn(exports, module);
    return module["exports"];
  }

  private storageCall<T>(op: string, f: () => T): T {
    this.assertPowered();
    try {
      return f();
    } catch (e) {
      if (e instanceof PowerCut) { this.dead = e; throw e; }
      if (e instanceof Error && this.currentRealm) throw this.currentRealm.newError("Error", e.message);
      throw e;
    } finally {
      void op;
    }
  }

  /** require("Flash") (src/jswrap_flash.c) over the same NOR flash as Storage: flash-module.ts. */
  private flashModule(realm: Realm): Record<string, unknown> {
    const f = this.flashApi;
    const m = realm.object();
    const call = <T>(kind: string, bytes: number, fn: () => T): T => {
      this.native(kind, bytes);
      return this.storageCall(kind, fn);
    };
    const area = (a: { addr: number; length: number } | undefined) => (a === undefined ? undefined : realm.copyIn(a));
    m["getPage"] = (addr: unknown) => call("Flash.getPage", 0, () => area(f.getPage(Number(addr))));
    m["getFree"] = () => call("Flash.getFree", 0, () => realm.array(f.getFree().map((a) => realm.copyIn(a))));
    m["erasePage"] = (addr: unknown) => { call("Flash.erasePage", 0, () => f.erasePage(addr)); };
    m["write"] = (data: unknown, addr: unknown) => {
      if (data === undefined) throw realm.newError("Error", "Data is not defined");
      if (typeof data === "number") throw realm.newError("Error", "Flash.write: data is a number (one byte on a board); pass a string, array or typed array of whole words");
      const b = toBytes(data);
      call("Flash.write", b.length, () => f.write(b, Number(addr)));
    };
    m["read"] = (length: unknown, addr: unknown) => call("Flash.read", Number(length) || 0, () => {
      const b = f.read(Number(length), Number(addr));
      return b === undefined ? undefined : realm.uint8Array(b);
    });
    return m;
  }

  private storageModule(realm: Realm): Record<string, unknown> {
    const s = () => this.storage;
    const m = realm.object();
    const dataString = (d: unknown) => (typeof d === "string" ? d : bytesToString(toBytes(d)));
    const call = <T>(kind: string, bytes: number, f: () => T): T => {
      this.native(kind, bytes);
      return this.storageCall(kind, f);
    };
    m["read"] = (name: unknown, offset?: unknown, length?: unknown) =>
      call("Storage.read", 0, () => {
        const r = s().readMapped(String(name), Number(offset ?? 0) || 0, Number(length ?? 0) || 0);
        if (r === undefined) return undefined;
        this.mappedReads.remember(r.data, r.flashOffset); // memory-mapped: E.getAddressOf finds it
        return r.data;
      });
    m["readArrayBuffer"] = (name: unknown) => call("Storage.readArrayBuffer", 0, () => {
      const ab = s().readArrayBuffer(String(name));
      return ab === undefined ? undefined : realm.arrayBuffer(new Uint8Array(ab));
    });
    m["readJSON"] = (name: unknown, noExceptions?: unknown) => call("Storage.readJSON", 0, () => realm.copyIn(s().readJSON(String(name), Boolean(noExceptions))));
    m["write"] = (name: unknown, data: unknown, offset?: unknown, size?: unknown) => {
      const text = dataString(data);
      return call("Storage.write", text.length, () => s().write(String(name), text, Number(offset ?? 0) || 0, Number(size ?? 0) || 0));
    };
    m["writeJSON"] = (name: unknown, value: unknown) => call("Storage.writeJSON", 0, () => s().writeJSON(String(name), value));
    m["erase"] = (name: unknown) => { call("Storage.erase", 0, () => s().erase(String(name))); };
    m["eraseAll"] = () => { call("Storage.erase", 0, () => s().eraseAll()); };
    m["list"] = (filter?: unknown, opts?: unknown) => call("Storage.list", 0, () =>
      realm.array(s().list(filter as string | RegExp | undefined, opts as { sf?: boolean } | undefined)));
    m["getStats"] = () => call("Storage.getStats", 0, () => realm.copyIn(s().getStats()));
    m["getFree"] = () => call("Storage.getFree", 0, () => s().getFree());
    m["compact"] = () => { call("Storage.compact", 0, () => s().compact()); };
    m["hash"] = (filter?: unknown) => call("Storage.hash", 0, () => s().hash(filter as string | RegExp | undefined));
    m["open"] = (name: unknown, mode: unknown) => {
      const f = call("Storage.open", 0, () => s().open(String(name), String(mode) as "r" | "w" | "a"));
      const o = realm.object();
      o["read"] = (n: unknown) => call("StorageFile.read", Number(n) || 0, () => f.read(Number(n)));
      o["readLine"] = () => call("StorageFile.read", 0, () => f.readLine());
      o["getLength"] = () => call("StorageFile.read", 0, () => f.getLength());
      o["write"] = (d: unknown) => { const t = dataString(d); call("StorageFile.write", t.length, () => f.write(t)); };
      o["erase"] = () => { call("Storage.erase", 0, () => f.erase()); };
      return o;
    };
    return m;
  }

  private setConsole(dev: unknown): void {
    let next: DeviceName | null = null;
    if (dev !== null) {
      const name = typeof dev === "string" ? dev : dev !== undefined && typeof (dev as { toString?: unknown }).toString === "function" ? String(dev) : "";
      if (!["USB", "Serial1", "LoopbackA", "LoopbackB"].includes(name)) throw this.realmOrThrow().newError("Error", `setConsole: unknown device ${name || String(dev)}`);
      next = name as DeviceName;
    }
    if (next === this.consoleDev) return;
    this.irqUpTo(this.deviceNow()); // bytes that arrived before this statement met the old console
    const old = this.consoleDev;
    this.console?.consoleMoving?.(next ?? "null");
    this.consoleDev = next;
    this.consoleChangeList.push({ atMs: this.deviceNow(), device: next, locked: this.consoleLockState.locked });
    if (old !== null) this.console?.consoleMoved?.(old);
  }

  private memory(realm: Realm): unknown {
    const p = this.profile;
    let usage: number;
    try {
      usage = this.estimateMemory().total;
    } catch {
      usage = 0;
    }
    return realm.copyIn({ free: Math.max(0, p.vars.count - usage), usage, total: p.vars.count, history: 0, gc: 0, gctime: 0, blocksize: p.vars.bytesPerVar });
  }

  // ───────────────────────────────────────── cost model wiring (board/docs/cost-model.md "Wiring")

  /** Every source the board compiles passes here: functions un-hoisted, then instrumented when metered. */
  private prepareSource(code: string, filename: string): string {
    const unhoisted = unhoistFunctions(code);
    // Code a caller already instrumented (evaluate(meter.prepare(src))) is not instrumented twice.
    if (!this.cost?.prepare || unhoisted.includes(COST_GLOBAL)) return unhoisted;
    return this.cost.prepare(unhoisted, filename);
  }

  private costBegin(label: string | null): void {
    if (label !== null) this.cost?.begin?.(label);
  }

  private costEnd(label: string | null): void {
    if (label === null || !this.cost?.end) return;
    try {
      this.cost.end();
    } catch {
      // the harness reset the meter inside this entry: its open scopes are gone, nothing to close
    }
  }

  private costScope<T>(label: string, fn: () => T): T {
    this.costBegin(label);
    try {
      return fn();
    } finally {
      this.costEnd(label);
    }
  }

  /** Estimated time from the start of the NFCrx frame to now (the firmware's nfcSend), if metered. */
  private nfcReplyEstimate(): { ms: number; inTime: boolean } | undefined {
    const c = this.cost;
    if (!c?.peek || !c.estimate) return undefined;
    const record = c.peek("NFCrx");
    if (!record) return undefined;
    const { ms, inTime } = nfcFrameVerdict({ estimate: (p, counts) => c.estimate!(p, counts) }, this.profile, record);
    return { ms, inTime };
  }

  private reportCostEvent(event: CostEvent, line: string): void {
    this.printLine(`[virtual board] ${line}`);
    this.costEventList.push(event);
    if (this.costEventList.length > 1000) this.costEventList.shift();
    for (const l of [...this.costEventListeners]) l(event);
  }

  /** Code run from Storage (boot files: facts §8 eval figures; modules: require figures) plus live globals. */
  private estimateMemory(): VarEstimate {
    const p = this.profile;
    const g = this.contextGlobal ?? this.globalObject();
    const code = this.bootCodeBytes > 0 ? { codeBytes: this.bootCodeBytes, codeMode: "storage" as const } : {};
    const registry = this.cost?.lookup ? (this.cost as unknown as FunctionRegistry) : undefined;
    const runtime = this.runtimeValues;
    const est = estimateVars(g, { profile: p, exclude: this.builtinGlobals, ...code, baselineVars: INTERPRETER_BASELINE_VARS, builtinVars: builtinVars((this.cost as { touched?: Set<string> } | undefined)?.touched ?? []), isBuiltin: (o) => runtime.has(o), ...(registry ? { functions: registry, roots: this.firmwareRoots(), activeCalls: (this.cost as unknown as { activeCalls(): { scope: ScopeInfo; depth: number }[] }).activeCalls?.() ?? [] } : {}) });
    if (this.moduleCodeBytes > 0) {
      const modules = codeVars(this.moduleCodeBytes, "require", p);
      est.code += modules;
      est.total += modules;
      est.byType["modules"] = modules;
    }
    return est;
  }

  /**
   * What the runtime holds for the firmware outside its globals, with the vars Espruino spends on
   * holding it: an event listener is a `#on<event>` property of its object (an array when there are
   * several, src/jswrap_object.c); a timer is an object in the hidden timers array with time, cb and
   * (setInterval) intr, plus args (src/jswrap_interactive.c); a watch an object in the watches array
   * (pin, recur, debounce, edge, cb, …). Every figure is checked by board/test/cost-vars-real.test.ts.
   */
  private firmwareRoots(): RuntimeRoot[] {
    const r = sizeRulesFor(this.profile);
    const roots: RuntimeRoot[] = [];
    const emitters: Emitter[] = [this.events.E, this.events.process, this.events.NRF, ...this.devices.values()];
    for (const em of emitters) {
      for (const [event, listeners] of em.entries()) {
        // measured (board/test/vectors/real-espruino-vars.json): `#on<event>` name + an array + one element per listener
        listeners.forEach((fn, i) => roots.push({ value: fn, holderVars: 1 + (i === 0 ? nameVars("#on" + event, r) + 1 : 0) }));
      }
    }
    for (const t of this.clock.firmwareTimers()) {
      const [cb, ...args] = t.held;
      // timers-array element + object + time (name + long int) + cb name; intr name + value; args name + array + elements
      roots.push({ value: cb, holderVars: 5 + (t.interval ? 2 : 0) + (args.length ? 2 : 0) });
      for (const a of args) roots.push({ value: a, holderVars: 1, asElement: true });
    }
    // measured: 14 vars for { repeat, edge: 'both', debounce } (BTN1's watch); 11 without debounce, +1 for one edge
    for (const w of this.pins.watchCallbacks()) roots.push({ value: w.fn, holderVars: 11 + (w.debounced ? 3 : 0) + (w.bothEdges ? 0 : 1) });
    return roots;
  }

  private peakVars = 0;
  private peakSampleHits = Infinity;

  /**
   * The most vars a memory sample saw since the last reset (only with a cost meter). Samples are
   * taken at the end of every entry and every few hundred counter hits inside metered code; pass
   * `sampleEveryHits` to sample more often while measuring a peak (costs host time).
   */
  memoryPeak(): number {
    return this.peakVars;
  }

  resetMemoryPeak(sampleEveryHits?: number): void {
    this.peakVars = 0;
    this.peakSampleHits = sampleEveryHits ?? Infinity;
    if (sampleEveryHits !== undefined) { this.memoryEvery = sampleEveryHits; this.applyTick(); }
  }

  /** Counter tick while metered code runs: samples memory and interrupts the code when it ran out. */
  private memoryTick(): void {
    if (this.outOfMemory) throw this.outOfMemory;
    if (this.entryDepth > 0 && this.powered && !this.dead) this.checkMemory("running code", true);
  }

  /**
   * Out of memory (facts §8): Espruino prints OUT OF MEMORY, sets the MEMORY error flag and
   * interrupts the running code; the board carries on in its event loop. Checked at the end of every
   * entry and every MEMORY_TICK_HITS counter hits inside metered code (only with a cost meter).
   */
  private checkMemory(where: string, interrupt: boolean): void {
    if (!this.cost?.estimate) return;
    const limit = this.profile.vars.count;
    let usage: number;
    try {
      usage = this.estimateMemory().total;
    } catch {
      return;
    }
    if (usage > this.peakVars) this.peakVars = usage;
    if (usage <= limit) {
      this.oomWatermark = 0;
      this.memoryEvery = Math.min(this.peakSampleHits, memoryTickHits(limit - usage));
      this.applyTick();
      return;
    }
    if (usage <= this.oomWatermark) return; // already reported at this level; nothing new was allocated
    this.oomWatermark = usage;
    if (!this.errorFlags.includes(OUT_OF_MEMORY_FLAG)) this.errorFlags.push(OUT_OF_MEMORY_FLAG);
    this.printLine("OUT OF MEMORY");
    this.reportCostEvent({ kind: "out-of-memory", atMs: this.clock.now(), entry: where, needed: usage, limit },
      `about ${usage} vars needed, ${limit} on ${this.profile.id} (${where}${interrupt ? ", interrupted" : ", after the entry finished"})`);
    if (interrupt) {
      this.outOfMemory = new OutOfMemory(usage, limit);
      this.memoryEvery = 1; // every later counter hit rethrows until the entry ends
      this.applyTick();
      throw this.outOfMemory;
    }
  }

  private endInterrupt(): void {
    if (!this.outOfMemory && !this.interrupted) return;
    this.outOfMemory = undefined;
    this.interrupted = undefined;
    this.memoryEvery = Math.min(this.peakSampleHits, MEMORY_TICK_HITS);
    this.applyTick();
  }

  private enableWatchdog(timeoutS: number, auto: boolean): void {
    if (!(timeoutS > 0)) throw this.realmOrThrow().newError("Error", "E.enableWatchdog: timeout must be > 0 seconds");
    const ms = timeoutS * 1000;
    if (this.watchdog) this.clock.cancel(this.watchdog.event);
    this.watchdog = { timeoutMs: ms, auto, event: this.clock.addInternal(ms, () => this.watchdogFired()) };
  }

  private kickWatchdog(): void {
    if (!this.watchdog) return;
    this.clock.cancel(this.watchdog.event);
    this.watchdog.event = this.clock.addInternal(this.watchdog.timeoutMs, () => this.watchdogFired());
  }

  private watchdogFired(): void {
    this.transcriptText += "[watchdog reset]\r\n";
    this.boot("reboot");
  }

  // ───────────────────────────────────────── devices

  private hostToDevice(dev: DeviceName, chunks: Uint8Array[], atMs?: number): void {
    if (atMs !== undefined && (atMs > this.clock.now() || !this.powered)) {
      // In flight until device time atMs: the IRQ may see it inside running code (checkIrq).
      for (const chunk of chunks) this.irqQueue.push({ dev, atMs, bytes: bytesToString(chunk), done: false, scheduled: false });
      this.irqQueue.sort((a, b) => a.atMs - b.atMs);
      if (this.powered && !this.booting) this.scheduleIrqDeliveries();
      this.applyTick();
      return;
    }
    if (!this.powered) return; // bytes into an unpowered board are lost
    for (const chunk of chunks) {
      const bytes = bytesToString(chunk);
      this.clock.addInternal(0, () => this.deliverBytes(dev, bytes));
    }
    this.pump();
  }

  /** The idle loop hands bytes to the console if `dev` is the console now, else to its 'data' listeners. */
  private deliverBytes(dev: DeviceName, bytes: string): void {
    if (this.consoleDev === dev) {
      if (this.console) this.enter(`console input on ${dev}`, () => this.console!.receive(bytes));
      return;
    }
    for (const fn of this.devices.get(dev)!.get("data")) this.invoke(`${dev}.on('data')`, fn, [bytes]);
  }

  /** Clock events that deliver the bytes still in flight (each at its own device time). */
  private scheduleIrqDeliveries(): void {
    for (const item of this.irqQueue) {
      if (item.scheduled) continue;
      item.scheduled = true;
      this.clock.addInternal(item.atMs - this.clock.now(), () => {
        const i = this.irqQueue.indexOf(item);
        if (i >= 0) this.irqQueue.splice(i, 1);
        if (!this.powered) return;
        if (!item.done) this.irq(item, this.clock.now());
        this.deliverBytes(item.dev, item.bytes);
        // arrived while idle: jsiLoop clears the flag at the end of this turn (nothing was running)
        if (!this.busy) this.ctrlC.clear();
        this.applyTick();
      });
    }
  }

  /**
   * The receive IRQ for bytes arriving at device time `atMs` (jshPushIOCharEventsHandler): a 0x03 on
   * the device that is the console now sets EXEC_CTRL_C unless the console is locked or a packet is
   * being received (jsiCtrlC). Other bytes wait for the idle loop.
   */
  private irq(item: { dev: DeviceName; bytes: string; done: boolean }, atMs: number): void {
    item.done = true;
    if (!item.bytes.includes("\x03")) return;
    if (this.consoleDev !== item.dev || this.consoleLockState.locked || this.console?.receivingPacket?.()) return;
    this.ctrlC.set(atMs);
  }

  /** The IRQ for every byte in flight that has arrived by device time `now`. */
  private irqUpTo(now: number): void {
    if (!this.busy) return; // outside running code, bytes get their IRQ from their delivery event
    for (const item of this.irqQueue) {
      if (item.atMs > now) break;
      if (!item.done) this.irq(item, item.atMs);
    }
  }

  /** Device ms now: inside running code, where the cost model's clock says that code has got to. */
  deviceNow(): number {
    const b = this.busy;
    if (!b || !this.cost?.clockMs) return this.clock.now();
    return b.clock + (this.cost.clockMs() - b.meterMs);
  }

  /** Console moves and locks so far, with their device ms (where a host byte could still reach the REPL). */
  consoleChanges(): readonly ConsoleChange[] {
    return this.consoleChangeList;
  }

  /** Ctrl-C interrupts so far (device ms, via the debugger or EXEC_INTERRUPTED, the entry it stopped). */
  interrupts(): readonly InterruptRecord[] {
    return this.interruptList;
  }

  /** Handles in-flight bytes whose time has come, then stops the code if the Ctrl-C flag says so. */
  private checkIrq(siteId: number): void {
    const now = this.deviceNow();
    this.irqUpTo(now);
    const state = this.ctrlC.state(now);
    if (state === "interrupted") this.interrupt("interrupted", now);
    if (state === "wait" && this.cost?.isLoopSite?.(siteId)) this.interrupt("debugger", now);
  }

  /**
   * Stops the running code. Through the debugger (a `debug>` prompt on the console: the host can
   * evaluate anything) the board models the host answering `q`, which sets EXEC_INTERRUPTED too.
   */
  private interrupt(via: InterruptVia, now: number): never {
    this.ctrlC.clear();
    this.interrupted = new CtrlCInterrupt(via, now);
    this.interruptList.push({ atMs: now, via, entry: this.busy?.label ?? "", console: this.consoleDev });
    this.applyTick();
    throw this.interrupted;
  }

  /** Whether counter hits must be checked one by one (bytes in flight, a Ctrl-C pending or interrupting). */
  private irqWatch(): boolean {
    return this.cost?.clockMs !== undefined && (this.interrupted !== undefined || this.ctrlC.isSet || this.irqQueue.some((i) => !i.done));
  }

  /** (Re)arms the meter's tick: every hit while Ctrl-C matters, else every memoryEvery hits for memory samples. */
  private applyTick(): void {
    if (!this.cost?.setTick) return;
    const every = this.irqWatch() ? 1 : this.memoryEvery;
    this.memoryLeft = this.memoryEvery;
    this.cost.setTick(every, this.cost.estimate || every === 1 ? (siteId) => this.onTick(siteId) : null);
  }

  private onTick(siteId: number): void {
    if (this.outOfMemory) throw this.outOfMemory;
    if (this.interrupted) throw this.interrupted;
    if (this.irqWatch()) {
      this.checkIrq(siteId);
      if (--this.memoryLeft > 0) return;
      this.memoryLeft = this.memoryEvery;
    }
    if (this.cost?.estimate) this.memoryTick();
  }

  /** Opens the device timeline of code about to run (a boot, or one event-loop entry). */
  private beginBusy(label: string): void {
    this.busy = { clock: this.clock.now(), meterMs: this.cost?.clockMs?.() ?? 0, label };
  }

  /** The code finished: bytes that arrived meanwhile got their IRQ, and jsiLoop clears a Ctrl-C that did not interrupt. */
  private endBusy(): void {
    if (!this.busy) return;
    this.irqUpTo(this.deviceNow());
    this.busy = undefined;
    this.ctrlC.clear();
    this.applyTick();
  }

  private deviceToHost(dev: DeviceName, bytes: string): void {
    if (dev === "USB") this.usb.emitFromDevice(stringToBytes(bytes));
    else if (dev === "Serial1") this.serial1.emitFromDevice(stringToBytes(bytes));
    else this.hostToDevice(dev === "LoopbackA" ? "LoopbackB" : "LoopbackA", [stringToBytes(bytes)]);
  }

  private bounce(n: number, pressed: boolean, bounceMs?: number[]): void {
    this.pins.setButton(n, pressed);
    // contact bounce: toggles at the given offsets (ms after the first edge), ending on the final level
    let level = pressed;
    let elapsed = 0;
    for (const t of bounceMs ?? []) {
      this.advance(Math.max(0, t - elapsed));
      elapsed = Math.max(elapsed, t);
      level = !level;
      this.pins.setButton(n, level);
    }
    if (level !== pressed) this.pins.setButton(n, pressed);
  }
}

/** Counter hits before the first memory sample of a fresh context. */
const MEMORY_TICK_HITS = 1024;

/**
 * Vars a 2v29 interpreter holds with no program (root, hidden root, timers and watches arrays, the
 * console's objects): measured 44 with a 31-character script held in RAM (4 of them) on both the
 * puckjs and pico Linux builds (board/docs/cost-model.md "JsVars").
 */
export const INTERPRETER_BASELINE_VARS = 40;

/**
 * Counter hits until the next memory sample, from the vars still free: a counter hit stands for a
 * run of statements, assumed to allocate at most ~4 vars, so the pool cannot overflow by much
 * between samples (a near-full Puck.js pool is sampled every 8-16 hits, which is what finds
 * INFO's transient peak); far from the limit the (walking) estimate runs rarely.
 */
function memoryTickHits(freeVars: number): number {
  return Math.max(8, Math.min(16_384, Math.floor(freeVars / 4)));
}

/**
 * The cost scope label of an entry (null: no scope of its own; boot files and E.on('init') share the
 * "boot" scope, NFCrx handlers the frame's "NFCrx" scope opened by the NFC model).
 */
function costLabelOf(entryLabel: string): string | null {
  if (entryLabel === "evaluate") return "eval";
  if (entryLabel === "setTimeout" || entryLabel === "setInterval") return "timer";
  if (entryLabel.startsWith("setWatch(")) return "watch";
  if (entryLabel.startsWith("console input on ")) return "console";
  if (entryLabel.startsWith(".") || entryLabel === "E.on('init')" || entryLabel === "NRF.on('NFCrx')") return null;
  const on = /^(\w+)\.on\('([^']*)'\)$/.exec(entryLabel);
  if (on) return on[1] === "NRF" ? on[2]! : `${on[1]}.${on[2]}`;
  return entryLabel;
}

function describeError(e: unknown): string {
  if (e !== null && typeof e === "object" && "message" in e) {
    const type = (e as { type?: unknown }).type ?? (e as { name?: unknown }).name ?? "Error";
    const msg = String((e as { message: unknown }).message);
    return msg ? `${String(type)}: ${msg}` : String(type);
  }
  return formatForPrint(e);
}
