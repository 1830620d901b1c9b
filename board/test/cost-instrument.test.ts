// The instrumenter must not change what ES5 code does, and its counts must be exact for code
// that does not throw. Programs run plain and instrumented in node:vm; outputs must be identical.
import { describe, expect, it } from "vitest";
import vm from "node:vm";
import { parse } from "acorn";
import { simple as walkSimple } from "acorn-walk";
import { instrument, COST_GLOBAL } from "../src/cost/instrument.ts";
import { CostMeter } from "../src/cost/meter.ts";

function runPlain(src: string): string[] {
  const out: string[] = [];
  vm.runInContext(src, vm.createContext({ print: (...a: unknown[]) => out.push(a.map(String).join(" ")) }));
  return out;
}

function runInstrumented(src: string): { out: string[]; meter: CostMeter; code: string } {
  const out: string[] = [];
  const meter = new CostMeter();
  const ctx = vm.createContext({ print: (...a: unknown[]) => out.push(a.map(String).join(" ")) });
  meter.install(ctx);
  const code = meter.instrument(src);
  vm.runInContext(code, ctx);
  return { out, meter, code };
}

const PROGRAMS: Record<string, string> = {
  closures: `
    function counter(start) { var n = start; return { inc: function () { n++; return n; }, get: function () { return n; } }; }
    var c1 = counter(5), c2 = counter(10);
    c1.inc(); c1.inc(); c2.inc();
    print(c1.get(), c2.get());
    var fs = []; for (var i = 0; i < 3; i++) { fs.push((function (j) { return function () { return j * j; }; })(i)); }
    print(fs[0](), fs[1](), fs[2]());`,
  declarationOrder: `
    var order = [];
    function a() { order.push("a"); return b(); }
    function b() { order.push("b"); return typeof c; }
    var c = 1;
    print(a(), order.join(","));
    var late = typeof laterFn; function laterFn() {}
    print(late);`,
  switchTryLoops: `
    function classify(x) {
      switch (x % 4) { case 0: return "zero"; case 1: case 2: x += 10; break; default: x = -x; }
      return String(x);
    }
    var r = []; for (var k = 0; k < 6; k++) r.push(classify(k));
    print(r.join(" "));
    function f(n) { try { if (n > 2) throw new Error("big " + n); return "ok " + n; } catch (e) { return e.message; } finally { r.length = 0; } }
    print(f(1), f(3), r.length);
    function g() { try { return "try"; } finally { print("finally runs"); } }
    print(g());
    var s = 0, j = 0; while (true) { j++; if (j % 2) continue; if (j > 9) break; s += j; } print(s);
    var d = 0; do d += 3; while (d < 10); print(d);
    var o = { x: 1, y: 2, z: 3 }, keys = ""; for (var key in o) if (o.hasOwnProperty(key)) keys += key; print(keys);
    for (var m = 0; m < 3; m++) for (var n = 0; n < 2; n++) if (m === n) print("eq", m); else if (m > n) print("gt", m, n); else print("lt");`,
  asiAndDirectives: `
    function strictThis() { "use strict"; return this === undefined }
    function sloppyThis() { return this !== undefined }
    print(strictThis(), sloppyThis())
    var a = 1
    var b = a
    ;(function () { print("iife", a + b) })()
    var t = [1, 2, 3].map(function (x) { return x * 2 })
    print(t.join("-"))
    if (a) print("one-line if")
    else print("else")
    function onlyDirective() { "use strict" }
    print(typeof onlyDirective())`,
  gettersTypedArraysAndGlobals: `
    var obj = { _v: 3, get v() { return this._v * 2; }, set v(x) { this._v = x; } };
    obj.v = 7; print(obj.v);
    var u = new Uint8Array(4); for (var i = 0; i < 4; i++) u[i] = i * 70; print(u.join(","));
    var seen = []; for (var g in this) seen.push(g); print(seen.sort().join(","));
    print(Object.keys(this).length === seen.length);
    function fact(n) { return n <= 1 ? 1 : n * fact(n - 1); } print(fact(10));
    var e; try { null.x; } catch (err) { e = err instanceof TypeError; } print(e);`,
};

