// The compatibility gate (docs/ARCHITECTURE.md, "Compatibility gate"): it reads the FINAL bundle
// and turns every construct Espruino 2v29 cannot run into a located finding. Each rule cites the
// measured fact it enforces (the team's espruino-facts sections, restated in the rule's hint).
//
// Suppression, in two forms, both read from the source map's sourcesContent (so no file I/O):
//  - a project-owned helper or polyfill (firmware/build/helpers/*.js, firmware/build/polyfills/*.js)
//    may declare `gate-allow: rule-a, rule-b` in its first 10 lines; findings inside it for those
//    rules are dropped. Nothing outside those two folders can allow a rule for a whole file.
//  - any original source line may carry `gate-ignore: rule-a` (on the line or the line above) to
//    drop that one finding, for a heuristic that misfires; say why in the same comment.
import { parse } from "acorn";
import type { Node } from "acorn";
import { TraceMap, originalPositionFor, sourceContentFor } from "@jridgewell/trace-mapping";
import { findRegexProblems } from "./gate-regex.ts";
import { POLYFILL_NAMES } from "./polyfill-detect.ts";

export interface GateFinding {
  rule: string;
  message: string;
  hint: string;
  line: number; column: number;
  source?: { file: string; line: number; column: number };
}

export interface GateOptions { map?: string; polyfills?: string[] }

/** Every rule the gate knows, with its one-line fix hint. Ids are stable: tests and docs use them. */
export const RULES = {
  "es5-syntax": "only ES5 runs on Espruino; compile through firmware/build/pipeline.ts and do not hand-write newer syntax",
  "no-labels": "labels are unsupported (ReferenceError); use a flag variable or move the loop into a function and return",
  "regex-unsupported": "keep to . [..] \\d\\w\\s * + ^ $ and top-level |, flags i/g, at most 9 groups; or parse by hand with indexOf/charCodeAt",
  "missing-builtin": "this built-in does not exist on Espruino 2v29; use plain objects/arrays or a project polyfill",
  "builtin-prototype": "built-in methods are invisible on X.prototype on Espruino; borrow from an instance: [].slice.call(x), {}.hasOwnProperty.call(o, k)",
  "throw-in-finally": "a throw inside finally is silently lost on Espruino; record the error and throw after the try statement",
  "clear-timer-undefined": "guard the id (if (id !== undefined) clearTimeout(id)); clearTimeout(undefined) throws and clearTimeout() clears ALL timers",
  "error-instanceof": "on Espruino new TypeError() instanceof Error is false and engine errors are plain Error; test e.type or your own error class",
  "error-name": "Espruino errors have .type and no .name; compare e.type (or e.message) instead",
  "function-name": "functions have no .name on Espruino; pass the name as a string",
  "storage-name-length": "Storage names longer than 28 characters (27 for StorageFile) are silently truncated and collide; shorten the name",
  "inexact-pow": "Math.pow is exact only for exponents 0-9 on Espruino; use shifts, multiplication or `**` (compiled to the exact __kc_pow)",
  "no-debugger": "debugger stops Espruino at a debug> prompt; remove it",
  "no-with": "remove with; use an explicit object reference",
  "no-eval": "eval of a computed string hides code from the gate; call functions directly",
  "require-unknown": "only Espruino's built-in modules can be required at run time; import TypeScript modules so they are bundled",
  "hoisting": "Espruino does not hoist: declare functions (and vars) before any use; this means the terser hoist_funs/hoist_vars pass regressed",
} as const;
export type RuleId = keyof typeof RULES;

const ERROR_CONSTRUCTORS = new Set(["Error", "TypeError", "SyntaxError", "ReferenceError", "InternalError", "RangeError", "EvalError", "URIError"]);

const MISSING_GLOBALS = table<string>({
  Map: "use a plain object keyed by string", Set: "use a plain object as a set", WeakMap: "store the data on the object itself",
  WeakSet: "mark the object with a property", Symbol: "use string keys", BigInt: "stay in int32 / 2^53 or use byte arrays",
  Proxy: "use explicit getters", Reflect: "call Object.* functions directly", RangeError: "throw Error (or TypeError)",
  EvalError: "throw Error", URIError: "throw Error", TextEncoder: "strings are bytes on boards: use E.toUint8Array",
  TextDecoder: "strings are bytes on boards: use E.toString", globalThis: "reference globals by name",
  WeakRef: "keep a normal reference", FinalizationRegistry: "release resources explicitly", AggregateError: "throw Error",
  Intl: "format by hand", queueMicrotask: "use setTimeout(fn, 0)", structuredClone: "copy explicitly",
  SharedArrayBuffer: "use ArrayBuffer", Atomics: "not available", BigInt64Array: "use two Uint32 words", BigUint64Array: "use two Uint32 words",
});

