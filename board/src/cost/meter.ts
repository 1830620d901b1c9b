// CostMeter: collects what the instrumented bundle executed (site hits) and what the runtime's
// native calls did (kind + bytes), and turns both into estimated board milliseconds with a board
// profile's calibration. Scopes (begin/end, scope) give the cost of one command or handler.
import {
  COST_GLOBAL, COUNT_FIELDS, instrument, zeroCounts,
  type FunctionSite, type InstrumentOptions, type Site, type SiteCounts,
} from "./instrument.ts";
import { CPI_RANGE, unitCostsFor, type ProfileLike, type UnitCosts } from "./calibration.ts";

/** An estimate at the point CPI, restated at both ends of CPI_RANGE (physical flash time does not scale). */
export function msRange(ms: number, flashMs = 0): { low: number; high: number } {
  const cpu = ms - flashMs;
  return { low: (cpu * CPI_RANGE.low) / CPI_RANGE.point + flashMs, high: (cpu * CPI_RANGE.high) / CPI_RANGE.point + flashMs };
}

export interface NativeTally { calls: number; bytes: number; units: number }

export interface CostCounts extends SiteCounts {
  native: Record<string, NativeTally>;
  /** Bytes copied by string `+` (result length) and `+=` (appended length). */
  concatBytes: number;
  /** Characters of function bodies lexed to create function instances (Espruino scans a body to find its end). */
  lexChars: number;
  flashWordWrites: number;
  flashPageErases: number;
}

export interface CostBreakdown {
  statements: number; loops: number; ops: number; props: number; elems: number;
  calls: number;          // JS function entries
  callSites: number;      // 0 with the default calibration (folded into calls and native fixed costs)
  native: number;         // sum of nativeByKind
  concat: number;         // bytes copied by string `+` / `+=`
  lex: number;            // function bodies lexed when function instances are created
  nativeByKind: Record<string, number>;
  flash: number;          // physical flash word writes and page erases (only with attachFlash)
}

export interface CostEstimate {
  /** At CPI_RANGE.point. */
  ms: number;
  /** The same counts at CPI_RANGE.low and .high (flash time included unscaled in both). */
  msRange: { low: number; high: number };
  breakdown: CostBreakdown;   // milliseconds per category; they sum to ms
  counts: CostCounts;
  unknownNativeKinds: string[];
}

export interface ScopeRecord { label: string; counts: CostCounts }

/** What the runtime's flash model offers (board/src/flash.ts NorFlash). */
export interface FlashCounters { wordWrites(): number; eraseCounts(): number[] }

/** The object installed as the hidden global; instrumented code calls `b(siteId)` and `f(fn, …)`. */
export interface CostHooks {
  b(siteId: number): void;
  /** `a + b`, counting the bytes a string result copies. */
  s(a: unknown, b: unknown): unknown;
  /** `x += y` for a string x: the bytes appended. */
  a(x: unknown, y: unknown): unknown;
  /** Function entry: the invocation's scope is live (and on the call stack) until `x()`. */
  e(functionSiteId: number, scopeToken: object, peek: () => unknown[]): void;
  x(): void;
  f(fn: unknown, functionSiteId: number, scopeToken: object | null, peek: (() => unknown[]) | null): unknown;
}

/**
 * A function scope object as Espruino keeps it (the `functionRoot` of one call, src/jsparse.c
 * jspeFunctionCall): the names it holds, a peek at their current values, and the scope it was
 * called in (the callee's own creation scope).
 */
export interface ScopeInfo {
  readonly names: readonly string[];
  values(): unknown[];
  parent(): ScopeInfo | null;
}

/** What the meter knows about a function instance the instrumented code created. */
export interface FunctionInfo { site: FunctionSite; scope: ScopeInfo | null }

/** Looks up function instances the instrumented code registered (the var walk's view of closures). */
export interface FunctionRegistry { lookup(fn: object): FunctionInfo | undefined }

// --- native cost table ---------------------------------------------------------------------
// Per kind: µs for one call moving `bytes` bytes (`units`: iterations for PBKDF2, else unused).
// Names are what the runtime passes to meter.native(kind, bytes). Byte costs given in
// instructions are assumptions (see cost-model.md); the fixed parts come from facts §3 rows.
type NativeCostFn = (u: UnitCosts, bytes: number, units: number) => number;

