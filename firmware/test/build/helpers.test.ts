// Unit tests of the project-owned swc helper replacements and polyfills, run in a vm context shaped
// like Espruino 2v29 (espruino-sim.ts: 2-argument Object.create throws, no Symbol/Reflect/Map,
// no propertyIsEnumerable, no Object.freeze/Array.from, inexact Math.pow above exponent 9).
import { describe, expect, it } from "vitest";
import vm from "node:vm";
import path from "node:path";
import * as esbuild from "esbuild";
import fc from "fast-check";
import { HELPERS_DIR, POLYFILLS_DIR, helpersPlugin, ownHelperNames } from "../../build/pipeline.ts";
import { runEspruinoLike } from "./espruino-sim.ts";

/** Bundles `body` (ES module source that may import helpers by bare swc name) to an ES5 script. */
async function bundle(body: string): Promise<string> {
  const out = await esbuild.build({
    stdin: { contents: body, resolveDir: HELPERS_DIR, loader: "js" },
    bundle: true, format: "iife", target: "es5", platform: "neutral", write: false, logLevel: "silent",
    plugins: [helpersPlugin()],
  });
  return out.outputFiles[0]!.text;
}

async function runWithHelpers(imports: string[], body: string): Promise<{ output: string[]; error?: string }> {
  const header = imports.map((name) => `import { _ as ${name} } from "@swc/helpers/_/${name}";`).join("\n");
  return runEspruinoLike(await bundle(header + "\n" + body));
}

describe("project-owned swc helpers", () => {
  it("replaces every helper the Espruino facts call broken", () => {
    const own = ownHelperNames();
    for (const name of ["_inherits", "_wrap_native_super", "_object_without_properties", "_tagged_template_literal",
      "_to_consumable_array", "_sliced_to_array", "_iterable_to_array", "_to_array", "_call_super"]) {
      expect(own).toContain(name);
    }
  });

  it("the simulation really breaks the stock _inherits (2-argument Object.create)", async () => {
    const stock = path.join(HELPERS_DIR, "../../../node_modules/@swc/helpers/esm/_inherits.js");
    const code = await esbuild.build({
      stdin: { contents: `import { _ as inh } from ${JSON.stringify(stock)}; function A(){} function B(){} inh(B, A); print("ok");`, resolveDir: HELPERS_DIR },
      bundle: true, format: "iife", target: "es5", write: false, logLevel: "silent",
    });
    const r = await runEspruinoLike(code.outputFiles[0]!.text);
    expect(r.error).toContain("propertiesObject is not supported yet");
  });

  it("_inherits links prototypes with 1-argument Object.create and copies statics", async () => {
    const r = await runWithHelpers(["_inherits", "_create_class"], `
      function A() {} A.prototype.hello = function () { return "hi"; };
      A.plain = 1;
      _create_class(A, [], [{ key: "make", value: function () { return "made"; } }]); // non-enumerable on Node
      Object.defineProperty(A, "computed", { get: function () { return 42; }, configurable: true });
      function B() {} B.own = "mine";
      _inherits(B, A);
      var b = new B();
      print(b.hello(), b instanceof A, b instanceof B, B.prototype.constructor === B);
      print(B.plain, B.make(), B.computed, B.own, Object.getPrototypeOf(B) === A);
    `);
    expect(r.error).toBeUndefined();
    expect(r.output).toEqual(["hi true true true", "1 made 42 mine true"]);
  });

  it("_inherits rejects a non-function parent with a TypeError", async () => {
    const r = await runWithHelpers(["_inherits"], `function B() {} try { _inherits(B, 3); } catch (e) { print(e.message); }`);
    expect(r.output[0]).toContain("Super expression must either be null or a function");
  });

  it("_wrap_native_super + _call_super give Error subclasses a plain JS base with a message", async () => {
    const r = await runWithHelpers(["_inherits", "_wrap_native_super", "_call_super", "_class_call_check"], `
      var Base = _wrap_native_super(Error);
      function KcError(m) { _class_call_check(this, KcError); var self = _call_super(this, KcError, [m]); self.code = 3; return self; }
      _inherits(KcError, Base);
      var e = new KcError("pin locked");
      print(e.message, e.code, e instanceof KcError, String(e));
      try { _wrap_native_super(Array); } catch (err) { print(err.message); }
    `);
    expect(r.error).toBeUndefined();
    expect(r.output[0]).toBe("pin locked 3 true Error: pin locked");
    expect(r.output[1]).toContain("other than Error is not supported");
  });

  it("_object_without_properties works without propertyIsEnumerable or Reflect", async () => {
    const r = await runWithHelpers(["_object_without_properties", "_object_without_properties_loose"], `
      function P() { this.own = 1; this.skip = 2; } P.prototype.inherited = 3;
      print(_object_without_properties(new P(), ["skip"]), _object_without_properties_loose({ a: 1, b: 2 }, ["a"]), _object_without_properties(null, []));
    `);
    expect(r.error).toBeUndefined();
    expect(r.output).toEqual(['{"own":1} {"b":2} {}']);
  });

  it("_tagged_template_literal attaches raw without Object.freeze", async () => {
    const r = await runWithHelpers(["_tagged_template_literal"], `
      var s = _tagged_template_literal(["a", "b"], ["a\\\\n", "b"]);
      var t = _tagged_template_literal(["x"]);
      print(s.raw, t.raw, s.length);
    `);
    expect(r.error).toBeUndefined();
    expect(r.output).toEqual(['["a\\\\n","b"] ["x"] 2']);
  });

  it("spread/destructure helpers index strings, typed arrays and arguments (no Symbol.iterator)", async () => {
    const r = await runWithHelpers(["_to_consumable_array", "_sliced_to_array", "_to_array", "_iterable_to_array", "_array_like_to_array"], `
      function args() { return _to_consumable_array(arguments); }
      var arr = [1, 2, 3];
      print(_to_consumable_array("héllo".slice(0, 3)), _to_consumable_array(new Uint8Array([5, 6])), args(7, 8));
      print(_sliced_to_array(arr, 2) === arr, _sliced_to_array("xyz", 2), _sliced_to_array(new Uint8Array([1, 2, 3]), 2));
      print(_to_array("ab"), _iterable_to_array(new Uint16Array([300])), _array_like_to_array([1, 2, 3], 2));
      try { _to_consumable_array(5); } catch (e) { print(e.message); }
    `);
    expect(r.error).toBeUndefined();
    expect(r.output.slice(0, 3)).toEqual([
      '["h","é","l"] [5,6] [7,8]',
      'true ["x","y"] [1,2]',
      '["a","b"] [300] [1,2]',
    ]);
    expect(r.output[3]).toContain("not array-like");
  });

  it("_type_of and _instanceof work without Symbol", async () => {
    const r = await runWithHelpers(["_type_of", "_instanceof"], `
      function C() {}
      print(_type_of("s"), _type_of(null), _type_of(C), _instanceof(new C(), C), _instanceof({}, C));
    `);
    expect(r.output).toEqual(["string object function true false"]);
  });
});