// `Global.member` statics that are absent; a value names the polyfill that supplies it.
const MISSING_STATICS = table<string | null>({
  "Array.from": "Array.from", "Array.of": "Array.of",
  "Object.freeze": "Object.freeze", "Object.is": "Object.is", "Object.seal": null, "Object.preventExtensions": null,
  "Object.isFrozen": null, "Object.isSealed": null, "Object.isExtensible": null, "Object.getOwnPropertySymbols": null,
  "Number.isInteger": "Number.isInteger", "Number.isSafeInteger": null, "Number.isFinite": null, "Number.isNaN": null,
  "Number.parseInt": null, "Number.parseFloat": null, "Number.MAX_SAFE_INTEGER": null, "Number.MIN_SAFE_INTEGER": null, "Number.EPSILON": null,
  "Math.imul": "Math.imul", "Math.clz32": "Math.clz32", "Math.trunc": "Math.trunc", "Math.log2": null, "Math.log10": null,
  "Math.hypot": null, "Math.cbrt": null, "Math.fround": null, "Math.sinh": null, "Math.cosh": null, "Math.tanh": null,
  "Math.asinh": null, "Math.acosh": null, "Math.atanh": null, "Math.expm1": null, "Math.log1p": null,
  "String.fromCodePoint": null, "String.raw": null, "Date.UTC": null,
  "Promise.race": null, "Promise.allSettled": null, "Promise.any": null,
  "Uint8Array.from": null, "Uint8Array.of": null, "Uint16Array.from": null, "Uint32Array.from": null, "Int8Array.from": null,
  "Int16Array.from": null, "Int32Array.from": null, "Float32Array.from": null, "Float64Array.from": null,
});

// Method names missing on Espruino's built-ins; flagged as `x.name(...)` calls whatever x is.
const MISSING_METHODS = table<string>({
  at: "index with x[i] (x[x.length - 1] for the last)", codePointAt: "use charCodeAt (strings are bytes)",
  localeCompare: "compare with < and >", normalize: "strings are bytes; drop it", matchAll: "loop with re.exec",
  trimStart: "use a regex replace /^\\s+/", trimEnd: "use a regex replace /\\s+$/", search: "use indexOf or re.exec",
  lastIndexOf: "Array#lastIndexOf is missing (String#lastIndexOf exists): loop backwards",
  reduceRight: "loop backwards", flat: "concat in a loop", flatMap: "map then concat in a loop",
  copyWithin: "use typed array set/subarray or a loop", findLast: "loop backwards", findLastIndex: "loop backwards",
  toPrecision: "format by hand", toExponential: "format by hand", finally: "Promise#finally is missing: use then(f, f)",
  toLocaleString: "format by hand", toLocaleDateString: "format by hand", toLocaleTimeString: "format by hand",
});

// A Map, so that names like "toString" or "constructor" never hit Object.prototype.
function table<V>(entries: Record<string, V>): Map<string, V> {
  return new Map(Object.entries(entries));
}

const BUILTIN_CONSTRUCTORS = new Set([
  "Array", "String", "Object", "Function", "Number", "Boolean", "Promise", "Date", "RegExp", "Error", "TypeError",
  "ArrayBuffer", "DataView", "Uint8Array", "Int8Array", "Uint8ClampedArray", "Uint16Array", "Int16Array", "Uint24Array",
  "Uint32Array", "Int32Array", "Float32Array", "Float64Array",
]);

// Espruino's built-in modules (require works without uploading anything). Anything else would need
// a module uploaded separately: firmware code is bundled, except UPLOADED_MODULES below.
// Espruino modules (EspruinoDocs) the upload carries next to the bundle (Modules.addCached): only
// for boards whose profile has the device (SSD1306: peripherals.screen, docs/DISPLAY.md); the
// firmware requires them inside try and runs without when absent.
const UPLOADED_MODULES = new Set(["SSD1306"]);
const BUILTIN_MODULES = new Set(["Storage", "Flash", "crypto", "heatshrink", "fs", "http", "net", "dgram", "tls", "Wifi", "neopixel", "NRF", "ble_hid_keyboard"]);

const STORAGE_METHODS = new Set(["write", "read", "readJSON", "writeJSON", "readArrayBuffer", "erase", "open"]);
// Methods unique enough to Storage that a long literal name is flagged whatever the receiver.
const STORAGE_ONLY_METHODS = new Set(["readJSON", "writeJSON", "readArrayBuffer"]);
const STORAGE_NAME_MAX = 28;
// StorageFile chunks are stored as name + one chunk-number character (espruino-facts §5).
const STORAGE_FILE_NAME_MAX = 27;

const TIMER_CLEARERS = new Set(["clearTimeout", "clearInterval", "clearWatch"]);
const TIMER_SETTERS = new Set(["setTimeout", "setInterval", "setWatch"]);

// ---------------------------------------------------------------------------------------------
// A minimal ESTree view: acorn nodes are plain objects; these helpers keep the walker generic.
type AnyNode = Node & Record<string, any>;
interface Step { node: AnyNode; key: string }
type Chain = Step[]; // ancestors, outermost first; key = the field of that ancestor we descended into

