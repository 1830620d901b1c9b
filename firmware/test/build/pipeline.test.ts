// The TS → Espruino ES5 pipeline: output is one ES5 script that the gate accepts, that behaves like
// the TypeScript run on Node (in an Espruino-shaped context), and whose map points at the .ts lines.
import { describe, expect, it } from "vitest";
import path from "node:path";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { parse } from "acorn";
import { TraceMap, originalPositionFor } from "@jridgewell/trace-mapping";
import { compile, type CompileResult } from "../../build/pipeline.ts";
import { checkBundle, formatFinding } from "../../build/gate.ts";
import { rewriteExponent } from "../../build/exponent.ts";
import { detectPolyfills } from "../../build/polyfill-detect.ts";
import { runEspruinoLike, runTypeScriptOnNode } from "./espruino-sim.ts";

const FIXTURES = path.join(path.dirname(fileURLToPath(import.meta.url)), "fixtures");
const fixture = (name: string): string => path.join(FIXTURES, name);
const rel = (name: string): string => `firmware/test/build/fixtures/${name}`;

const cache = new Map<string, Promise<CompileResult>>();
function build(name: string, minify: boolean): Promise<CompileResult> {
  const key = `${name}:${minify}`;
  if (!cache.has(key)) cache.set(key, compile({ entry: fixture(name), minify }));
  return cache.get(key)!;
}