async function polyfillScript(names: string[], body: string): Promise<string> {
  const imports = names.map((n) => `import ${JSON.stringify(path.join(POLYFILLS_DIR, n + ".js"))};`).join("\n");
  return bundle(imports + "\n" + body);
}

describe("polyfills", () => {
  it("install into an Espruino-shaped context and match Node's built-ins", async () => {
    const r = await runEspruinoLike(await polyfillScript(
      ["Array.from", "Array.of", "Object.freeze", "Object.is", "Number.isInteger", "Math.trunc", "Math.clz32"],
      `print(Array.from("abc"), Array.from(new Uint8Array([1, 2]), function (x) { return x * 2; }), Array.of(7, 8));
       var o = { a: 1 }; print(Object.freeze(o) === o, Object.is(NaN, NaN), Object.is(0, -0), Object.is(1, 1));
       print(Number.isInteger(5), Number.isInteger(5.5), Number.isInteger("5"), Number.isInteger(Infinity));
       print(Math.trunc(-4.7), Math.trunc(4.7), Math.trunc(-0.5) === 0, Math.clz32(0), Math.clz32(1), Math.clz32(0x80000000), Math.clz32(-1));`,
    ));
    expect(r.error).toBeUndefined();
    expect(r.output).toEqual([
      '["a","b","c"] [2,4] [7,8]',
      "true true false true",
      "true false false false",
      "-4 4 true 32 31 0 0",
    ]);
  });

  it("Math.imul matches Node for random int32 pairs (fast-check, 300 runs)", async () => {
    const script = await polyfillScript(["Math.imul"], "");
    const ctx = vm.createContext({});
    vm.runInContext("delete Math.imul;", ctx);
    vm.runInContext(script, ctx);
    const imul = vm.runInContext("Math.imul", ctx) as (a: number, b: number) => number;
    expect(imul).not.toBe(Math.imul);
    fc.assert(fc.property(fc.integer({ min: -(2 ** 31), max: 2 ** 32 - 1 }), fc.integer({ min: -(2 ** 31), max: 2 ** 32 - 1 }), (a, b) => imul(a, b) === Math.imul(a, b)), { numRuns: 300 });
  });

  it("__kc_pow is exact for integers even when Math.pow is inexact above exponent 9", async () => {
    const r = await runEspruinoLike(await bundle(`import { __kc_pow } from ${JSON.stringify(path.join(POLYFILLS_DIR, "pow.js"))};
      print(Math.pow(2, 31) === 2147483648, __kc_pow(2, 31) === 2147483648, __kc_pow(10, 15), __kc_pow(2, 53), __kc_pow(2, -3), __kc_pow(0, 0), __kc_pow(-3, 3), __kc_pow(-0, -1));`));
    expect(r.output).toEqual(["false true 1000000000000000 9007199254740992 0.125 1 -27 null"]);
  });

  it("__kc_pow equals Node's ** for integer results below 2^53 (fast-check, 300 runs)", async () => {
    const ctx = vm.createContext({});
    vm.runInContext((await bundle(`import { __kc_pow } from ${JSON.stringify(path.join(POLYFILLS_DIR, "pow.js"))}; globalThis.pow = __kc_pow;`)), ctx);
    const pow = vm.runInContext("pow", ctx) as (b: number, e: number) => number;
    fc.assert(fc.property(fc.integer({ min: -50, max: 50 }), fc.integer({ min: 0, max: 60 }), (b, e) => {
      const expected = b ** e;
      fc.pre(Math.abs(expected) < 2 ** 53);
      return pow(b, e) === expected;
    }), { numRuns: 300 });
  });
});
