// Runs ES5 code in a Node vm context shaped like Espruino 2v29 where it matters to the build output
// (team espruino-facts §1): no Map/Set/WeakMap/Symbol/Reflect/Proxy/TextEncoder, no Array.from/of,
// Object.freeze/is, Number.isInteger, Math.imul/trunc/clz32, no propertyIsEnumerable,
// 2-argument Object.create throws, and Math.pow is inexact for exponents above 9.
// It is a simulation of those facts only, not an interpreter: Node still hoists and iterates.
import vm from "node:vm";
import * as esbuild from "esbuild";

const PRELUDE = `
(function () {
  var g = this;
  var nativeCreate = Object.create;
  Object.create = function (proto, props) {
    if (props !== undefined) throw new Error("propertiesObject is not supported yet");
    return nativeCreate(proto);
  };
  ["Map", "Set", "WeakMap", "WeakSet", "Symbol", "Reflect", "Proxy", "BigInt", "TextEncoder", "TextDecoder", "RangeError", "EvalError", "URIError"]
    .forEach(function (name) { delete g[name]; });
  delete Array.from; delete Array.of; delete Object.freeze; delete Object.is; delete Number.isInteger;
  delete Math.imul; delete Math.trunc; delete Math.clz32;
  delete Object.prototype.propertyIsEnumerable;
  var nativePow = Math.pow;
  // Measured: Math.pow(2,31) = 2147483648.0000019 on Espruino; exact only for exponents 0-9.
  Math.pow = function (b, e) { var r = nativePow(b, e); return e > 9 ? r * (1 + 1e-15) : r; };
}).call(this);
`;

export interface RunResult { output: string[]; error?: string }

function makeContext(output: string[]): vm.Context {
  const print = (...args: unknown[]): void => { output.push(args.map(show).join(" ")); };
  return vm.createContext({ print, setTimeout, clearTimeout });
}

function show(value: unknown): string {
  if (typeof value === "string") return value;
  try { return JSON.stringify(value) ?? String(value); } catch { return String(value); }
}

/** Runs `code` in the Espruino-shaped context and waits for pending promise jobs. */
export async function runEspruinoLike(code: string): Promise<RunResult> {
  const output: string[] = [];
  const ctx = makeContext(output);
  vm.runInContext(PRELUDE, ctx);
  try {
    vm.runInContext(code, ctx, { timeout: 2000 });
    await new Promise((r) => setTimeout(r, 5));
    return { output };
  } catch (err) {
    return { output, error: String(err) };
  }
}

/** Reference behaviour: the same TypeScript bundled for modern Node and run in a plain context. */
export async function runTypeScriptOnNode(entry: string): Promise<RunResult> {
  const built = await esbuild.build({ entryPoints: [entry], bundle: true, format: "iife", target: "es2022", platform: "neutral", write: false, logLevel: "silent" });
  const output: string[] = [];
  const ctx = makeContext(output);
  try {
    vm.runInContext(built.outputFiles[0]!.text, ctx, { timeout: 2000 });
    await new Promise((r) => setTimeout(r, 5));
    return { output };
  } catch (err) {
    return { output, error: String(err) };
  }
}