function isNode(value: unknown): value is AnyNode {
  return typeof value === "object" && value !== null && typeof (value as { type?: unknown }).type === "string";
}

function forEachChild(node: AnyNode, fn: (child: AnyNode, key: string) => void): void {
  for (const key of Object.keys(node)) {
    if (key === "loc" || key === "type" || key === "start" || key === "end" || key === "regex") continue;
    const value = node[key];
    if (Array.isArray(value)) {
      for (const item of value) if (isNode(item)) fn(item, key);
    } else if (isNode(value)) {
      fn(value, key);
    }
  }
}

function isFunction(node: AnyNode): boolean {
  return node.type === "FunctionDeclaration" || node.type === "FunctionExpression" || node.type === "ArrowFunctionExpression";
}

type IdentifierRole = "reference" | "declaration" | "property" | "label";

function identifierRole(parent: AnyNode | undefined, key: string): IdentifierRole {
  if (!parent) return "reference";
  switch (parent.type) {
    case "MemberExpression": return key === "property" && !parent.computed ? "property" : "reference";
    case "Property": return key === "key" && !parent.computed ? "property" : "reference";
    case "VariableDeclarator": return key === "id" ? "declaration" : "reference";
    case "FunctionDeclaration": case "FunctionExpression": return key === "id" || key === "params" ? "declaration" : "reference";
    case "CatchClause": return key === "param" ? "declaration" : "reference";
    case "LabeledStatement": case "BreakStatement": case "ContinueStatement": return key === "label" ? "label" : "reference";
    default: return "reference";
  }
}

// ---------------------------------------------------------------------------------------------
// Scopes: which names each function (or the program, or a catch clause) declares.
type DeclKind = "var" | "function" | "param" | "catch";

class Scopes {
  private readonly names = new Map<AnyNode, Map<string, DeclKind>>();

  constructor(program: AnyNode) {
    this.collect(program, program);
  }

  declared(scope: AnyNode): Map<string, DeclKind> {
    let m = this.names.get(scope);
    if (!m) { m = new Map(); this.names.set(scope, m); }
    return m;
  }

  /** The kind of the innermost declaration of `name` visible from `chain`, or undefined for a global. */
  resolve(name: string, chain: Chain): DeclKind | undefined {
    for (let i = chain.length - 1; i >= 0; i--) {
      const { node, key } = chain[i]!;
      // A function's own scope covers its params and body, not its id in the enclosing scope.
      if ((isFunction(node) && key !== "id") || node.type === "Program" || (node.type === "CatchClause" && key === "body")) {
        const kind = this.names.get(node)?.get(name);
        if (kind) return kind;
      }
    }
    return undefined;
  }

  private collect(node: AnyNode, scope: AnyNode): void {
    if (node.type === "FunctionDeclaration" && node.id) this.declared(scope).set(node.id.name, "function");
    if (isFunction(node)) {
      const own = this.declared(node);
      if (node.type === "FunctionExpression" && node.id) own.set(node.id.name, "function");
      for (const p of node.params as AnyNode[]) if (p.type === "Identifier") own.set(p.name, "param");
      this.collect(node.body, node);
      return;
    }
    if (node.type === "CatchClause") {
      if (node.param?.type === "Identifier") this.declared(node).set(node.param.name, "catch");
      this.collect(node.body, scope);
      return;
    }
    if (node.type === "VariableDeclarator" && node.id.type === "Identifier") {
      const m = this.declared(scope);
      if (!m.has(node.id.name)) m.set(node.id.name, "var");
    }
    forEachChild(node, (child) => this.collect(child, scope));
  }
}

// ---------------------------------------------------------------------------------------------
export function checkBundle(code: string, opts: GateOptions = {}): GateFinding[] {
  const polyfills = new Set(opts.polyfills ?? []);
  for (const p of polyfills) {
    if (!(POLYFILL_NAMES as readonly string[]).includes(p)) {
      throw new Error(`checkBundle: unknown polyfill "${p}"; known: ${POLYFILL_NAMES.join(", ")}`);
    }
  }
  const mapper = opts.map ? new SourceMapper(opts.map) : undefined;
  const raw: GateFinding[] = [];
  const add = (rule: RuleId, node: { loc?: AnyNode["loc"] } | { line: number; column: number }, message: string, hint?: string): void => {
    const pos = "line" in node ? node : { line: node.loc!.start.line, column: node.loc!.start.column };
    raw.push({ rule, message, hint: hint ?? RULES[rule], line: pos.line, column: pos.column });
  };

  let program: AnyNode;
  try {
    program = parse(code, { ecmaVersion: 5, sourceType: "script", locations: true, allowReserved: true }) as AnyNode;
  } catch (err) {
    const e = err as { loc?: { line: number; column: number }; message?: string };
    add("es5-syntax", e.loc ?? { line: 1, column: 0 }, `not ES5: ${String(e.message ?? err).replace(/ \(\d+:\d+\)$/, "")}`);
    return finish(raw, mapper);
  }

  new BundleChecker(code, program, polyfills, add).run();
  return finish(raw, mapper);
}

