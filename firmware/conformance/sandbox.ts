// A vm sandbox that runs one script with captured console.log and a virtual timer queue.
// Timers run on a virtual clock (due time, then creation order), so a program that waits 100 ms
// finishes in microseconds and its output does not depend on machine load.
import vm from "node:vm";

export interface SandboxOptions {
  /** Shown in stack traces and error messages. */
  filename: string;
  /**
   * Remove the built-ins Espruino 2v29 lacks (espruino-facts §1), so code that leans on them fails
   * here instead of on a board. Polyfills the bundle carries re-add what they cover.
   */
  espruinoGlobals: boolean;
  /** Virtual milliseconds after which still-pending timers are an error (default 60 000). */
  maxVirtualMs?: number;
  /** Timer callbacks after which the run is stopped as runaway (default 10 000). */
  maxCallbacks?: number;
  /** Real milliseconds the synchronous top-level run may take (default 5 000). */
  syncTimeoutMs?: number;
}

interface PendingTimer {
  id: number;
  due: number;
  order: number;
  fn: (...args: unknown[]) => unknown;
  args: unknown[];
  repeatMs: number | undefined;
}

/** Thrown when a run fails; `output` is what was printed before the failure. */
export class SandboxRunError extends Error {
  constructor(message: string, readonly output: string) {
    super(message);
  }
}

// Built-ins absent on Espruino 2v29 (espruino-facts §1 "Built-ins" and the language table).
const ABSENT_GLOBALS = [
  "Map", "Set", "WeakMap", "WeakSet", "WeakRef", "FinalizationRegistry", "Symbol", "Proxy", "Reflect",
  "BigInt", "BigInt64Array", "BigUint64Array", "RangeError", "EvalError", "URIError",
];
const ABSENT_STATICS: Array<[string, string[]]> = [
  ["Array", ["from", "of"]],
  ["Object", ["freeze", "is", "seal", "preventExtensions", "isFrozen", "getOwnPropertySymbols"]],
  ["String", ["fromCodePoint", "raw"]],
  ["Number", ["isInteger", "isSafeInteger", "isFinite", "isNaN", "parseInt", "parseFloat", "MAX_SAFE_INTEGER", "EPSILON"]],
  ["Math", ["imul", "clz32", "trunc", "log2", "log10", "hypot", "cbrt", "fround", "sinh", "cosh", "tanh", "expm1", "log1p"]],
  ["Date", ["UTC"]],
  ["Promise", ["race", "allSettled", "any"]],
];
const ABSENT_METHODS: Array<[string, string[]]> = [
  ["Array", ["lastIndexOf", "reduceRight", "at", "flat", "flatMap", "keys", "values", "entries", "copyWithin", "findLast"]],
  ["Object", ["propertyIsEnumerable"]],
  ["String", ["at", "codePointAt", "localeCompare", "matchAll", "normalize", "search", "trimStart", "trimEnd"]],
  ["Number", ["toPrecision", "toExponential"]],
  ["Promise", ["finally"]],
  ["Date", ["toLocaleString", "toLocaleDateString", "toLocaleTimeString"]],
  ["ArrayBuffer", ["slice"]],
];

function stripToEspruinoGlobals(context: vm.Context): void {
  // Runs inside the context so it edits that realm's own built-ins, not the host's.
  const script = `(function (absent, statics, methods) {
    var g = globalThis;
    absent.forEach(function (n) { delete g[n]; });
    statics.forEach(function (e) { e[1].forEach(function (n) { delete g[e[0]][n]; }); });
    methods.forEach(function (e) { e[1].forEach(function (n) { delete g[e[0]].prototype[n]; }); });
    delete Object.getPrototypeOf(g.Uint8Array).from;
    delete Object.getPrototypeOf(g.Uint8Array).of;
    delete g.Error.captureStackTrace;
    // Espruino: Object.create(p, props) -> "propertiesObject is not supported yet".
    var create = Object.create;
    Object.create = function (proto, props) {
      if (props !== undefined) throw new Error("Object.create: propertiesObject is not supported yet (Espruino 2v29)");
      return create(proto);
    };
  })`;
  const fn = vm.runInContext(script, context) as (a: unknown, b: unknown, c: unknown) => void;
  fn(vm.runInContext("(" + JSON.stringify(ABSENT_GLOBALS) + ")", context),
    vm.runInContext("(" + JSON.stringify(ABSENT_STATICS) + ")", context),
    vm.runInContext("(" + JSON.stringify(ABSENT_METHODS) + ")", context));
}

