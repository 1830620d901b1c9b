// JsVar estimates against facts §8 (Espruino 2v29, Puck.js layout: 2,630 vars × 13 B).
import { describe, expect, it } from "vitest";
import vm from "node:vm";
import {
  codeVars, estimateVars, enforceMemoryLimit, getSizeOf, globalNames, OutOfMemory,
} from "../src/cost/vars.ts";
import { CostMeter } from "../src/cost/meter.ts";
import { runMetered } from "../src/cost/sandbox.ts";
import { loadProfile } from "../src/profiles.ts";

describe("E.getSizeOf figures (facts §8)", () => {
  it("{a:1} = 2", () => expect(getSizeOf({ a: 1 })).toBe(2));
  it("new Uint8Array(100) = 11", () => expect(getSizeOf(new Uint8Array(100))).toBe(11));
  it("a small function = 5", () => {
    const small = vm.runInNewContext("(function (a, b) { return a + b; })");
    expect(getSizeOf(small)).toBe(5);
  });
  it("a 5208-character RAM string = 579 vars", () => expect(getSizeOf("x".repeat(5208))).toBe(579));
  it("a view shares its buffer; shared objects count once", () => {
    const buf = new Uint8Array(100);
    const shared = { k: 1 };
    // object 1 + 3 names + view 1 + (second view 1, buffer shared) + shared object counted once (2)
    expect(getSizeOf({ u: buf, v: buf.subarray(10), s: shared, t: shared })).toBe(1 + 4 + 11 + 1 + 2);
  });
  it("recognises ArrayBuffers from another realm, and not ArrayBuffer.prototype", () => {
    expect(getSizeOf(vm.runInNewContext("new ArrayBuffer(26)"))).toBe(2 + 2);
    expect(() => getSizeOf({ p: ArrayBuffer.prototype })).not.toThrow();
  });
  it("doubles, strings, booleans and null need a var beside a string name; small ints fit in it", () => {
    // measured on 2v29: {a:true,b:null} = 5 (vectors/real-espruino-vars.json); jsvMakeIntoVariableName
    // keeps only ints in the reference range inside a string-keyed name
    expect(getSizeOf({ i: 7, b: true, n: null })).toBe(1 + 1 + 2 + 2);
    expect(getSizeOf({ d: 0.5, s: "abc" })).toBe(1 + 2 + 1 + 1);
  });
});

describe("code run from Storage (facts §8)", () => {
  it("5 / 10 / 20 KB keep 200 / 368 / 696 vars", () => {
    expect(codeVars(5 * 1024)).toBe(200);
    expect(codeVars(10 * 1024)).toBe(368);
    expect(codeVars(20 * 1024)).toBe(696);
  });
  it("interpolates between and extrapolates beyond the measured points", () => {
    expect(codeVars(7.5 * 1024)).toBe(284);
    expect(codeVars(40 * 1024)).toBe(696 + 2 * 328);
    expect(codeVars(0)).toBe(0);
  });
  it("require() of 5 KB keeps 266", () => expect(codeVars(5 * 1024, "require")).toBe(266));
  it("a profile's own linear fit stays within 2% of the measured points", () => {
    const puck = loadProfile("puckjs");
    for (const [kb, vars] of [[5, 200], [10, 368], [20, 696]] as const) {
      expect(Math.abs(codeVars(kb * 1024, "storage", puck) / vars - 1)).toBeLessThan(0.02);
    }
  });
});

describe("estimateVars over a board context", () => {
  const FIRMWARE = `
    var state = { counter: 3, name: "carrier", buf: new Uint8Array(64) };
    var log = [];
    for (var i = 0; i < 5; i++) log.push({ n: i, ok: true });
    function handler(a) { return a + state.counter; }`;

  it("counts firmware globals, skips runtime globals and the hidden cost hook", () => {
    const meter = new CostMeter();
    const runtimeObject = { write: function () {} };
    const context = vm.createContext({ USB: runtimeObject });
    meter.install(context);
    const before = globalNames(context);
    runMetered(FIRMWARE, { meter, context });
    const est = estimateVars(context, { exclude: before });
    // names longer than 4 chars take an extension var ("state", "counter", "handler": 2 each)
    // state: "state" 2 + object 1 + "counter" 2 (int inline) + "name" 1 + "carrier" 1 + "buf" 1 + Uint8Array(64) (3 + ceil(64/13))
    const state = 2 + 1 + 2 + 1 + 1 + 1 + (3 + Math.ceil(64 / 13));
    // log: "log" 1 + array 1 + 5 × (index 1 + object 1 + "n" 1 + "ok" 1 + true 1: a boolean under a string name is a var)
    const log = 1 + 1 + 5 * 5;
    // i: 1 (int inline); handler: "handler" 2 + function (1 + 1 parameter + code name + code in flash)
    const handler = 2 + 4;
    expect(est.live).toBe(state + log + 1 + handler);
    expect(est.code).toBe(0);
    expect(est.total).toBe(est.live);
    expect(est.byType["function"]).toBe(4);
  });

  it("with the bundle size known, functions are charged to code (their vars are in the §8 figures)", () => {
    const context = runMetered(FIRMWARE).context;
    const est = estimateVars(context, { codeBytes: 5 * 1024 });
    expect(est.code).toBe(200);
    expect(est.byType["function"]).toBeUndefined();
    expect(est.total).toBe(est.code + est.live);
  });

  it("raises Espruino's out-of-memory behaviour when the pool is exceeded", () => {
    const puck = loadProfile("puckjs");
    const { context } = runMetered("var big = []; for (var i = 0; i < 1000; i++) big.push('entry ' + i);");
    const printed: string[] = [];
    let thrown: unknown;
    try {
      enforceMemoryLimit(context, { profile: puck, print: (l) => printed.push(l), codeBytes: 20 * 1024 });
    } catch (e) { thrown = e; }
    expect(printed).toEqual(["OUT OF MEMORY"]);
    expect(thrown).toBeInstanceOf(OutOfMemory);
    expect((thrown as OutOfMemory).limit).toBe(2630);
    expect((thrown as Error).message).toMatch(/needs about \d+ vars but the board has 2630; .*run code from Storage/);
  });

  it("stays quiet under the limit and reports it", () => {
    const puck = loadProfile("puckjs");
    const { context } = runMetered("var small = [1, 2, 3];");
    const printed: string[] = [];
    const est = enforceMemoryLimit(context, { profile: puck, print: (l) => printed.push(l), codeBytes: 10 * 1024 });
    expect(printed).toEqual([]);
    expect(est.limit).toBe(2630);
    expect(est.code).toBe(codeVars(10 * 1024, "storage", puck)); // the profile's fit: 34 + 33 × 10
    expect(est.total).toBe(364 + 2 /* "small" */ + 1 /* array */ + 3 /* indices */);
  });
});