const shaBlocks = (bytes: number, blockBytes: number, lengthBytes: number): number =>
  Math.floor((bytes + lengthBytes) / blockBytes) + 1; // message + 0x80 + length, padded to whole blocks

// units = the share of calls whose input was a JS string (not flat: each byte read through a string iterator)
const sha256Like: NativeCostFn = (u, b, nonFlat) => u.native.sha256FixedUs + shaBlocks(b, 64, 8) * u.native.sha256PerBlockUs + Math.min(1, nonFlat) * b * u.sha256PerNonFlatByteUs;
const sha512Like: NativeCostFn = (u, b) => u.native.sha256FixedUs + shaBlocks(b, 128, 16) * 2 * u.native.sha256PerBlockUs;
const aes: NativeCostFn = (u, b) => u.native.aesFixedUs + Math.ceil(b / 16) * u.native.aesPerBlockUs;
const aesCcm: NativeCostFn = (u, b) => u.native.aesFixedUs + (Math.ceil(b / 16) + 1) * 2 * u.native.aesPerBlockUs;
const perByte = (fixed: "allocatingFixedUs" | "plainFixedUs", instructionsPerByte: number): NativeCostFn =>
  (u, b) => u.native[fixed] + b * instructionsPerByte * u.usPerInstruction;

export const NATIVE_KINDS: Readonly<Record<string, NativeCostFn>> = Object.freeze({
  "SHA1": sha256Like, "SHA224": sha256Like, "SHA256": sha256Like,
  "SHA384": sha512Like, "SHA512": sha512Like,
  "AES.encrypt": aes, "AES.decrypt": aes,
  "AES.ccmEncrypt": aesCcm, "AES.ccmDecrypt": aesCcm,
  // HMAC-SHA1 per iteration ≈ 4 compressions, per 20-byte output block (bytes = key bytes, units = iterations)
  "PBKDF2": (u, b, iterations) => u.native.allocatingFixedUs + Math.max(1, iterations) * Math.ceil(Math.max(1, b) / 20) * 4 * u.native.sha256PerBlockUs,
  "E.CRC32": perByte("plainFixedUs", 40),
  "E.toString": perByte("allocatingFixedUs", 2), "E.toUint8Array": perByte("allocatingFixedUs", 2),
  "E.toArrayBuffer": perByte("plainFixedUs", 0), "E.toJS": perByte("allocatingFixedUs", 60),
  "JSON.stringify": perByte("allocatingFixedUs", 60), "JSON.parse": perByte("allocatingFixedUs", 100),
  "btoa": perByte("allocatingFixedUs", 8), "atob": perByte("allocatingFixedUs", 8),
  "Storage.read": perByte("plainFixedUs", 0), "Storage.readArrayBuffer": perByte("plainFixedUs", 0),
  "Storage.readJSON": perByte("allocatingFixedUs", 100),
  "Storage.write": perByte("plainFixedUs", 4), "Storage.writeJSON": perByte("allocatingFixedUs", 64),
  "Storage.erase": perByte("plainFixedUs", 0), "Storage.list": perByte("allocatingFixedUs", 4),
  "Storage.compact": perByte("plainFixedUs", 4), "Storage.getFree": perByte("plainFixedUs", 0),
  "Storage.getStats": perByte("allocatingFixedUs", 0), "Storage.hash": perByte("plainFixedUs", 40),
  "StorageFile.read": perByte("allocatingFixedUs", 2), "StorageFile.write": perByte("plainFixedUs", 4),
  // require("Flash") (src/jswrap_flash.c): thin wrappers over jshFlash*; the flash time itself (word
  // writes, page erases) is charged from the NOR model's counters, not here. read allocates a
  // Uint8Array and copies (2/byte, like E.toUint8Array); write walks its data once (4/byte, like
  // Storage.write); getPage/getFree build small objects. Assumptions, like the other plain natives.
  "Flash.read": perByte("allocatingFixedUs", 2), "Flash.write": perByte("plainFixedUs", 4),
  "Flash.erasePage": perByte("plainFixedUs", 0), "Flash.getPage": perByte("allocatingFixedUs", 0),
  "Flash.getFree": perByte("allocatingFixedUs", 0), "E.getAddressOf": perByte("plainFixedUs", 0),
  // E.memoryArea makes one native-string var pointing at flash: no copy, whatever the length
  "E.memoryArea": perByte("plainFixedUs", 0),
  "USB.write": perByte("plainFixedUs", 2), "Serial1.write": perByte("plainFixedUs", 2),
  "NRF.nfcSend": perByte("plainFixedUs", 2),
  // Graphics on a 1 bpp flat ArrayBuffer (libs/graphics/lcd_arraybuffer.c _flat paths) and the I2C
  // bus: assumptions, board/docs/cost-model.md "Display". bytes/units as board/src/display/runtime.ts
  // reports them: clear/fillRect bytes = pixels/8, units = pixels; drawString bytes = chars, units =
  // pixels written; I2C.writeTo bytes = data bytes, units = bus kbit/s.
  "Graphics.createArrayBuffer": perByte("allocatingFixedUs", 1),
  "Graphics.clear": (u, _b, px) => u.native.plainFixedUs + px * GFX_PIXEL_INSTRUCTIONS * u.usPerInstruction,
  "Graphics.fillRect": (u, _b, px) => u.native.plainFixedUs + (GFX_RECT_INSTRUCTIONS + px * GFX_PIXEL_INSTRUCTIONS) * u.usPerInstruction,
  "Graphics.drawString": (u, chars, px) => u.native.plainFixedUs + (chars * GFX_CHAR_INSTRUCTIONS + px * (GFX_PIXEL_INSTRUCTIONS + GFX_RECT_INSTRUCTIONS)) * u.usPerInstruction,
  "Graphics.stringWidth": perByte("plainFixedUs", 30),
  "Graphics.setFont": perByte("plainFixedUs", 0), "Graphics.setColor": perByte("plainFixedUs", 0),
  "Graphics.setFontAlign": perByte("plainFixedUs", 0), "Graphics.setPixel": perByte("plainFixedUs", 0),
  "Graphics.getPixel": perByte("plainFixedUs", 0),
  // the CPU waits for the bus (nRF52 TWI, jshI2CWrite): address + data bytes, 9 clocks each, + start/stop
  "I2C.writeTo": (u, b, kbps) => u.native.plainFixedUs + ((b + 1) * 9 + 2) * 1000 / Math.max(1, kbps || 100),
});