function flushMicrotasks(): Promise<void> {
  // setImmediate runs after the microtask queue, which vm contexts share with the host by default.
  return new Promise((resolve) => setImmediate(resolve));
}

/** Runs `code` as a classic script in a fresh context and returns what it printed, one "\n" per line. */
export async function runInSandbox(code: string, opts: SandboxOptions): Promise<string> {
  const lines: string[] = [];
  const errors: string[] = [];
  const output = () => lines.map((l) => l + "\n").join("");
  const timers: PendingTimer[] = [];
  let now = 0;
  let nextId = 1;
  let nextOrder = 0;

  const log = (...args: unknown[]): void => {
    // Conformance programs print only strings they build: Espruino formats objects, arrays and
    // floats differently from Node, so anything else would compare engines' formatting, not code.
    if (args.length !== 1 || typeof args[0] !== "string") {
      errors.push(`console.log must get exactly one string (got ${args.length} argument(s), first of type ${typeof args[0]}); build the line yourself`);
      lines.push(args.map((a) => String(a)).join(" "));
      return;
    }
    lines.push(args[0]);
  };
  const schedule = (fn: unknown, ms: unknown, args: unknown[], repeat: boolean): number => {
    if (typeof fn !== "function") throw new TypeError("setTimeout/setInterval: the callback must be a function (string code is not supported here)");
    const delay = Math.max(0, Number(ms) || 0);
    const id = nextId++;
    timers.push({ id, due: now + delay, order: nextOrder++, fn: fn as PendingTimer["fn"], args, repeatMs: repeat ? delay : undefined });
    return id;
  };
  const clear = (...ids: unknown[]): void => {
    // Espruino: clearTimeout() clears every timer and clearTimeout(undefined) throws (facts §9).
    if (ids.length === 0) {
      timers.length = 0;
      return;
    }
    if (ids[0] === undefined) throw new Error("clearTimeout(undefined) throws on Espruino; only clear a timer id you hold");
    const at = timers.findIndex((t) => t.id === ids[0]);
    if (at >= 0) timers.splice(at, 1);
  };

  const context = vm.createContext({
    console: { log, warn: log, error: log },
    print: log,
    setTimeout: (fn: unknown, ms?: unknown, ...args: unknown[]) => schedule(fn, ms, args, false),
    setInterval: (fn: unknown, ms?: unknown, ...args: unknown[]) => schedule(fn, ms, args, true),
    clearTimeout: clear,
    clearInterval: clear,
  });
  if (opts.espruinoGlobals) stripToEspruinoGlobals(context);

  try {
    vm.runInContext(code, context, { filename: opts.filename, timeout: opts.syncTimeoutMs ?? 5000 });
  } catch (err) {
    throw new SandboxRunError(`${opts.filename}: top-level code threw: ${describe(err)}`, output());
  }

  const maxVirtualMs = opts.maxVirtualMs ?? 60_000;
  const maxCallbacks = opts.maxCallbacks ?? 10_000;
  let callbacks = 0;
  await flushMicrotasks();
  while (timers.length > 0) {
    let next = 0;
    for (let i = 1; i < timers.length; i++) {
      const t = timers[i];
      if (t.due < timers[next].due || (t.due === timers[next].due && t.order < timers[next].order)) next = i;
    }
    const timer = timers[next];
    if (timer.due > maxVirtualMs) {
      throw new SandboxRunError(`${opts.filename}: ${timers.length} timer(s) still pending after ${maxVirtualMs} virtual ms; clear intervals when done`, output());
    }
    if (++callbacks > maxCallbacks) {
      throw new SandboxRunError(`${opts.filename}: more than ${maxCallbacks} timer callbacks; an interval is probably never cleared`, output());
    }
    now = timer.due;
    if (timer.repeatMs === undefined) timers.splice(next, 1);
    else {
      timer.due = now + Math.max(1, timer.repeatMs);
      timer.order = nextOrder++;
    }
    try {
      timer.fn(...timer.args);
    } catch (err) {
      throw new SandboxRunError(`${opts.filename}: a timer callback threw at ${now} virtual ms: ${describe(err)}`, output());
    }
    await flushMicrotasks();
  }
  if (errors.length > 0) throw new SandboxRunError(`${opts.filename}: ${errors[0]}`, output());
  return output();
}

function describe(err: unknown): string {
  if (err && typeof err === "object" && "stack" in err && typeof err.stack === "string") return err.stack.split("\n").slice(0, 4).join("\n");
  return String(err);
}