describe("instrument: semantics are preserved", () => {
  for (const [name, src] of Object.entries(PROGRAMS)) {
    it(`${name}: same output plain and instrumented`, () => {
      const plain = runPlain(src);
      const { out, code } = runInstrumented(src);
      expect(plain.length).toBeGreaterThan(0);
      expect(out).toEqual(plain);
      // still ES5, and no new lines (stack-trace line numbers unchanged)
      expect(() => parse(code, { ecmaVersion: 5 })).not.toThrow();
      expect(code.split("\n").length).toBe(src.split("\n").length);
    });
  }

  it("does not reorder or add declarations (Espruino does not hoist)", () => {
    const decls = (code: string): string[] => {
      const names: string[] = [];
      walkSimple(parse(code, { ecmaVersion: 5 }), {
        FunctionDeclaration(n) { names.push(`f:${(n as any).id.name}`); },
        VariableDeclarator(n) { names.push(`v:${(n as any).id.name}`); },
      });
      return names;
    };
    for (const src of Object.values(PROGRAMS)) expect(decls(instrument(src).code)).toEqual(decls(src));
  });

  it("keeps the directive prologue a directive", () => {
    const { code } = instrument(`function f() { "use strict"; return this; }`);
    const fn = (parse(code, { ecmaVersion: 5 }) as any).body.find((n: any) => n.type === "FunctionDeclaration");
    expect(fn.body.body[0].directive).toBe("use strict");
  });

  it("wraps brace-less bodies so the counter stays inside them", () => {
    const { code } = instrument("if (a) b(); else c();\nfor (;;) break;");
    // sites 1 and 2: the test's outcomes (truthy, falsy: which branch Espruino skips), `q(test, 1)`
    expect(code).toBe(`;${COST_GLOBAL}.b(0);if (${COST_GLOBAL}.q((a),1)) {;${COST_GLOBAL}.b(3);b();} else {;${COST_GLOBAL}.b(4);c();}\n;${COST_GLOBAL}.b(5);for (;;) {;${COST_GLOBAL}.b(6);break;}`);
  });

  it("rejects code that is not ES5, and already-instrumented code, with a fix", () => {
    expect(() => instrument("let x = 1;")).toThrow(/not valid ES5.*firmware pipeline/);
    expect(() => instrument(instrument("x = 1;").code)).toThrow(/already mentions __kc\$cost/);
  });
});

describe("instrument: exact counts for small programs", () => {
  const countsOf = (src: string) => {
    const { meter } = runInstrumented(src);
    const { native: _n, flashWordWrites: _w, flashPageErases: _e, concatBytes: _c, lexChars: _l, ...c } = meter.counts();
    return c;
  };

  it("a 10-iteration loop with one statement", () => {
    // statements: `var x`, `for`, then 10 × body; ops: final test + 10 × (test, update, +, =)
    expect(countsOf("var x = 0;\nfor (var i = 0; i < 10; i++) { x = x + i; }")).toEqual({
      statements: 12, loops: 10, ops: 41, entries: 0, props: 0, elems: 0, callSites: 0,
      // text: `var x = 0;` 10 + `var i = 0` 9 + `for(` `)` and the final `i < 10` 13 + 10 × (`i < 10` `i++` 9 + body 10)
      chars: 222, skipChars: 0, parseChars: 0,
    });
  });

  it("function calls and property accesses", () => {
    // f decl, var p, 2 call statements, 2 returns = 6 statements; each call reads o.a and o.b;
    // the object literal creates 2 named properties
    expect(countsOf("function f(o) { return o.a + o.b; }\nvar p = { a: 1, b: 2 };\nf(p);\nf(p);")).toEqual({
      statements: 6, entries: 2, loops: 0, ops: 2, props: 6, elems: 0, callSites: 2,
      // text: the declaration without its body 14 + `var p = …;` 23 + 2 × `f(p);` 5 + 2 × `return o.a + o.b;` 17
      chars: 81, skipChars: 0, parseChars: 0,
    });
  });

  it("computed accesses are counted apart from named ones", () => {
    expect(countsOf("var a = [1, 2, 3], s = 0;\nfor (var i = 0; i < a.length; i++) s += a[i];")).toEqual({
      statements: 5, loops: 3, ops: 10, entries: 0, props: 4, elems: 3, callSites: 0, chars: 128, skipChars: 0, parseChars: 0,
    });
  });

  it("untaken branches: a skipped block, parsed-not-run operands, and nothing after a return", () => {
    // z is 0: the `{ r = 1; }` block is skipped token by token (10); the untaken operands are parsed
    // without running: 'yes' (5), f(1) (4), and g's `1` (1); the taken ones are lexed as they run
    const c = countsOf("var z = 0, r;\nif (z) { r = 1; } else r = 2;\nr = z ? 'yes' : 'no';\nr = z && f(1);\nr = r || 5;\nfunction g(q) { return q ? 1 : 2; }\nr = g(0);");
    expect([c.skipChars, c.parseChars]).toEqual([10, 10]);
    // 13 + `if()` z 5 + `r = 2;` 6 + 12 + 'no' 4 + 10 + 10 + 5 taken + g's header 14 + `r = g(0);` 9 + `return q ?  : ;` 15 + 2 taken
    expect(c.chars).toBe(13 + 5 + 6 + 12 + 4 + 10 + 10 + 1 + 14 + 9 + 15 + 1);
  });

  it("a conditional after `return` keeps its value (the hook is spaced off the keyword)", () => {
    const { meter } = runInstrumented("function h(a) { return a?'x':'y'; } print(h(1) + h(0));");
    expect(meter.counts().parseChars).toBe(6);
  });

  it("while, do-while and break count what ran, not what was written", () => {
    // while: 1 stmt + final test; 4 iterations of (test, if-stmt + its test ==, break on the 4th)
    const c = countsOf("var n = 0;\nwhile (n < 100) { n++; if (n === 4) break; }\ndo { n--; } while (n > 0);");
    expect(c.loops).toBe(4 + 4);
    expect(c.statements).toBe(2 + 4 * 2 + 1 /* break */ + 1 /* do */ + 4);
  });
});