type AddFinding = (rule: RuleId, node: { loc?: AnyNode["loc"] } | { line: number; column: number }, message: string, hint?: string) => void;

class BundleChecker {
  private readonly scopes: Scopes;
  private readonly storageNames = new Set<string>();
  private readonly timerIdNames = new Set<string>();

  constructor(
    private readonly code: string,
    private readonly program: AnyNode,
    private readonly polyfills: Set<string>,
    private readonly add: AddFinding,
  ) {
    this.scopes = new Scopes(program);
  }

  run(): void {
    this.collectStorageNames(this.program);
    this.collectTimerIdNames(this.program);
    this.visit(this.program, []);
  }

  private text(node: AnyNode): string {
    return this.code.slice(node.start, node.end);
  }

  private isGlobal(name: string, chain: Chain): boolean {
    return this.scopes.resolve(name, chain) === undefined;
  }

  private visit(node: AnyNode, chain: Chain): void {
    this.check(node, chain);
    forEachChild(node, (child, key) => {
      chain.push({ node, key });
      this.visit(child, chain);
      chain.pop();
    });
  }

  private check(node: AnyNode, chain: Chain): void {
    const parentStep = chain[chain.length - 1];
    switch (node.type) {
      case "LabeledStatement":
        this.add("no-labels", node, `label "${node.label.name}:" is not supported by Espruino`);
        break;
      case "BreakStatement":
      case "ContinueStatement":
        if (node.label) this.add("no-labels", node, `${node.type === "BreakStatement" ? "break" : "continue"} ${node.label.name} uses a label`);
        break;
      case "DebuggerStatement":
        this.add("no-debugger", node, "debugger statement");
        break;
      case "WithStatement":
        this.add("no-with", node, "with statement");
        break;
      case "TryStatement":
        if (node.finalizer) this.checkFinally(node.finalizer);
        break;
      case "Literal":
        if (node.regex) this.checkRegex(node, node.regex.pattern, node.regex.flags);
        break;
      case "Identifier":
        this.checkIdentifier(node, chain, parentStep);
        break;
      case "MemberExpression":
        this.checkMember(node, chain, parentStep);
        break;
      case "CallExpression":
      case "NewExpression":
        this.checkCall(node, chain);
        break;
      case "BinaryExpression":
        this.checkBinary(node, chain);
        break;
      case "Program":
      case "BlockStatement":
        this.checkHoisting(node.body as AnyNode[]);
        if (node.type === "Program" || (parentStep && isFunction(parentStep.node))) this.checkVarOrder(node, parentStep?.node ?? node);
        break;
    }
  }

  // -- rules -----------------------------------------------------------------------------------
  private checkFinally(finalizer: AnyNode): void {
    const visit = (n: AnyNode): void => {
      if (isFunction(n)) return; // a throw in a nested function runs later, not in the finally
      if (n.type === "ThrowStatement") this.add("throw-in-finally", n, "throw inside a finally block is silently lost on Espruino");
      forEachChild(n, visit);
    };
    visit(finalizer);
  }

  private checkRegex(node: AnyNode, pattern: string, flags: string): void {
    for (const p of findRegexProblems(pattern, flags)) {
      this.add("regex-unsupported", node, `regex /${pattern}/${flags} uses ${p.feature}: ${p.why}`);
    }
  }

  private checkIdentifier(node: AnyNode, chain: Chain, parentStep: Step | undefined): void {
    if (identifierRole(parentStep?.node, parentStep?.key ?? "") !== "reference") return;
    const name: string = node.name;
    const fix = MISSING_GLOBALS.get(name);
    if (fix === undefined || !this.isGlobal(name, chain)) return;
    if (parentStep?.node.type === "UnaryExpression" && parentStep.node.operator === "typeof") return;
    if (this.isFeatureGuarded(name, chain)) return;
    this.add("missing-builtin", node, `${name} does not exist on Espruino 2v29`, `${fix} (${name} is missing on Espruino)`);
  }

  private checkMember(node: AnyNode, chain: Chain, parentStep: Step | undefined): void {
    const path = this.staticPath(node, chain);
    const isAssignTarget = parentStep?.node.type === "AssignmentExpression" && parentStep.key === "left";
    if (path !== undefined && MISSING_STATICS.has(path) && !isAssignTarget) {
      const polyfill = MISSING_STATICS.get(path);
      const covered = polyfill !== null && polyfill !== undefined && this.polyfills.has(polyfill);
      const isCalled = parentStep?.node.type === "CallExpression" && parentStep.key === "callee";
      if (!covered && (isCalled || !this.isFeatureTest(chain)) && !this.isFeatureGuarded(path, chain)) {
        const hint = polyfill
          ? `${path} is missing on Espruino; the pipeline prepends firmware/build/polyfills/${polyfill}.js when it sees it, so build through firmware/build/pipeline.ts`
          : `${path} is missing on Espruino 2v29 and has no polyfill; write it by hand`;
        this.add("missing-builtin", node, `${path} does not exist on Espruino 2v29`, hint);
      }
    }
    this.checkPrototypeAccess(node, chain, isAssignTarget);
    if (!node.computed && node.property.name === "name") this.checkNameRead(node, chain);
  }