/** Display assumptions (cost-model.md "Display"): instructions per pixel written on a flat 1 bpp
 * buffer (read-modify-write of one bit with its index arithmetic), per graphicsFillRect call (clip,
 * coordinate transform, dispatch) and per character (font lookup, glyph row loop). */
export const GFX_PIXEL_INSTRUCTIONS = 20;
export const GFX_RECT_INSTRUCTIONS = 120;
export const GFX_CHAR_INSTRUCTIONS = 400;

/** Cost of a kind the table does not know: an allocating native that copies its bytes. */
const UNKNOWN_NATIVE: NativeCostFn = perByte("allocatingFixedUs", 2);

/** Kinds are matched without a `crypto.` / `require("crypto").` prefix. */
export function normaliseNativeKind(kind: string): string {
  return kind.replace(/^(require\(["']crypto["']\)\.|crypto\.)/, "");
}

function cloneNative(n: Record<string, NativeTally>): Record<string, NativeTally> {
  const out: Record<string, NativeTally> = {};
  for (const k of Object.keys(n)) out[k] = { ...n[k]! };
  return out;
}

function emptyCounts(): CostCounts {
  return { ...zeroCounts(), native: {}, concatBytes: 0, lexChars: 0, flashWordWrites: 0, flashPageErases: 0 };
}

interface Snapshot { label: string; hits: Float64Array; native: Record<string, NativeTally>; words: number; erases: number; concat: number; lex: number }

export class CostMeter implements FunctionRegistry {
  readonly hooks: CostHooks;
  private functionSites: FunctionSite[] = [];
  private fnInfo = new WeakMap<object, FunctionInfo>();
  /** Builtins the instrumented sources touch (builtins.ts), for the vars estimate. */
  readonly touched = new Set<string>();
  /** Invocations running now, outermost first (entry hook `e`, exit hook `x`). */
  private stack: ({ scope: ScopeInfo; depth: number } | null)[] = [];

  /** Scopes of the JS calls running now, and their depth (for the scopes array each call holds). */
  activeCalls(): { scope: ScopeInfo; depth: number }[] {
    return this.stack.filter((s): s is { scope: ScopeInfo; depth: number } => s !== null);
  }
  private scopeInfo = new WeakMap<object, ScopeInfo>();
  /** Finished scopes, oldest first (bounded to the last `maxScopeRecords`). */
  readonly scopes: ScopeRecord[] = [];
  maxScopeRecords = 1000;

  private sites: Site[] = [];
  private hits = new Float64Array(64);
  private nativeTallies: Record<string, NativeTally> = {};
  private concatBytes = 0;
  private lexChars = 0;
  private flash: FlashCounters | null = null;
  private flashBaseWords = 0;
  private flashBaseErases = 0;
  private open: Snapshot[] = [];

  private tickEvery = Infinity;
  private tickLeft = Infinity;
  private tickFn: ((siteId: number) => void) | null = null;

  // Device clock (startClock): estimated board µs so far, kept per hit so a check point can read it
  // in O(1) — the virtual board places host bytes (a Ctrl-C) on this timeline.
  private clockUnits: UnitCosts | null = null;
  private siteUs = new Float64Array(64);
  private clockUs = 0;
  private clockConcat0 = 0;
  private clockLex0 = 0;

  constructor() {
    // Kept tiny: it runs once per basic block of the firmware. With no tick set, tickLeft stays
    // Infinity and the test never fires.
    this.hooks = Object.freeze({
      b: (siteId: number): void => {
        this.hits[siteId]!++;
        this.clockUs += this.siteUs[siteId]!;
        if (--this.tickLeft <= 0) this.fireTick(siteId);
      },
      e: (id: number, token: object, peek: () => unknown[]): void => {
        const site = this.functionSites[id];
        if (!site) { this.stack.push(null); return; }
        let scope = this.scopeInfo.get(token);
        if (!scope) scope = this.scopeOf(token, { ...site, scopeNames: site.ownNames }, peek);
        this.stack.push({ scope, depth: site.depth });
      },
      x: (): void => { this.stack.pop(); },
      s: (a: unknown, b: unknown): unknown => {
        const r = (a as number) + (b as number);
        if (typeof r === "string") this.concatBytes += (r as string).length;
        return r;
      },
      a: (x: unknown, y: unknown): unknown => {
        const r = (x as number) + (y as number);
        if (typeof r === "string") this.concatBytes += typeof x === "string" ? (r as string).length - x.length : (r as string).length;
        return r;
      },
      f: (fn: unknown, id: number, token: object | null, peek: (() => unknown[]) | null): unknown => {
        const site = this.functionSites[id];
        if (site) this.lexChars += site.bodyChars;
        if (site && (typeof fn === "function") && !this.fnInfo.has(fn)) {
          this.fnInfo.set(fn, { site, scope: token && peek ? this.scopeOf(token, site, peek) : null });
        }
        return fn;
      },
    });
  }

  /**
   * Calls `fn` from inside the running firmware once every `everyHits` counter hits (null: never).
   * The runtime uses it to sample memory while code runs; an exception thrown by `fn` propagates
   * into the firmware at that point, which is how an out-of-memory interrupts running code.
   */
  setTick(everyHits: number, fn: ((siteId: number) => void) | null): void {
    if (fn !== null && !(Number.isInteger(everyHits) && everyHits >= 1)) throw new RangeError(`CostMeter.setTick(everyHits, fn): everyHits must be an integer >= 1, got ${everyHits}`);
    this.tickFn = fn;
    this.tickEvery = fn ? everyHits : Infinity;
    this.tickLeft = this.tickEvery;
  }

  /** The scope object of the invocation whose `arguments` is `token` (one per call, shared by its closures). */
  private scopeOf(token: object, site: FunctionSite, peek: () => unknown[]): ScopeInfo {
    let scope = this.scopeInfo.get(token);
    if (scope) return scope;
    let callee: unknown;
    try { callee = (token as { callee?: unknown }).callee; } catch { callee = undefined; } // strict code: no callee
    const lookup = (f: unknown) => (typeof f === "function" ? this.fnInfo.get(f) : undefined);
    scope = { names: site.scopeNames, values: peek, parent: () => lookup(callee)?.scope ?? null };
    this.scopeInfo.set(token, scope);
    return scope;
  }

  lookup(fn: object): FunctionInfo | undefined {
    return this.fnInfo.get(fn);
  }

  private fireTick(siteId: number): void {
    this.tickLeft = this.tickEvery;
    this.tickFn?.(siteId);
  }

  /** True when site `siteId` starts a loop iteration (where Espruino checks for the debugger). */
  isLoopSite(siteId: number): boolean {
    return (this.sites[siteId]?.loops ?? 0) > 0;
  }

  /**
   * Starts the device clock for `profile`: from now on every site hit and native call adds its
   * estimated µs (the same unit costs estimate() uses), readable at any moment with clockMs().
   */
  startClock(profile?: ProfileLike | null): void {
    this.clockUnits = unitCostsFor(profile);
    this.clockUs = 0;
    this.clockConcat0 = this.concatBytes;
    this.clockLex0 = this.lexChars;
    this.fillSiteUs(0);
  }

  /** Estimated board ms since startClock() (hits, natives, string copies, lexing and flash), 0 when no clock runs. */
  clockMs(): number {
    const u = this.clockUnits;
    if (!u) return 0;
    const [words, erases] = this.flashNow();
    const copiedUs = (this.concatBytes - this.clockConcat0) * u.concatPerByteUs + (this.lexChars - this.clockLex0) * u.lexPerCharUs;
    return (this.clockUs + copiedUs + words * u.flash.wordWriteUs + erases * u.flash.pageEraseUs) / 1000;
  }

  private fillSiteUs(from: number): void {
    const u = this.clockUnits;
    if (!u) return;
    for (let i = from; i < this.sites.length; i++) this.siteUs[i] = siteUs(this.sites[i]!, u);
  }

  /** Instruments `source` with this meter's site ids; evaluate the returned code after install(). */
  instrument(source: string, opts: Omit<InstrumentOptions, "firstSiteId"> = {}): string {
    const result = instrument(source, { ...opts, firstSiteId: this.sites.length, firstFunctionId: this.functionSites.length });
    this.register(result.sites);
    for (const f of result.functions) this.functionSites[f.id] = f;
    for (const t of result.touches) this.touched.add(t);
    return result.code;
  }

  /**
   * For the runtime, before it evaluates any source (boot files, REPL input, string callbacks,
   * modules): the instrumented code, or the code unchanged when it is not ES5 (it then runs
   * unmetered and the reason is kept in `skipped`). Completion values are preserved, so REPL
   * `=result` output does not change.
   */
  prepare(code: string, filename = "(source)"): string {
    try {
      return this.instrument(code);
    } catch (e) {
      this.skipped.push({ filename, reason: (e as Error).message });
      if (this.skipped.length > 100) this.skipped.shift();
      return code;
    }
  }

  /** Sources prepare() left unmetered, newest last (at most 100). */
  readonly skipped: { filename: string; reason: string }[] = [];

  /** Registers sites made by instrument() with `firstSiteId` = the current site count. */
  register(sites: readonly Site[]): void {
    for (const s of sites) {
      if (s.id !== this.sites.length) throw new Error(`CostMeter.register: site id ${s.id} out of sequence (expected ${this.sites.length}); instrument with firstSiteId = meter.siteCount`);
      this.sites.push(s);
    }
    if (this.sites.length > this.hits.length) {
      let size = this.hits.length;
      while (size < this.sites.length) size *= 2;
      const grown = new Float64Array(size);
      grown.set(this.hits);
      this.hits = grown;
      for (const snap of this.open) { const g = new Float64Array(size); g.set(snap.hits); snap.hits = g; }
      const us = new Float64Array(size);
      us.set(this.siteUs);
      this.siteUs = us;
    }
    this.fillSiteUs(this.sites.length - sites.length);
  }

  get siteCount(): number { return this.sites.length; }

  /** Defines the hidden, non-enumerable, read-only global the instrumented code calls. */
  install(globalObject: object): void {
    Object.defineProperty(globalObject, COST_GLOBAL, { value: this.hooks, enumerable: false, writable: false, configurable: false });
  }

  /** Called by the runtime for every native call: kind as in NATIVE_KINDS, bytes processed, units (PBKDF2 iterations). */
  native(kind: string, bytes: number, units = 0): void {
    if (typeof kind !== "string" || kind === "") throw new TypeError("CostMeter.native(kind, bytes): kind must be a non-empty string such as \"SHA256\"");
    if (!(bytes >= 0) || !Number.isFinite(bytes)) throw new RangeError(`CostMeter.native("${kind}", bytes): bytes must be a finite number ≥ 0, got ${bytes}`);
    const k = normaliseNativeKind(kind);
    const t = this.nativeTallies[k] ??= { calls: 0, bytes: 0, units: 0 };
    t.calls++; t.bytes += bytes; t.units += units;
    if (this.clockUnits) this.clockUs += (NATIVE_KINDS[k] ?? UNKNOWN_NATIVE)(this.clockUnits, bytes, units);
  }

  /** Charges physical flash time from the flash model's own counters (word writes, page erases). */
  attachFlash(flash: FlashCounters): void {
    this.flash = flash;
    this.flashBaseWords = flash.wordWrites();
    this.flashBaseErases = sum(flash.eraseCounts());
  }

  /** Everything counted since construction or reset(). */
  counts(): CostCounts {
    const c = emptyCounts();
    for (const site of this.sites) {
      const n = this.hits[site.id]!;
      if (n !== 0) for (const f of COUNT_FIELDS) c[f] += n * site[f];
    }
    c.native = cloneNative(this.nativeTallies);
    c.concatBytes = this.concatBytes;
    c.lexChars = this.lexChars;
    const [words, erases] = this.flashNow();
    c.flashWordWrites = words;
    c.flashPageErases = erases;
    return c;
  }

  begin(label: string): void {
    const [words, erases] = this.flashNow();
    this.open.push({ label, hits: this.hits.slice(), native: cloneNative(this.nativeTallies), words, erases, concat: this.concatBytes, lex: this.lexChars });
  }

  /** Ends the innermost begin(); records and returns what happened inside it. */
  end(): ScopeRecord {
    const snap = this.open.pop();
    if (!snap) throw new Error("CostMeter.end() without a matching begin(label)");
    const record = { label: snap.label, counts: this.countsSince(snap) };
    this.scopes.push(record);
    if (this.scopes.length > this.maxScopeRecords) this.scopes.splice(0, this.scopes.length - this.maxScopeRecords);
    return record;
  }

  /**
   * What happened so far inside the innermost open scope labelled `label` (any label when omitted),
   * without ending it; undefined when no such scope is open. The runtime reads an NFCrx scope at
   * the moment the firmware replies, because the reply time is what the reader waits for.
   */
  peek(label?: string): ScopeRecord | undefined {
    for (let i = this.open.length - 1; i >= 0; i--) {
      const snap = this.open[i]!;
      if (label === undefined || snap.label === label) return { label: snap.label, counts: this.countsSince(snap) };
    }
    return undefined;
  }

  private countsSince(snap: Snapshot): CostCounts {
    const c = emptyCounts();
    for (const site of this.sites) {
      const n = this.hits[site.id]! - (snap.hits[site.id] ?? 0);
      if (n !== 0) for (const f of COUNT_FIELDS) c[f] += n * site[f];
    }
    for (const k of Object.keys(this.nativeTallies)) {
      const now = this.nativeTallies[k]!, before = snap.native[k] ?? { calls: 0, bytes: 0, units: 0 };
      if (now.calls !== before.calls) c.native[k] = { calls: now.calls - before.calls, bytes: now.bytes - before.bytes, units: now.units - before.units };
    }
    c.concatBytes = this.concatBytes - snap.concat;
    c.lexChars = this.lexChars - snap.lex;
    const [words, erases] = this.flashNow();
    c.flashWordWrites = words - snap.words;
    c.flashPageErases = erases - snap.erases;
    return c;
  }

  /** Runs fn inside begin(label)/end() and returns fn's result; read the cost with lastScope(label). */
  scope<T>(label: string, fn: () => T): T {
    return this.measure(label, fn).result;
  }

  /** Like scope(), returning the scope record next to the result. */
  measure<T>(label: string, fn: () => T): { result: T; record: ScopeRecord } {
    this.begin(label);
    let result: T;
    try {
      result = fn();
    } catch (e) {
      this.end(); // an aborted handler still leaves its cost in scopes
      throw e;
    }
    return { result, record: this.end() };
  }

  lastScope(label?: string): ScopeRecord | undefined {
    for (let i = this.scopes.length - 1; i >= 0; i--) if (label === undefined || this.scopes[i]!.label === label) return this.scopes[i];
    return undefined;
  }

  /** Estimated board time of `counts` (default: everything so far) on `profile` (default: facts §3 at 64 MHz). */
  estimate(profile?: ProfileLike | null, counts: CostCounts = this.counts()): CostEstimate {
    return estimateCounts(counts, unitCostsFor(profile));
  }

  /** The `n` sites with the most estimated time (without natives), for finding hot loops. */
  hotspots(profile?: ProfileLike | null, n = 10): { line: number; hits: number; ms: number }[] {
    const u = unitCostsFor(profile);
    return this.sites
      .map((s) => ({ line: s.line, hits: this.hits[s.id]!, ms: (this.hits[s.id]! * siteUs(s, u)) / 1000 }))
      .filter((s) => s.hits > 0)
      .sort((a, b) => b.ms - a.ms)
      .slice(0, n);
  }

  /** Forgets all counts and scopes (sites stay registered, so installed code keeps working). */
  reset(): void {
    this.hits.fill(0);
    this.nativeTallies = {};
    this.concatBytes = 0;
    this.lexChars = 0;
    this.scopes.length = 0;
    this.open.length = 0;
    if (this.flash) this.attachFlash(this.flash);
  }

  private flashNow(): [number, number] {
    if (!this.flash) return [0, 0];
    return [this.flash.wordWrites() - this.flashBaseWords, sum(this.flash.eraseCounts()) - this.flashBaseErases];
  }
}

function sum(xs: number[]): number { let s = 0; for (const x of xs) s += x; return s; }

function siteUs(c: SiteCounts, u: UnitCosts): number {
  return c.statements * u.statementUs + c.loops * u.loopIterationUs + c.ops * u.opUs + c.props * u.propUs +
    c.elems * u.elemUs + c.entries * u.entryUs + c.callSites * u.callSiteUs;
}

/** Converts counts to milliseconds with per-operation costs (see calibration.ts). */
export function estimateCounts(counts: CostCounts, u: UnitCosts): CostEstimate {
  const nativeByKind: Record<string, number> = {};
  const unknownNativeKinds: string[] = [];
  let native = 0;
  for (const [kind, t] of Object.entries(counts.native)) {
    const fn = NATIVE_KINDS[kind];
    if (!fn) unknownNativeKinds.push(kind);
    const costFn = fn ?? UNKNOWN_NATIVE;
    // Spread bytes and units evenly over the calls: exact for the linear parts of every kind.
    const us = t.calls === 0 ? 0 : t.calls * costFn(u, t.bytes / t.calls, t.units / t.calls);
    nativeByKind[kind] = us / 1000;
    native += us / 1000;
  }
  const breakdown: CostBreakdown = {
    statements: (counts.statements * u.statementUs) / 1000,
    loops: (counts.loops * u.loopIterationUs) / 1000,
    ops: (counts.ops * u.opUs) / 1000,
    props: (counts.props * u.propUs) / 1000,
    elems: (counts.elems * u.elemUs) / 1000,
    calls: (counts.entries * u.entryUs) / 1000,
    callSites: (counts.callSites * u.callSiteUs) / 1000,
    native,
    nativeByKind,
    concat: (counts.concatBytes * u.concatPerByteUs) / 1000,
    lex: ((counts.lexChars ?? 0) * u.lexPerCharUs) / 1000,
    flash: (counts.flashWordWrites * u.flash.wordWriteUs + counts.flashPageErases * u.flash.pageEraseUs) / 1000,
  };
  const ms = breakdown.statements + breakdown.loops + breakdown.ops + breakdown.props + breakdown.elems +
    breakdown.calls + breakdown.callSites + breakdown.native + breakdown.concat + breakdown.lex + breakdown.flash;
  return { ms, msRange: msRange(ms, breakdown.flash), breakdown, counts, unknownNativeKinds };
}
