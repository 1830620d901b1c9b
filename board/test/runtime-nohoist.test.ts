// No hoisting (facts §1: "calling a function before its declaration → ReferenceError; a var in a
// block that never ran does not exist"). V8 hoists function declarations; the board rewrites them
// into `var f = function (…) {…};` before evaluating, so a call before the declaration fails
// (as a TypeError here, a ReferenceError on Espruino) instead of silently working.
import { describe, expect, it } from "vitest";
import { VirtualBoard } from "../src/virtual-board.ts";
import { unhoistFunctions } from "../src/runtime/no-hoist.ts";
import { CostMeter } from "../src/cost/meter.ts";

function board(opts: { cost?: CostMeter } = {}) {
  const b = new VirtualBoard({ board: "puckjs", ...opts });
  b.powerOn();
  return b;
}

const messageOf = (e: unknown) => String((e as { message?: unknown }).message);

describe("unhoistFunctions (source pass)", () => {
  it("turns each declaration into a var assignment at the same place, keeping every line", () => {
    const src = "a();\nfunction a(x) {\n  function b() { return x; }\n  return b();\n}\nvar z = 1;";
    const out = unhoistFunctions(src);
    expect(out).toBe("a();\nvar a = function (x) {\n  var b = function () { return x; };\n  return b();\n};\nvar z = 1;");
    expect(out.split("\n").length).toBe(src.split("\n").length);
  });

  it("keeps async and generator markers, and adjacent declarations stay separate statements", () => {
    expect(unhoistFunctions("async function f(){}function* g(){}")).toBe("var f = async function (){};var g = function* (){};");
  });

  it("leaves function expressions, methods and unparsable source untouched", () => {
    const same = ["var f = function g() {};", "({ m: function () {} })", "function (", "no functions here"];
    for (const s of same) expect(unhoistFunctions(s)).toBe(s);
  });

  it("keeps ES5 ES5: the instrumenter (ES5 only) accepts its output", () => {
    const meter = new CostMeter();
    expect(() => meter.instrument(unhoistFunctions("function f(a) { if (a) { function g() {} } return a; } f(1);"))).not.toThrow();
  });
});

describe("no hoisting on the board", () => {
  it("f(); function f(){} fails (TypeError here; Espruino throws ReferenceError)", () => {
    const r = board().evaluate("f(); function f() { return 1; }");
    expect(r.ok).toBe(false);
    if (!r.ok) {
      expect(messageOf(r.error)).toBe("f is not a function");
      expect((r.error as { type?: unknown }).type).toBe("TypeError");
    }
  });

  it("the same call inside a function body, before the nested declaration, fails too", () => {
    const r = board().evaluate("(function () { return g(); function g() { return 2; } })()");
    expect(r.ok).toBe(false);
  });

  it("properly ordered code keeps its meaning: recursion, closures, reassignment", () => {
    const b = board();
    const r = b.evaluate(`
      function fact(n) { return n <= 1 ? 1 : n * fact(n - 1); }
      function counter() { var c = 0; function inc() { return ++c; } return inc; }
      var k = counter(); k(); k();
      function swap() { swap = function () { return "second"; }; return "first"; }
      [fact(5), k(), swap(), swap()].join(",")`);
    expect(r).toEqual({ ok: true, value: "120,3,first,second" });
  });

  it("boot code calling a function before its declaration prints Uncaught at boot", () => {
    const b = new VirtualBoard({ board: "puckjs" });
    b.storage.write(".bootcde", "print('start');\nsetup();\nfunction setup() { print('never'); }\n");
    b.powerOn();
    expect(b.transcript()).toContain("start\r\nUncaught TypeError: setup is not a function\r\n");
    expect(b.transcript()).not.toContain("never");
  });

  it("applies to string timer callbacks, modules from Storage and the firmware's own eval", () => {
    const b = board();
    b.storage.write("mod", "exports.v = early(); function early() { return 1; }");
    b.evaluate("setTimeout('late(); function late() {}', 1)");
    b.advance(5);
    expect(b.transcript()).toContain("Uncaught TypeError: late is not a function");
    const mod = b.evaluate("require('mod')");
    expect(mod.ok).toBe(false);
    const ev = b.evaluate("eval('e1(); function e1() {}')");
    expect(ev.ok).toBe(false);
    if (!ev.ok) expect(messageOf(ev.error)).toBe("e1 is not a function");
    expect(b.evaluate("eval('function e2() { return 7; } e2()')")).toEqual({ ok: true, value: 7 });
  });

  it("applies to Modules.addCached source and to the boot files load() reruns", () => {
    const b = board();
    b.evaluate("Modules.addCached('m2', 'exports.x = g(); function g() { return 1; }')");
    expect(b.evaluate("require('m2')").ok).toBe(false);
    b.storage.write(".bootcde", "run();\nfunction run() {}\n");
    b.evaluate("load()");
    expect(b.transcript()).toContain("Uncaught TypeError: run is not a function");
  });

  it("stays correct with a cost meter attached (un-hoist, then instrument)", () => {
    const meter = new CostMeter();
    const b = board({ cost: meter });
    expect(b.evaluate("g(); function g() {}").ok).toBe(false);
    expect(b.evaluate("function h(n) { return n + 1; } h(1)")).toEqual({ ok: true, value: 2 });
    expect(meter.skipped).toEqual([]);
    expect(meter.lastScope("eval")!.counts.entries).toBe(1);
  });
});