  private checkPrototypeAccess(node: AnyNode, chain: Chain, isAssignTarget: boolean): void {
    const proto = node.object;
    if (proto.type !== "MemberExpression" || proto.computed || proto.property.name !== "prototype") return;
    if (proto.object.type !== "Identifier" || !BUILTIN_CONSTRUCTORS.has(proto.object.name) || !this.isGlobal(proto.object.name, chain)) return;
    const member = node.computed ? (node.property.type === "Literal" ? String(node.property.value) : "[…]") : node.property.name;
    const path = `${proto.object.name}.prototype.${member}`;
    if (isAssignTarget && this.polyfills.has(path)) return;
    const message = isAssignTarget
      ? `${path} is assigned outside the project polyfills`
      : `${path} reads a built-in through its prototype, where Espruino hides built-in methods (it is undefined)`;
    const hint = isAssignTarget ? "add prototype methods only as a polyfill in firmware/build/polyfills/" : undefined;
    this.add("builtin-prototype", node, message, hint);
  }

  private checkNameRead(node: AnyNode, chain: Chain): void {
    const obj = node.object;
    if (obj.type === "Identifier" && this.scopes.resolve(obj.name, chain) === "catch") {
      this.add("error-name", node, `${obj.name}.name on a caught error is undefined on Espruino`);
      return;
    }
    const parentStep = chain[chain.length - 1];
    const parent = parentStep?.node;
    if (parent?.type === "BinaryExpression" && /^[!=]==?$/.test(parent.operator)) {
      const other = parentStep!.key === "left" ? parent.right : parent.left;
      if (other.type === "Literal" && typeof other.value === "string" && /Error$/.test(other.value)) {
        this.add("error-name", node, `${this.text(node)} compared with "${other.value}": errors have no .name on Espruino`);
        return;
      }
    }
    const isConstructorName = obj.type === "MemberExpression" && !obj.computed && obj.property.name === "constructor";
    const isCallee = obj.type === "MemberExpression" && !obj.computed && obj.property.name === "callee" && obj.object.type === "Identifier" && obj.object.name === "arguments";
    const isDeclaredFunction = obj.type === "Identifier" && this.scopes.resolve(obj.name, chain) === "function";
    if (isConstructorName || isCallee || isDeclaredFunction) {
      this.add("function-name", node, `${this.text(node)} reads a function's .name, which is undefined on Espruino`);
    }
  }

  private checkCall(node: AnyNode, chain: Chain): void {
    const callee = node.callee;
    const args = node.arguments as AnyNode[];
    if (callee.type === "Identifier") {
      const name: string = callee.name;
      if (name === "RegExp" && this.isGlobal(name, chain) && args[0]?.type === "Literal" && typeof args[0].value === "string") {
        const flags = args[1]?.type === "Literal" && typeof args[1].value === "string" ? args[1].value : "";
        this.checkRegex(node, args[0].value, flags);
      }
      if (node.type !== "CallExpression") return;
      if (TIMER_CLEARERS.has(name) && this.isGlobal(name, chain)) this.checkTimerClear(node, name, args, chain);
      if (name === "require" && this.isGlobal(name, chain)) this.checkRequire(node, args);
      if (name === "eval" && this.isGlobal(name, chain) && !(args[0]?.type === "Literal" && typeof args[0].value === "string")) {
        this.add("no-eval", node, "eval of a computed string");
      }
      // swc lowers `x instanceof E` to the _instanceof(x, E) helper; terser may keep the call.
      if (args.length === 2 && args[1]!.type === "Identifier" && ERROR_CONSTRUCTORS.has(args[1]!.name) && this.isGlobal(args[1]!.name, chain) && !this.isGlobal(name, chain)) {
        this.add("error-instanceof", node, `instanceof ${args[1]!.name} (through the instanceof helper) is unreliable on Espruino`);
      }
      return;
    }
    if (callee.type !== "MemberExpression" || callee.computed || node.type !== "CallExpression") return;
    const method: string = callee.property.name;
    const path = this.staticPath(callee, chain);
    if (path === "Math.pow") this.checkPow(node, args);
    if (path === undefined || !MISSING_STATICS.has(path)) {
      const fix = MISSING_METHODS.get(method);
      const stringSearch = method === "lastIndexOf" && args[0]?.type === "Literal" && typeof args[0].value === "string";
      const isStatic = callee.object.type === "Identifier" && (callee.object.name === "Object" || callee.object.name === "Promise") && method !== "finally";
      if (fix !== undefined && !stringSearch && !isStatic) {
        this.add("missing-builtin", callee.property, `.${method}() does not exist on Espruino 2v29's built-ins`, `${fix} (.${method} is missing on Espruino)`);
      }
    }
    if (STORAGE_METHODS.has(method)) this.checkStorageName(callee, method, args);
  }