describe("CostMeter.prepare (the runtime's entry point)", () => {
  it("keeps the completion value a REPL evaluation prints", () => {
    const meter = new CostMeter();
    const ctx = vm.createContext({});
    meter.install(ctx);
    expect(vm.runInContext(meter.prepare("var a = 20; a + 22", "REPL"), ctx)).toBe(42);
    expect(vm.runInContext(meter.prepare("if (a > 1) { 'big' } else 'small'", "REPL"), ctx)).toBe("big");
    expect(meter.counts().statements).toBe(4);
  });

  it("passes non-ES5 source through unmetered and says why", () => {
    const meter = new CostMeter();
    expect(meter.prepare("let x = 1;", ".bootcde")).toBe("let x = 1;");
    expect(meter.skipped).toEqual([{ filename: ".bootcde", reason: expect.stringMatching(/not valid ES5/) }]);
    expect(meter.siteCount).toBe(0);
  });
});

describe("instrument: string + counts the bytes it copies", () => {
  it("a + b counts the result's length; s += x the appended bytes; numbers count nothing", () => {
    const { meter, out } = runInstrumented("var s = 'abc' + 'de'; s += 'fgh'; var n = 1 + 2; n += 3; var o = { p: 'x' }; o.p += 'yz'; print(s, n, o.p);");
    expect(out).toEqual(["abcdefgh 6 xyz"]);
    expect(meter.counts().concatBytes).toBe(5 + 3 + 2);
  });
  it("a += whose target has side effects is left alone (its bytes are not counted)", () => {
    const { meter, out } = runInstrumented("var a = ['x'], i = 0; a[i++] += 'yz'; print(a[0], i);");
    expect(out).toEqual(["xyz 1"]);
    expect(meter.counts().concatBytes).toBe(0);
  });
});

describe("instrument: what the vars accounting needs", () => {
  it("lists the builtins a source touches, not names it declares itself", () => {
    const { touches } = instrument("var s = 'a'.charCodeAt(0), r = /x/, b = new Uint8Array(2); [1].push(2); E.on('x', null); USB; function f(JSON) { return JSON; }");
    expect(touches).toEqual(["Array.prototype", "E", "RegExp.prototype", "String.prototype", "USB", "Uint8Array", "Uint8Array.prototype"]);
  });

  it("knows the calls running now, through returns and throws", () => {
    const out: string[] = [];
    const meter = new CostMeter();
    const ctx = vm.createContext({ print: (...a: unknown[]) => out.push(a.map(String).join(" ")), probe: () => meter.activeCalls().map((c) => `${c.depth}:${c.scope.names.join("")}`).join(",") });
    meter.install(ctx);
    vm.runInContext(meter.instrument("function g(b) { return probe(); } function f(a) { var c = 1; return g(a); } print(f(1)); function t() { throw new Error('x'); } try { t(); } catch (e) {} print(probe() || 'none');"), ctx);
    expect(out).toEqual(["0:ac,0:b", "none"]);
  });

  it("registers function instances with the scope they keep (shared by closures of one call)", () => {
    const meter = new CostMeter();
    const ctx = vm.createContext({});
    meter.install(ctx);
    vm.runInContext(meter.instrument("function mk(n) { var k = n * 2; return { a: function () { return k; }, b: function (x) { k = x; } }; } var o = mk(3), p = mk(4);"), ctx);
    const o = vm.runInContext("o", ctx) as { a: object; b: object }, p = vm.runInContext("p", ctx) as { a: object };
    const ia = meter.lookup(o.a)!, ib = meter.lookup(o.b)!, ip = meter.lookup(p.a)!;
    expect(ia.scope).toBe(ib.scope);
    expect(ia.scope).not.toBe(ip.scope);
    expect(ia.scope!.names).toEqual(["n", "k"]);
    expect(ia.scope!.values()).toEqual([3, 6]);
    expect([ia.site.depth, ib.site.params]).toEqual([1, 1]);
    expect(ia.scope!.parent()).toBeNull(); // mk was made at global scope
  });
});