describe("compile() on the feature fixture (classes, statics, extends Error, spread, destructuring, for-of, async, enum, **, tagged templates)", () => {
  for (const minify of [false, true]) {
    const mode = minify ? "release" : "debug";

    it(`${mode}: is one ES5 IIFE script with no import/export`, async () => {
      const { code } = await build("features.ts", minify);
      expect(() => parse(code, { ecmaVersion: 5, sourceType: "script" })).not.toThrow();
      expect(code).not.toMatch(/\bimport\b|\bexport\b/);
      expect(code.trim()).toMatch(minify ? /^!function\(\)\{/ : /^\(function\(\) \{/);
    });

    it(`${mode}: passes the gate`, async () => {
      const r = await build("features.ts", minify);
      expect(checkBundle(r.code, { map: r.map, polyfills: r.polyfills }).map(formatFinding)).toEqual([]);
    });

    it(`${mode}: prints exactly what the TypeScript prints on Node, in an Espruino-shaped context`, async () => {
      const expected = await runTypeScriptOnNode(fixture("features.ts"));
      expect(expected.error).toBeUndefined();
      expect(expected.output).toContain("pow 2147483648 1000000000000000 3486784401 0.25 1.4142135623730951");
      const actual = await runEspruinoLike((await build("features.ts", minify)).code);
      expect(actual.error).toBeUndefined();
      expect(actual.output).toEqual(expected.output);
    });
  }

  it("prepends only the polyfills the bundle uses (string spread → Array.from, ** → pow)", async () => {
    expect((await build("features.ts", true)).polyfills).toEqual(["Array.from", "pow"]);
    expect((await build("tiny.ts", true)).polyfills).toEqual([]);
    const imul = await build("imul.ts", true);
    expect(imul.polyfills).toEqual(["Math.imul", "Math.clz32"]);
    expect((await runEspruinoLike(imul.code)).output).toEqual([`${Math.imul(0x7fffffff, 3)} 31`]);
  });

  it("bundles the project's helper replacements, not the broken stock ones", async () => {
    const sources: string[] = JSON.parse((await build("features.ts", false)).map).sources;
    expect(sources).toContain("firmware/build/helpers/_inherits.js");
    expect(sources).toContain("firmware/build/helpers/_wrap_native_super.js");
    expect(sources.filter((s) => /@swc\/helpers\/esm\/(_inherits|_wrap_native_super|_to_consumable_array|_call_super)\.js$/.test(s))).toEqual([]);
    expect(sources).toContain(rel("features.ts"));
    expect(sources).toContain(rel("features-lib.ts"));
  });

  it("maps bundle positions back to the TypeScript line (debug and release)", async () => {
    for (const minify of [false, true]) {
      const r = await build("features.ts", minify);
      const trace = new TraceMap(r.map);
      const at = r.code.indexOf(minify ? '"bad pin"' : '"bad pin"');
      const before = r.code.slice(0, at).split("\n");
      const pos = originalPositionFor(trace, { line: before.length, column: before[before.length - 1]!.length });
      const tsLine = readFileSync(fixture("features.ts"), "utf8").split("\n").findIndex((l) => l.includes('"bad pin"')) + 1;
      expect(pos.source).toBe(rel("features.ts"));
      expect(pos.line).toBe(tsLine);
    }
  });

  it("hoists every function declaration above the other statements of its scope", async () => {
    for (const minify of [false, true]) {
      const r = await build("features.ts", minify);
      expect(checkBundle(r.code).filter((f) => f.rule === "hoisting")).toEqual([]);
    }
  });

  it("returns an empty map when sourcemap is false and explains a missing entry", async () => {
    const r = await compile({ entry: fixture("tiny.ts"), minify: true, sourcemap: false });
    expect(r.map).toBe("");
    expect((await runEspruinoLike(r.code)).output).toEqual(["hello 42"]);
    await expect(compile({ entry: fixture("nope.ts"), minify: true })).rejects.toThrow(/does not exist/);
  });
});

describe("gate findings on compiled TypeScript point at the .ts line", () => {
  it("reports each marked construct at its TypeScript line, and honours gate-ignore", async () => {
    const r = await build("bad-mixed.ts", false);
    const findings = checkBundle(r.code, { map: r.map, polyfills: r.polyfills });
    const lines = readFileSync(fixture("bad-mixed.ts"), "utf8").split("\n");
    const expected = lines
      .map((l, i) => ({ rule: l.match(/\/\/ LINE ([\w-]+)/)?.[1], line: i + 1 }))
      .filter((x): x is { rule: string; line: number } => x.rule !== undefined);
    expect(expected.length).toBe(6);
    for (const e of expected) {
      const hit = findings.find((f) => f.rule === e.rule && f.source?.line === e.line);
      expect(hit, `${e.rule} at line ${e.line}; got ${findings.map(formatFinding).join("\n")}`).toBeDefined();
      expect(formatFinding(hit!)).toMatch(new RegExp(`^${rel("bad-mixed.ts")}:${e.line}:\\d+: \\[${e.rule}\\] `));
    }
    const ignoredLine = lines.findIndex((l) => l.includes("gate-ignore")) + 1;
    expect(findings.filter((f) => f.source?.line === ignoredLine)).toEqual([]);
    // Without the map there is nothing to read the gate-ignore comment from, so `.at(` is reported.
    expect(checkBundle(r.code, { polyfills: r.polyfills }).some((f) => f.message.includes(".at()"))).toBe(true);
  });

  it("release bundles keep the findings (labels survive minification)", async () => {
    const r = await build("bad-mixed.ts", true);
    const rules = new Set(checkBundle(r.code, { map: r.map, polyfills: r.polyfills }).map((f) => f.rule));
    for (const rule of ["no-labels", "clear-timer-undefined", "missing-builtin", "inexact-pow", "regex-unsupported"]) expect(rules).toContain(rule);
  });

  it("a helper's gate-allow header covers only that helper's own code", async () => {
    const r = await build("pow-literal.ts", true);
    const unmapped = checkBundle(r.code, { polyfills: r.polyfills });
    const mapped = checkBundle(r.code, { map: r.map, polyfills: r.polyfills });
    // terser inlines the literal base 2 into pow.js's Math.pow fallback: flagged without the map,
    // recognised as the pow polyfill's own (allowed) code with it.
    expect(unmapped.map((f) => f.rule)).toContain("inexact-pow");
    expect(mapped).toEqual([]);
  });
});

describe("exponent rewrite and polyfill detection", () => {
  it("turns ** and **= into the exact helper without changing line count", () => {
    const src = "var a = 2 ** 3 ** 2;\nx **= (y + 1) ** 2;\no.p **= 2;\n";
    const out = rewriteExponent(src);
    expect(out.code.split("\n").length).toBe(src.split("\n").length);
    expect(out.code).toContain("var a = __kc_pow(2 , __kc_pow(3 , 2));");
    expect(out.code).toContain("x = __kc_pow(x, __kc_pow((y + 1) , 2));");
    expect(out.code).toContain("o.p = __kc_pow(o.p, 2);");
    expect(out.code.startsWith('import { __kc_pow } from "kc-polyfill:pow";')).toBe(true);
    expect(rewriteExponent("var a = 1; // no power here\n")).toEqual({ code: "var a = 1; // no power here\n", rewrites: 0 });
  });

  it("refuses **= on a target that cannot be read twice safely", () => {
    expect(() => rewriteExponent("f().x **= 2;")).toThrow(/cannot be rewritten safely/);
  });

  it("detects polyfill needs by AST, not by text", () => {
    expect(detectPolyfills("var s = 'Array.from Math.imul'; Math['trunc'](1.5); Object.is(a, b);")).toEqual(["Object.is", "Math.trunc"]);
  });
});

describe("Espruino run-time modules", () => {
  it("keeps require(\"Storage\") as a plain call: no bundling attempt, no Proxy-based __require shim", async () => {
    for (const minify of [true, false]) {
      const { code } = await compile({ entry: fixture("espruino-require.ts"), minify });
      expect(code).toMatch(/require\("Storage"\)/);
      expect(code).not.toMatch(/__req__|__require|Proxy/);
      expect(checkBundle(code)).toEqual([]);
      const lines: string[] = [];
      const run = new Function("require", "console", code);
      run((name: string) => ({ getFree: () => (name === "Storage" ? 42 : -1) }), { log: (s: string) => lines.push(s) });
      expect(lines).toEqual(["free 42"]);
    }
  });
});
