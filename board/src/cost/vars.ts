// JsVar estimates: how much of a board's fixed variable pool the firmware would hold.
// Two parts: `code` — what minified, function-heavy code keeps after being run from Storage (facts §8,
// measured) — and `live` — a walk over the values reachable from the board context's globals,
// sized with Espruino's storage rules, calibrated so E.getSizeOf's measured figures come out exactly
// ({a:1} = 2, new Uint8Array(100) = 11, a small function = 5; facts §8, Puck layout).
// Rules and assumptions: board/docs/cost-model.md, "JsVars".
import type { FunctionRegistry, ScopeInfo } from "./meter.ts";

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

/**
 * Espruino's var layout for a pool size (src/jsutils.h): reference width, and from it how many
 * characters a string var holds and which ints fit inside a name var.
 */
export function varLayout(count: number): { refBits: number; refCountBits: number; packBits: number; bytesPerVar: number } {
  const [refBits, refCountBits, packBits] =
    count <= 254 ? [8, 6, 8] : count <= 1023 ? [10, 6, 2] : count <= 2047 ? [11, 4, 0] : count <= 4095 ? [12, 8, 0] :
    count <= 8191 ? [13, 4, 0] : count <= 16383 ? [14, 8, 0] : [16, 8, 0];
  return { refBits, refCountBits, packBits, bytesPerVar: 4 + ((refBits * 4 + packBits + refCountBits) >> 3) + 2 };
}

export interface SizeRules {
  bytesPerVar: number;        // sizeof(JsVar): 13 on the Puck and Pico layouts, 14 on the nRF52840 (src/jsutils.h)
  nameInlineChars: number;    // JSVAR_DATA_STRING_NAME_LEN: 4 on 32-bit builds
  stringFirstChars: number;   // JSVAR_DATA_STRING_LEN: characters in a string's first var (8; 9 on 14-bit refs)
  stringExtChars: number;     // JSVAR_DATA_STRING_MAX_LEN: characters per STRING_EXT var (9; 10 on 14-bit refs)
  inlineIntMin: number;       // JSVARREF_MIN: ints in [min, max] live inside their name var (jsvMakeIntoVariableName)
  inlineIntMax: number;
  functionCodeInFlash: boolean; // code run from Storage: a function's text is one native-string var pointing into flash
  /** @deprecated average characters per var of a long RAM string (≈ stringExtChars); kept for callers of the old rules */
  charsPerVar: number;
}

export function sizeRulesFor(profile?: VarProfile | null): SizeRules {
  const count = profile?.vars.count ?? 2630;
  const l = varLayout(count);
  const nameLen = 4;
  const first = nameLen + ((l.refBits * 3 + l.packBits) >> 3);
  const ext = nameLen + ((l.refBits * 3 + l.packBits + l.refCountBits) >> 3);
  return {
    bytesPerVar: profile?.vars.bytesPerVar ?? l.bytesPerVar,
    nameInlineChars: nameLen,
    stringFirstChars: first,
    stringExtChars: ext,
    inlineIntMin: -(1 << (l.refBits - 1)),
    inlineIntMax: (1 << (l.refBits - 1)) - 1,
    functionCodeInFlash: true,
    charsPerVar: ext,
  };
}

export interface SizeContext {
  rules: SizeRules;
  /** Function instances the instrumented code registered: their scopes are charged too. */
  functions?: FunctionRegistry;
  seenScopes?: Set<ScopeInfo>;
  seen: Set<object>;
  byType: Record<string, number>;
  /** false: functions are charged to `code` (their vars are in the §8 figures), only their members are walked. */
  countFunctions: boolean;
  /** Values that live in ROM on a board (runtime-provided objects such as E, NRF, Storage): 0 vars. */
  isBuiltin: (v: object) => boolean;
  /**
   * A string that is a memory-mapped Storage read (a native string into flash on nRF52/STM32,
   * jsvAddressToVar): 1 var however long (facts §8, E.getSizeOf(require("Storage").read(f)) == 1).
   */
  isFlashString?: (s: string) => boolean;
}


/** A chunked RAM string: the first var holds stringFirstChars, each STRING_EXT stringExtChars (src/jsvar.c). */
export function stringVars(len: number, r: SizeRules): number {
  return 1 + Math.ceil(Math.max(0, len - r.stringFirstChars) / r.stringExtChars);
}

/** Flat storage (ArrayBuffer data, flat strings): a header var plus ⌈bytes / sizeof(JsVar)⌉ contiguous vars. */
export function flatVars(bytes: number, r: SizeRules): number {
  return 1 + Math.ceil(bytes / r.bytesPerVar);
}