  private checkBinary(node: AnyNode, chain: Chain): void {
    if (node.operator !== "instanceof") return;
    const right = node.right;
    if (right.type === "Identifier" && ERROR_CONSTRUCTORS.has(right.name) && this.isGlobal(right.name, chain)) {
      this.add("error-instanceof", node, `instanceof ${right.name} is unreliable on Espruino`);
    }
  }

  private checkPow(node: AnyNode, args: AnyNode[]): void {
    const isIntLiteral = (n: AnyNode | undefined): boolean => {
      if (!n) return false;
      if (n.type === "UnaryExpression" && n.operator === "-") return isIntLiteral(n.argument);
      return n.type === "Literal" && typeof n.value === "number" && Number.isInteger(n.value);
    };
    if (isIntLiteral(args[1]) || isIntLiteral(args[0])) {
      this.add("inexact-pow", node, `${this.text(node)} is integer math through Math.pow, which is inexact on Espruino (Math.pow(2,31) = 2147483648.0000019)`);
    }
  }

  private checkTimerClear(node: AnyNode, name: string, args: AnyNode[], chain: Chain): void {
    if (args.length === 0) {
      this.add("clear-timer-undefined", node, `${name}() without an argument clears ALL timers/watches on Espruino`);
      return;
    }
    const arg = args[0]!;
    const isUndefined = (arg.type === "Identifier" && arg.name === "undefined") || (arg.type === "UnaryExpression" && arg.operator === "void");
    if (isUndefined) {
      this.add("clear-timer-undefined", node, `${name}(undefined) throws on Espruino`);
      return;
    }
    if (arg.type !== "Identifier" && arg.type !== "MemberExpression") return;
    if (arg.type === "Identifier" && this.timerIdNames.has(arg.name)) return;
    const text = this.text(arg);
    if (this.isValueGuarded(text, chain) || this.hasEarlyExitGuard(text, node, chain)) return;
    this.add(
      "clear-timer-undefined",
      node,
      `${name}(${text}): ${text} may be undefined and ${name}(undefined) throws on Espruino (no enclosing check of ${text} found)`,
    );
  }

  /**
   * Names whose every write in the bundle is a timer id (`var t = setTimeout(...)`, `t = setInterval(...)`)
   * can never hold undefined, so clearing them is safe. Matching is by name across all scopes, which only
   * errs towards flagging: a parameter or any other write of the same (possibly mangled) name disqualifies it.
   */
  private collectTimerIdNames(program: AnyNode): void {
    const timerWrites = new Map<string, number>();
    const otherWrites = new Set<string>();
    const isTimerCall = (n: AnyNode | null | undefined): boolean =>
      n?.type === "CallExpression" && n.callee.type === "Identifier" && TIMER_SETTERS.has(n.callee.name);
    const visit = (node: AnyNode): void => {
      if (node.type === "VariableDeclarator" && node.id.type === "Identifier") {
        if (isTimerCall(node.init)) timerWrites.set(node.id.name, (timerWrites.get(node.id.name) ?? 0) + 1);
        else otherWrites.add(node.id.name);
      } else if (node.type === "AssignmentExpression" && node.left.type === "Identifier") {
        if (node.operator === "=" && isTimerCall(node.right)) timerWrites.set(node.left.name, (timerWrites.get(node.left.name) ?? 0) + 1);
        else otherWrites.add(node.left.name);
      } else if (node.type === "UpdateExpression" && node.argument.type === "Identifier") {
        otherWrites.add(node.argument.name);
      } else if (node.type === "FunctionDeclaration" || node.type === "FunctionExpression") {
        for (const param of node.params as AnyNode[]) if (param.type === "Identifier") otherWrites.add(param.name);
        if (node.id) otherWrites.add(node.id.name);
      } else if (node.type === "CatchClause" && node.param?.type === "Identifier") {
        otherWrites.add(node.param.name);
      }
      forEachChild(node, (child) => visit(child));
    };
    visit(program);
    for (const name of timerWrites.keys()) if (!otherWrites.has(name)) this.timerIdNames.add(name);
  }

  private checkRequire(node: AnyNode, args: AnyNode[]): void {
    const arg = args[0];
    if (arg?.type === "Literal" && typeof arg.value === "string") {
      if (!BUILTIN_MODULES.has(arg.value) && !UPLOADED_MODULES.has(arg.value)) this.add("require-unknown", node, `require("${arg.value}") is not one of Espruino's built-in modules`);
    } else {
      this.add("require-unknown", node, "require() of a computed module name");
    }
  }

