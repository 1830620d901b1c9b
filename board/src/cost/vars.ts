// JsVar estimates: how much of a board's fixed variable pool the firmware would hold.
// Two parts: `code` — what minified, function-heavy code keeps after being run from Storage (facts §8,
// measured) — and `live` — a walk over the values reachable from the board context's globals,
// sized with Espruino's storage rules, calibrated so E.getSizeOf's measured figures come out exactly
// ({a:1} = 2, new Uint8Array(100) = 11, a small function = 5; facts §8, Puck layout).
// Rules and assumptions: board/docs/cost-model.md, "JsVars".

/** Facts §8: vars kept after `eval(require("Storage").read(f))` of minified code (Puck layout). */
export const CODE_FROM_STORAGE_POINTS: readonly (readonly [kb: number, vars: number])[] = [[5, 200], [10, 368], [20, 696]];
/** Facts §8: `require("mod")` of 5 KB from Storage keeps 266 vars; scaled as a ratio to the eval figure. */
export const REQUIRE_FACTOR = 266 / 200;

export interface VarProfile {
  id?: string;
  vars: { count: number; bytesPerVar: number };
  memoryFromStorage?: { baseVars: number; varsPerKB: number; ramStringCharsPerVar: number };
}

export type CodeLoadMode = "storage" | "require";

/**
 * Vars kept by `bytes` of minified code run from Storage. Without a profile: piecewise-linear
 * through the measured points (extrapolated with the nearest segment's slope). With a profile
 * that has `memoryFromStorage`: its linear fit (baseVars + varsPerKB × KB).
 */
export function codeVars(bytes: number, mode: CodeLoadMode = "storage", profile?: VarProfile | null): number {
  if (!(bytes >= 0) || !Number.isFinite(bytes)) throw new RangeError(`codeVars(bytes): bytes must be a finite number ≥ 0, got ${bytes}`);
  if (bytes === 0) return 0;
  const kb = bytes / 1024;
  let vars: number;
  const fit = profile?.memoryFromStorage;
  if (fit) {
    vars = fit.baseVars + fit.varsPerKB * kb;
  } else {
    const pts = CODE_FROM_STORAGE_POINTS;
    let i = 0;
    while (i < pts.length - 2 && kb > pts[i + 1]![0]) i++;
    const [k0, v0] = pts[i]!, [k1, v1] = pts[i + 1]!;
    vars = v0 + ((v1 - v0) * (kb - k0)) / (k1 - k0);
  }
  if (mode === "require") vars *= REQUIRE_FACTOR;
  return Math.max(0, Math.round(vars));
}

export interface SizeRules {
  bytesPerVar: number;       // 13 on the Puck layout (facts §8)
  charsPerVar: number;       // ~9 characters of a RAM string per var (facts §8: 5208 chars = 579 vars)
  nameInlineChars: number;   // characters a property-name var holds before it needs extension vars (assumption: 4)
  functionCodeInFlash: boolean; // code run from Storage: a function's text is one flash-backed var (facts §8)
}

export function sizeRulesFor(profile?: VarProfile | null): SizeRules {
  return {
    bytesPerVar: profile?.vars.bytesPerVar ?? 13,
    charsPerVar: profile?.memoryFromStorage?.ramStringCharsPerVar ?? 9,
    nameInlineChars: 4,
    functionCodeInFlash: true,
  };
}

export interface SizeContext {
  rules: SizeRules;
  seen: Set<object>;
  byType: Record<string, number>;
  /** false: functions are charged to `code` (their vars are in the §8 figures), only their members are walked. */
  countFunctions: boolean;
  /** Values that live in ROM on a board (runtime-provided objects such as E, NRF, Storage): 0 vars. */
  isBuiltin: (v: object) => boolean;
}

const isInt32 = (n: number): boolean => (n | 0) === n && !Object.is(n, -0);

function stringVars(len: number, r: SizeRules): number {
  return Math.max(1, Math.ceil(len / r.charsPerVar));
}

/** A property name var plus any extension vars for a long name; an int-like index fits inline. */
function nameVars(name: string, r: SizeRules): number {
  if (/^(0|[1-9]\d{0,8})$/.test(name)) return 1;
  return 1 + (name.length > r.nameInlineChars ? Math.ceil((name.length - r.nameInlineChars) / r.charsPerVar) : 0);
}