const isIndex = (name: string): boolean => /^(0|[1-9]\d{0,8})$/.test(name);

/**
 * A property name var (src/jsvar.c jsvMakeIntoVariableName): an int key is a NAME_INT (1 var); a
 * string key holds nameInlineChars characters, the rest in STRING_EXT vars.
 */
export function nameVars(name: string, r: SizeRules): number {
  if (isIndex(name)) return 1;
  return 1 + Math.ceil(Math.max(0, name.length - r.nameInlineChars) / r.stringExtChars);
}

/**
 * Extra vars for a value stored under a name (0 when it lives in the name var): undefined is no
 * child; an int in the reference range is stored in the name (NAME_STRING_INT / NAME_INT_INT); a
 * boolean only under an int key (NAME_INT_BOOL); null, doubles, other ints and booleans under a
 * string key take one var; strings and objects their own size.
 */
function valueVarsInProperty(v: unknown, cx: SizeContext, intKey = false): number {
  if (v === undefined) return 0;
  if (typeof v === "number" && Number.isInteger(v) && !Object.is(v, -0) && v >= cx.rules.inlineIntMin && v <= cx.rules.inlineIntMax) return 0;
  if (typeof v === "boolean" && intKey) return 0;
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
  if (typeof v === "string") return tally(cx, "string", v.length === 0 ? 1 : cx.isFlashString?.(v) ? 1 : stringVars(v.length, cx.rules));
  if (typeof v !== "object" && typeof v !== "function") return tally(cx, "other", 1);
  const o = v as object;
  if (cx.seen.has(o)) return 0;
  cx.seen.add(o);
  // a runtime object (E, USB, a module) is one builtin however often referenced; a native method kept
  // in a variable is a native-function var of its own (measured: `var f=String.fromCharCode` = 2 vars)
  if (cx.isBuiltin(o)) return tally(cx, "native", typeof o === "function" && cx.functions ? 1 : 0);
  const r = cx.rules;
  const bufferBytes = arrayBufferLength(o);
  if (bufferBytes !== undefined) {
    // ArrayBuffer var + its data: flat above JSV_FLAT_STRING_BREAK_EVEN bytes, else a chunked string (src/jswrap_arraybuffer.c)
    const data = bufferBytes > r.stringFirstChars + r.stringExtChars ? flatVars(bufferBytes, r) : stringVars(bufferBytes, r);
    return tally(cx, "ArrayBuffer", 1 + data);
  }
  if (Object.prototype.toString.call(o) === "[object RegExp]") {
    // measured on 2v29 (vectors/real-espruino-vars.json): 7 vars + the source string + 3 per flag
    const re = o as RegExp;
    return tally(cx, "RegExp", 7 + stringVars(re.source.length, r) + 3 * re.flags.length);
  }
  if (ArrayBuffer.isView(o)) {
    const view = o as ArrayBufferView;
    tally(cx, "typedArray", 1);
    return 1 + sizeOf(view.buffer, cx);
  }
  let own = 0;
  let members = 0;
  let type = "object";
  let skip: Set<string> | null = null;
  if (typeof o === "function") {
    type = "function";
    skip = FUNCTION_OWN_SKIP;
    const info = cx.functions?.lookup(o);
    if (info) {
      own += functionVars(info.site, r);
      if (info.scope && info.site.bodyChars > 0) { // an empty body keeps no scope either (same `if` in jsparse.c)
        members += scopeVars(info.scope, cx);
      }
    } else if (cx.countFunctions) {
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
  const intKeys = Array.isArray(o);
  for (const key of Object.getOwnPropertyNames(o)) {
    if (skip?.has(key)) continue;
    if (key === "constructor" && typeof (o as Record<string, unknown>)[key] === "function" && !Array.isArray(o)) continue;
    const d = Object.getOwnPropertyDescriptor(o, key)!;
    const name = nameVars(key, r);
    tally(cx, "propertyName", name);
    members += name;
    if ("value" in d) members += valueVarsInProperty(d.value, cx, intKeys && isIndex(key));
    else members += (d.get ? sizeOf(d.get, cx) : 0) + (d.set ? sizeOf(d.set, cx) : 0);
  }
  return own + members;
}

/**
 * One function instance (src/jsparse.c jspeFunctionDefinition / jspeFunctionDefinitionInternal):
 * the function var, one name var per parameter, the code name var (\xFFcod) and the code string (a
 * native string into flash when run from Storage, else the body text in RAM), a named expression's
 * \xFFnam + its name string, and when created inside a function the scope link (\xFFsco) — to the
 * one scope directly at depth 1, to a fresh copy of the scope array (1 + one element per scope) deeper
 * (jspeiGetScopesAsVar copies execInfo.scopesVar).
 */
export function functionVars(site: { params: number; named: boolean; depth: number; bodyChars: number }, r: SizeRules): number {
  // an empty body stores no code at all (`if (funcVar && lastTokenEnd>0)`)
  const code = site.bodyChars === 0 ? 0 : 1 + (r.functionCodeInFlash ? 1 : stringVars(site.bodyChars, r));
  let n = 1 + site.params + code;
  if (site.named) n += 2;
  if (site.depth >= 1 && code > 0) n += 1 + (site.depth >= 2 ? 1 + site.depth : 0);
  return n;
}

/**
 * A scope object kept alive by a closure (src/jsparse.c jspeFunctionCall: functionRoot), charged once
 * however many closures share it: 1 var, then per name (parameters, vars, inner functions) a name var
 * plus its value, then the scope it was called in.
 */
function scopeVars(scope: ScopeInfo, cx: SizeContext): number {
  const seen = cx.seenScopes ??= new Set();
  let n = 0;
  for (let s: ScopeInfo | null = scope; s && !seen.has(s); s = s.parent()) {
    seen.add(s);
    let own = 1;
    let values: unknown[] = [];
    try { values = s.values(); } catch { values = []; }
    s.names.forEach((name, i) => { own += nameVars(name, cx.rules); n += valueVarsInProperty(values[i], cx); });
    n += tally(cx, "scope", own);
  }
  return n;
}

const byteLengthGetter = Object.getOwnPropertyDescriptor(ArrayBuffer.prototype, "byteLength")!.get!;

/** byteLength of a real ArrayBuffer from any realm; undefined for anything else (ArrayBuffer.prototype included). */
function arrayBufferLength(o: object): number | undefined {
  // the tag check first: calling the getter on every other object throws, and throwing is slow
  if (typeof o === "function" || Object.prototype.toString.call(o) !== "[object ArrayBuffer]") return undefined;
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
export function getSizeOf(value: unknown, profile?: VarProfile | null, functions?: FunctionRegistry): number {
  // with the meter's registry a function counts its scopes too, as E.getSizeOf follows \xFFsco
  return sizeOf(value, { rules: sizeRulesFor(profile), seen: new Set(), byType: {}, countFunctions: true, isBuiltin: () => false, ...(functions ? { functions } : {}) });
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
  /** The cost meter's registry of function instances: with it functions and their scopes are counted var by var and `codeBytes` adds nothing. */
  functions?: FunctionRegistry;
  /**
   * JS calls running now (CostMeter.activeCalls): each holds its scope object and a copy of the
   * scopes array, 1 + (depth + 1) vars (src/jsparse.c jspeFunctionCall, jspeiLoadScopesFromVar).
   */
  activeCalls?: readonly { scope: ScopeInfo; depth: number }[];
  /** Vars of the builtins the firmware touched (builtins.ts builtinVars of CostMeter.touched). */
  builtinVars?: number;
  /** Values the runtime holds for the firmware outside its globals (listeners, timer callbacks), each with the vars of its holder. */
  roots?: readonly RuntimeRoot[];
  /** Strings that are memory-mapped Storage reads: 1 var each (SizeContext.isFlashString). */
  isFlashString?: (s: string) => boolean;
}

/** A value the runtime holds for the firmware, and the vars its holder costs (see virtual-board.ts firmwareRoots). */
export interface RuntimeRoot {
  value: unknown;
  holderVars: number;
  /** Stored as an array element (ints and booleans inline), not as a var of its own. */
  asElement?: boolean;
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
    countFunctions: !codeKnown || !!opts.functions,
    isBuiltin: opts.isBuiltin ?? (() => false),
    ...(opts.functions ? { functions: opts.functions } : {}),
    ...(opts.isFlashString ? { isFlashString: opts.isFlashString } : {}),
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
  for (const root of opts.roots ?? []) {
    const held = root.holderVars + (root.asElement ? valueVarsInProperty(root.value, cx, true) : sizeOf(root.value, cx));
    tally(cx, "runtimeHeld", root.holderVars);
    live += held;
  }
  for (const call of opts.activeCalls ?? []) {
    live += tally(cx, "callStack", 2 + call.depth) + scopeVars(call.scope, cx);
  }
  const code = codeKnown && !opts.functions ? codeVars(opts.codeBytes!, opts.codeMode ?? "storage", opts.profile) : 0;
  if (code) cx.byType["code"] = code;
  const baseline = (opts.baselineVars ?? 0) + (opts.builtinVars ?? 0);
  if (opts.baselineVars) cx.byType["baseline"] = opts.baselineVars;
  if (opts.builtinVars) cx.byType["builtins"] = opts.builtinVars;
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