  private checkStorageName(callee: AnyNode, method: string, args: AnyNode[]): void {
    const first = args[0];
    if (first?.type !== "Literal" || typeof first.value !== "string") return;
    const receiver = callee.object;
    const isStorage =
      (receiver.type === "Identifier" && this.storageNames.has(receiver.name)) || isRequireStorage(receiver) || STORAGE_ONLY_METHODS.has(method);
    if (!isStorage) return;
    const max = method === "open" ? STORAGE_FILE_NAME_MAX : STORAGE_NAME_MAX;
    if (first.value.length > max) {
      this.add("storage-name-length", first, `Storage name "${first.value}" is ${first.value.length} characters (max ${max} for .${method})`);
    }
  }

  /** Function declarations must come before every other statement of their scope (Espruino does not hoist). */
  private checkHoisting(body: AnyNode[]): void {
    let sawOther = false;
    for (const stmt of body) {
      if (stmt.type === "FunctionDeclaration") {
        if (sawOther) this.add("hoisting", stmt, `function ${stmt.id.name} is declared after other statements of its scope; a call above it fails on Espruino`);
      } else if (!(stmt.type === "ExpressionStatement" && typeof stmt.directive === "string")) {
        sawOther = true;
      }
    }
  }

  /** A name of this scope used (in this scope, not a nested function) before its `var` statement. */
  private checkVarOrder(body: AnyNode, scope: AnyNode): void {
    const declared = this.scopes.declared(scope);
    const firstDecl = new Map<string, number>();
    const uses: { name: string; node: AnyNode }[] = [];
    const walk = (n: AnyNode, parent: AnyNode | undefined, key: string): void => {
      if (isFunction(n)) return;
      if (n.type === "VariableDeclarator" && n.id.type === "Identifier" && !firstDecl.has(n.id.name)) firstDecl.set(n.id.name, n.start);
      if (n.type === "Identifier" && declared.get(n.name) === "var") {
        const role = identifierRole(parent, key);
        if (role === "reference" || (parent?.type === "AssignmentExpression" && key === "left")) uses.push({ name: n.name, node: n });
      }
      forEachChild(n, (child, childKey) => walk(child, n, childKey));
    };
    walk(body, undefined, "");
    const reported = new Set<string>();
    for (const use of uses) {
      const at = firstDecl.get(use.name);
      if (at === undefined || use.node.start >= at || reported.has(use.name)) continue;
      reported.add(use.name);
      this.add("hoisting", use.node, `var ${use.name} is used before its var statement; on Espruino the name is not declared yet`);
    }
  }

  // -- heuristics ------------------------------------------------------------------------------
  /** `Global.member` for a member on an unshadowed global name. */
  private staticPath(node: AnyNode, chain: Chain): string | undefined {
    if (node.object.type !== "Identifier" || !this.isGlobal(node.object.name, chain)) return undefined;
    if (!node.computed) return `${node.object.name}.${node.property.name}`;
    if (node.property.type === "Literal" && typeof node.property.value === "string") return `${node.object.name}.${node.property.value}`;
    return undefined;
  }

  /** The node sits in the test of an if/?:, or the left of &&/||: reading a missing static there is a feature test. */
  private isFeatureTest(chain: Chain): boolean {
    for (let i = chain.length - 1; i >= 0; i--) {
      const { node, key } = chain[i]!;
      if ((node.type === "IfStatement" || node.type === "ConditionalExpression") && key === "test") return true;
      if (node.type === "LogicalExpression" && key === "left") return true;
      if (node.type === "UnaryExpression" && node.operator === "typeof") return true;
      if (isFunction(node) || node.type.endsWith("Statement")) return false;
    }
    return false;
  }

  /** An enclosing if/?:/&&/|| tests `feature` (by typeof or truthiness) before this use runs. */
  private isFeatureGuarded(feature: string, chain: Chain): boolean {
    for (let i = chain.length - 1; i >= 0; i--) {
      const { node, key } = chain[i]!;
      let test: AnyNode | undefined;
      if ((node.type === "IfStatement" || node.type === "ConditionalExpression") && key !== "test") test = node.test;
      if (node.type === "LogicalExpression" && key === "right") test = node.left;
      if (test && this.mentions(test, feature)) return true;
    }
    return false;
  }

  /** Like isFeatureGuarded, for a value: the enclosing test must run before, and not be the `||` fallback. */
  private isValueGuarded(text: string, chain: Chain): boolean {
    for (let i = chain.length - 1; i >= 0; i--) {
      const { node, key } = chain[i]!;
      if (isFunction(node)) return false; // a guard outside a callback says nothing about when it runs
      let test: AnyNode | undefined;
      if ((node.type === "IfStatement" || node.type === "ConditionalExpression") && key !== "test") test = node.test;
      if (node.type === "LogicalExpression" && node.operator === "&&" && key === "right") test = node.left;
      if (test && this.mentions(test, text)) return true;
    }
    return false;
  }