/** Extra vars for a value stored in a property (0 for values that fit in the name var). */
function valueVarsInProperty(v: unknown, cx: SizeContext): number {
  if (v === undefined || v === null || typeof v === "boolean") return 0;
  if (typeof v === "number") return isInt32(v) ? 0 : 1;
  return sizeOf(v, cx);
}

function tally(cx: SizeContext, type: string, n: number): number {
  if (n) cx.byType[type] = (cx.byType[type] ?? 0) + n;
  return n;
}

const FUNCTION_OWN_SKIP = new Set(["length", "name", "prototype", "arguments", "caller"]);

/** Vars of one value as E.getSizeOf would report them (shared objects counted once per context). */
export function sizeOf(v: unknown, cx: SizeContext): number {
  if (v === undefined || v === null || typeof v === "boolean") return tally(cx, "simple", 1);
  if (typeof v === "number") return tally(cx, "number", 1);
  if (typeof v === "string") return tally(cx, "string", stringVars(v.length, cx.rules));
  if (typeof v !== "object" && typeof v !== "function") return tally(cx, "other", 1);
  const o = v as object;
  if (cx.seen.has(o)) return 0;
  cx.seen.add(o);
  if (cx.isBuiltin(o)) return 0;
  const r = cx.rules;
  const bufferBytes = arrayBufferLength(o);
  if (bufferBytes !== undefined) {
    // ArrayBuffer var + flat-string header + data packed bytesPerVar per var
    return tally(cx, "ArrayBuffer", 2 + Math.ceil(bufferBytes / r.bytesPerVar));
  }
  if (ArrayBuffer.isView(o)) {
    const view = o as ArrayBufferView;
    tally(cx, "typedArray", 1);
    return 1 + sizeOf(view.buffer, cx);
  }
  let own = 0;
  let type = "object";
  let skip: Set<string> | null = null;
  if (typeof o === "function") {
    type = "function";
    skip = FUNCTION_OWN_SKIP;
    if (cx.countFunctions) {
      const text = Function.prototype.toString.call(o);
      const params = functionParamCount(text);
      // function var + one name var per parameter + code name var + code text (1 var when in flash)
      const codeText = r.functionCodeInFlash ? 1 : stringVars(text.length, r);
      own += 1 + params + 1 + codeText;
    }
    const proto = (o as { prototype?: unknown }).prototype;
    if (proto && typeof proto === "object" && Object.getOwnPropertyNames(proto).some((k) => k !== "constructor")) {
      own += nameVars("prototype", r) + sizeOf(proto, cx);
    }
  } else {
    own += 1; // the object/array var itself
    if (Array.isArray(o)) { type = "array"; skip = new Set(["length"]); }
  }
  tally(cx, type, own);
  let members = 0;
  for (const key of Object.getOwnPropertyNames(o)) {
    if (skip?.has(key)) continue;
    if (key === "constructor" && typeof (o as Record<string, unknown>)[key] === "function" && !Array.isArray(o)) continue;
    const d = Object.getOwnPropertyDescriptor(o, key)!;
    const name = nameVars(key, r);
    tally(cx, "propertyName", name);
    members += name;
    if ("value" in d) members += valueVarsInProperty(d.value, cx);
    else members += (d.get ? sizeOf(d.get, cx) : 0) + (d.set ? sizeOf(d.set, cx) : 0);
  }
  return own + members;
}

const byteLengthGetter = Object.getOwnPropertyDescriptor(ArrayBuffer.prototype, "byteLength")!.get!;

/** byteLength of a real ArrayBuffer from any realm; undefined for anything else (ArrayBuffer.prototype included). */
function arrayBufferLength(o: object): number | undefined {
  try {
    return byteLengthGetter.call(o) as number;
  } catch {
    return undefined;
  }
}