  /** `if (!x) return;` (or `=== undefined`/`== null`, ending in return/throw) earlier in an enclosing block. */
  private hasEarlyExitGuard(text: string, target: AnyNode, chain: Chain): boolean {
    for (let i = chain.length - 1; i >= 0; i--) {
      const { node } = chain[i]!;
      if (isFunction(node)) return false;
      if (node.type !== "BlockStatement" && node.type !== "Program") continue;
      for (const stmt of node.body as AnyNode[]) {
        if (stmt.start >= target.start) break;
        if (stmt.type === "IfStatement" && this.mentions(stmt.test, text) && exits(stmt.consequent)) return true;
      }
    }
    return false;
  }

  private mentions(test: AnyNode, text: string): boolean {
    let found = false;
    const visit = (n: AnyNode): void => {
      if (found) return;
      if ((n.type === "Identifier" || n.type === "MemberExpression") && this.text(n) === text) { found = true; return; }
      forEachChild(n, visit);
    };
    visit(test);
    return found;
  }

  private collectStorageNames(program: AnyNode): void {
    const visit = (n: AnyNode): void => {
      if (n.type === "VariableDeclarator" && n.id.type === "Identifier" && n.init && isRequireStorage(n.init)) this.storageNames.add(n.id.name);
      if (n.type === "AssignmentExpression" && n.left.type === "Identifier" && isRequireStorage(n.right)) this.storageNames.add(n.left.name);
      forEachChild(n, visit);
    };
    visit(program);
  }
}

function isRequireStorage(node: AnyNode): boolean {
  return node.type === "CallExpression" && node.callee.type === "Identifier" && node.callee.name === "require" &&
    node.arguments[0]?.type === "Literal" && node.arguments[0].value === "Storage";
}

function exits(stmt: AnyNode): boolean {
  if (stmt.type === "ReturnStatement" || stmt.type === "ThrowStatement") return true;
  if (stmt.type === "BlockStatement") {
    const last = stmt.body[stmt.body.length - 1];
    return last !== undefined && exits(last);
  }
  return false;
}

// ---------------------------------------------------------------------------------------------
const OWNED_SOURCE = /(^|\/)firmware\/build\/(helpers|polyfills)\/[^/]+\.js$/;

class SourceMapper {
  private readonly trace: TraceMap;
  private readonly allowCache = new Map<string, Set<string>>();

  constructor(map: string) {
    try {
      this.trace = new TraceMap(map);
    } catch (err) {
      throw new Error(`checkBundle: the source map is not a valid v3 map (${(err as Error).message}); pass compile()'s map unchanged`);
    }
  }

  locate(line: number, column: number): GateFinding["source"] {
    const pos = originalPositionFor(this.trace, { line, column });
    if (pos.source === null || pos.line === null) return undefined;
    return { file: pos.source, line: pos.line, column: pos.column ?? 0 };
  }

  isSuppressed(finding: GateFinding): boolean {
    const src = finding.source;
    if (!src) return false;
    const content = sourceContentFor(this.trace, src.file);
    if (content === null) return false;
    if (OWNED_SOURCE.test(src.file) && this.fileAllows(src.file, content).has(finding.rule)) return true;
    const lines = content.split("\n");
    const ignores = (line: string | undefined): boolean => {
      const m = line?.match(/gate-ignore:?\s*([\w-]+(?:\s*,\s*[\w-]+)*)/);
      return !!m && m[1]!.split(/\s*,\s*/).includes(finding.rule);
    };
    return ignores(lines[src.line - 1]) || ignores(lines[src.line - 2]);
  }

  private fileAllows(file: string, content: string): Set<string> {
    let allowed = this.allowCache.get(file);
    if (!allowed) {
      allowed = new Set();
      for (const line of content.split("\n").slice(0, 10)) {
        const m = line.match(/gate-allow:\s*([\w-]+(?:\s*,\s*[\w-]+)*)/);
        if (m) for (const rule of m[1]!.split(/\s*,\s*/)) allowed.add(rule);
      }
      this.allowCache.set(file, allowed);
    }
    return allowed;
  }
}

function finish(raw: GateFinding[], mapper: SourceMapper | undefined): GateFinding[] {
  const seen = new Set<string>();
  const out: GateFinding[] = [];
  for (const f of raw) {
    const key = `${f.rule}:${f.line}:${f.column}:${f.message}`;
    if (seen.has(key)) continue;
    seen.add(key);
    if (mapper) {
      const source = mapper.locate(f.line, f.column);
      if (source) f.source = source;
      if (mapper.isSuppressed(f)) continue;
    }
    out.push(f);
  }
  return out.sort((a, b) => a.line - b.line || a.column - b.column);
}

/** "file:line:col: [rule] message — fix: hint"; the TS position when mapped (1-based column for editors). */
export function formatFinding(f: GateFinding): string {
  const where = f.source ? `${f.source.file}:${f.source.line}:${f.source.column + 1}` : `bundle:${f.line}:${f.column + 1}`;
  return `${where}: [${f.rule}] ${f.message} — fix: ${f.hint}`;
}