/** Parameter count from function source text (ES5 functions: `function name(a, b) {`). */
function functionParamCount(text: string): number {
  const m = /^[^(]*\(([^)]*)\)/.exec(text);
  if (!m) return 0;
  const inner = m[1]!.replace(/\/\*[\s\S]*?\*\//g, "").trim();
  return inner === "" ? 0 : inner.split(",").length;
}

/** E.getSizeOf(value) for a single value on a profile's layout (functions counted as in RAM-run code from Storage). */
export function getSizeOf(value: unknown, profile?: VarProfile | null): number {
  return sizeOf(value, { rules: sizeRulesFor(profile), seen: new Set(), byType: {}, countFunctions: true, isBuiltin: () => false });
}

export interface EstimateVarsOptions {
  profile?: VarProfile | null;
  /** Size of the bundle run from Storage; with it, functions are charged to `code` (facts §8). */
  codeBytes?: number;
  codeMode?: CodeLoadMode;
  /** Global names not to count (runtime-provided globals: E, NRF, USB, …); see globalNames(). */
  exclude?: Iterable<string>;
  /** Values that live in ROM on a board (runtime objects reached through firmware values). */
  isBuiltin?: (v: object) => boolean;
  /** Vars the interpreter itself holds at boot (not measured; default 0). */
  baselineVars?: number;
}

export interface VarEstimate {
  code: number;
  live: number;
  total: number;
  byType: Record<string, number>;
  limit: number | undefined;   // profile.vars.count when a profile was given
}

/** Own property names of a context global, to snapshot before the bundle runs (for `exclude`). */
export function globalNames(context: object): string[] {
  return Object.getOwnPropertyNames(context);
}

/** Estimates the vars the firmware holds in `context` (a vm context's global object). */
export function estimateVars(context: object, opts: EstimateVarsOptions = {}): VarEstimate {
  if (context === null || typeof context !== "object") throw new TypeError("estimateVars(context): context must be the board's global object");
  const exclude = new Set(opts.exclude ?? []);
  const codeKnown = opts.codeBytes !== undefined;
  const cx: SizeContext = {
    rules: sizeRulesFor(opts.profile),
    seen: new Set(),
    byType: {},
    countFunctions: !codeKnown,
    isBuiltin: opts.isBuiltin ?? (() => false),
  };
  let live = 0;
  for (const key of Object.getOwnPropertyNames(context)) {
    if (exclude.has(key) || key.startsWith("__kc$")) continue;
    const d = Object.getOwnPropertyDescriptor(context, key)!;
    if (!d.enumerable) continue; // hidden host plumbing (the cost hooks are defined non-enumerable)
    const name = nameVars(key, cx.rules);
    tally(cx, "propertyName", name);
    live += name + ("value" in d ? valueVarsInProperty(d.value, cx) : 0);
  }
  const code = codeKnown ? codeVars(opts.codeBytes!, opts.codeMode ?? "storage", opts.profile) : 0;
  if (code) cx.byType["code"] = code;
  const baseline = opts.baselineVars ?? 0;
  if (baseline) cx.byType["baseline"] = baseline;
  return { code, live, total: code + live + baseline, byType: cx.byType, limit: opts.profile?.vars.count };
}

/** What Espruino does when the pool runs out while JS runs (facts §8): prints, then interrupts. */
export class OutOfMemory extends Error {
  constructor(readonly needed: number, readonly limit: number) {
    super(`OUT OF MEMORY: the firmware needs about ${needed} vars but the board has ${limit}; ` +
      "hold less data in RAM, run code from Storage, or allocate big buffers once");
    this.name = "OutOfMemory";
  }
}

/**
 * For the runtime: prints Espruino's message and throws OutOfMemory, which the runtime catches at
 * the event-loop boundary so the board "carries on in its event loop" (facts §8) with the running
 * code interrupted. Also returns the flag name the runtime should set ("MEMORY").
 */
export function raiseOutOfMemory(print: (line: string) => void, needed: number, limit: number): never {
  print("OUT OF MEMORY");
  throw new OutOfMemory(needed, limit);
}

/** Espruino sets this error flag when it runs out of vars (E.getErrorFlags()). */
export const OUT_OF_MEMORY_FLAG = "MEMORY";

/** Estimates vars and raises out-of-memory if the total exceeds the profile's pool. */
export function enforceMemoryLimit(context: object, opts: EstimateVarsOptions & { profile: VarProfile; print: (line: string) => void }): VarEstimate {
  const est = estimateVars(context, opts);
  if (est.total > opts.profile.vars.count) raiseOutOfMemory(opts.print, est.total, opts.profile.vars.count);
  return est;
}
