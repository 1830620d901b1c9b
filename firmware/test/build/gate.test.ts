// Gate rules: one rejected snippet per rule (rule id + message asserted), an accept corpus of
// realistic firmware-shaped ES5 that must yield zero findings, and formatting.
// Every rejected construct is a measured Espruino 2v29 failure (team espruino-facts §1, §5, §9).
import { describe, expect, it } from "vitest";
import { checkBundle, formatFinding, RULES } from "../../build/gate.ts";
import { findRegexProblems } from "../../build/gate-regex.ts";

interface RejectCase { name: string; rule: string; message: string; code: string; polyfills?: string[] }

const REJECT: RejectCase[] = [
  { name: "let is not ES5", rule: "es5-syntax", message: "not ES5", code: "let x = 1;" },
  { name: "arrow (and arguments in arrow) is not ES5", rule: "es5-syntax", message: "not ES5", code: "var f = () => arguments[0];" },
  { name: "destructuring is not ES5", rule: "es5-syntax", message: "not ES5", code: "var [a] = [1];" },
  { name: "labelled loop", rule: "no-labels", message: 'label "outer:"', code: "outer: for (var i = 0; i < 2; i++) { break outer; }" },
  { name: "continue with label", rule: "no-labels", message: "continue outer", code: "outer: for (;;) { for (;;) { continue outer; } }" },
  { name: "regex ? quantifier", rule: "regex-unsupported", message: "? quantifier", code: "var r = /colou?r/;" },
  { name: "regex {n,m}", rule: "regex-unsupported", message: "{n,m} quantifier", code: "var r = /a{2,3}/;" },
  { name: "regex lazy", rule: "regex-unsupported", message: "lazy +?", code: "var r = /a+?b/;" },
  { name: "regex non-capturing", rule: "regex-unsupported", message: "(?:", code: "var r = /(?:ab)c/;" },
  { name: "regex lookahead", rule: "regex-unsupported", message: "lookahead", code: "var r = /a(?=b)/;" },
  { name: "regex lookbehind", rule: "regex-unsupported", message: "lookbehind", code: "var r = new RegExp('(?<=a)b');" },
  { name: "regex named group", rule: "regex-unsupported", message: "named group", code: "var r = new RegExp('(?<year>\\\\d+)');" },
  { name: "regex quantified group", rule: "regex-unsupported", message: "quantified group", code: "var r = /(ab)+/;" },
  { name: "regex | in group", rule: "regex-unsupported", message: "| inside a group", code: "var r = /x(a|b)y/;" },
  { name: "regex backreference", rule: "regex-unsupported", message: "backreference", code: "var r = /(a)\\1/;" },
  { name: "regex \\b", rule: "regex-unsupported", message: "\\b", code: "var r = /\\bword/;" },
  { name: "regex flag m", rule: "regex-unsupported", message: "flag m", code: "var r = /^a/m;" },
  { name: "regex > 9 groups", rule: "regex-unsupported", message: "more than 9 groups", code: "var r = /(a)(b)(c)(d)(e)(f)(g)(h)(i)(j)/;" },
  { name: "RegExp() call", rule: "regex-unsupported", message: "flag y", code: "var r = RegExp('a', 'y');" },
  { name: "Map", rule: "missing-builtin", message: "Map does not exist", code: "var m = new Map();" },
  { name: "Symbol", rule: "missing-builtin", message: "Symbol does not exist", code: "var s = Symbol('x');" },
  { name: "RangeError", rule: "missing-builtin", message: "RangeError does not exist", code: "throw new RangeError('x');" },
  { name: "TextEncoder", rule: "missing-builtin", message: "TextEncoder does not exist", code: "var b = new TextEncoder().encode('x');" },
  { name: "globalThis", rule: "missing-builtin", message: "globalThis does not exist", code: "globalThis.x = 1;" },
  { name: "Array.from without polyfill", rule: "missing-builtin", message: "Array.from does not exist", code: "var a = Array.from('ab');" },
  { name: "Array.from called inside a || (a call is not a feature test)", rule: "missing-builtin", message: "Array.from does not exist", code: "var a = Array.from(s) || [];" },
  { name: "Object.freeze without polyfill", rule: "missing-builtin", message: "Object.freeze does not exist", code: "var o = Object.freeze({});" },
  { name: "Object.seal (no polyfill exists)", rule: "missing-builtin", message: "Object.seal does not exist", code: "Object.seal({});", polyfills: ["Object.freeze"] },
  { name: "Number.isInteger", rule: "missing-builtin", message: "Number.isInteger does not exist", code: "var ok = Number.isInteger(3);" },
  { name: "Number.MAX_SAFE_INTEGER", rule: "missing-builtin", message: "Number.MAX_SAFE_INTEGER", code: "var m = Number.MAX_SAFE_INTEGER;" },
  { name: "Math.imul", rule: "missing-builtin", message: "Math.imul does not exist", code: "var x = Math.imul(3, 4);" },
  { name: "Math.log2", rule: "missing-builtin", message: "Math.log2", code: "var x = Math.log2(8);", polyfills: ["Math.imul"] },
  { name: "String.fromCodePoint", rule: "missing-builtin", message: "String.fromCodePoint", code: "var s = String.fromCodePoint(65);" },
  { name: "Date.UTC", rule: "missing-builtin", message: "Date.UTC", code: "var t = Date.UTC(2020, 1);" },
  { name: ".at()", rule: "missing-builtin", message: ".at()", code: "var last = [1, 2].at(-1);" },
  { name: ".padStart is fine but .trimEnd is not", rule: "missing-builtin", message: ".trimEnd()", code: "var s = ' x '.padStart(3).trimEnd();" },
  { name: "Array lastIndexOf with a number", rule: "missing-builtin", message: ".lastIndexOf()", code: "var i = [1, 2, 1].lastIndexOf(1);" },
  { name: ".flatMap()", rule: "missing-builtin", message: ".flatMap()", code: "var a = [[1]].flatMap(function (x) { return x; });" },
  { name: ".toPrecision()", rule: "missing-builtin", message: ".toPrecision()", code: "var s = (1.5).toPrecision(2);" },
  { name: "Promise#finally", rule: "missing-builtin", message: ".finally()", code: "Promise.resolve(1).finally(function () {});" },
  { name: "Promise.race", rule: "missing-builtin", message: "Promise.race", code: "Promise.race([]);" },
  { name: "Array.prototype.slice.call", rule: "builtin-prototype", message: "Array.prototype.slice", code: "function f() { return Array.prototype.slice.call(arguments); }" },
  { name: "Object.prototype.hasOwnProperty", rule: "builtin-prototype", message: "Object.prototype.hasOwnProperty", code: "var h = Object.prototype.hasOwnProperty.call({}, 'a');" },
  { name: "prototype assignment outside polyfills", rule: "builtin-prototype", message: "assigned outside the project polyfills", code: "String.prototype.shout = function () { return this + '!'; };" },
  { name: "throw in finally", rule: "throw-in-finally", message: "throw inside a finally", code: "try { work(); } finally { if (bad) throw new Error('x'); }" },
  { name: "clearTimeout()", rule: "clear-timer-undefined", message: "clears ALL timers", code: "clearTimeout();" },
  { name: "clearInterval(undefined)", rule: "clear-timer-undefined", message: "throws on Espruino", code: "clearInterval(undefined);" },
  { name: "clearTimeout(maybe)", rule: "clear-timer-undefined", message: "timer may be undefined", code: "var timer; function stop() { clearTimeout(timer); }" },
  { name: "clearInterval(iv) where iv is declared without a timer first", rule: "clear-timer-undefined", message: "iv may be undefined", code: "var iv; function stop() { clearInterval(iv); } iv = setInterval(stop, 9);" },
  { name: "clearTimeout(t) where t is also a parameter elsewhere", rule: "clear-timer-undefined", message: "t may be undefined", code: "var t = setTimeout(go, 5); function g(t) { clearTimeout(t); }" },
  { name: "clearWatch(this.watch) guarded only outside the callback", rule: "clear-timer-undefined", message: "this.w may be undefined", code: "if (this.w) { setTimeout(function () { clearWatch(this.w); }, 1); }" },
  { name: "instanceof Error", rule: "error-instanceof", message: "instanceof Error", code: "try { f(); } catch (e) { if (e instanceof Error) print(e); }" },
  { name: "instanceof TypeError via helper", rule: "error-instanceof", message: "instanceof TypeError", code: "function _i(a, b) { return a instanceof b; } try { f(); } catch (e) { if (_i(e, TypeError)) print(e); }" },
  { name: "e.name on a caught error", rule: "error-name", message: "e.name on a caught error", code: "try { f(); } catch (e) { print(e.name); }" },
  { name: "x.name === 'TypeError'", rule: "error-name", message: 'compared with "TypeError"', code: "function isType(err) { return err.name === 'TypeError'; }" },
  { name: "function .name", rule: "function-name", message: "f.name", code: "function f() {} print(f.name);" },
  { name: "constructor.name", rule: "function-name", message: "this.constructor.name", code: "function C() { this.kind = this.constructor.name; }" },
  { name: "long Storage name via variable", rule: "storage-name-length", message: "is 30 characters", code: "var s = require('Storage'); s.write('keycarrier.transactions.log.a1', 'x');" },
  { name: "long Storage name on the require call", rule: "storage-name-length", message: "max 28", code: "require('Storage').read('keycarrier.transactions.log.a1');" },
  { name: "long StorageFile name", rule: "storage-name-length", message: "28 characters (max 27 for .open)", code: "var st = require('Storage'); st.open('keycarrier.transactions.logs', 'a');" },
  { name: "long name with a Storage-only method", rule: "storage-name-length", message: "characters", code: "store.readJSON('keycarrier.configuration.backup', true);" },
  { name: "Math.pow integer exponent", rule: "inexact-pow", message: "Math.pow(x, 31)", code: "var y = Math.pow(x, 31);" },
  { name: "Math.pow integer base", rule: "inexact-pow", message: "Math.pow(2, n)", code: "var y = Math.pow(2, n);" },
  { name: "debugger", rule: "no-debugger", message: "debugger", code: "debugger;" },
  { name: "with", rule: "no-with", message: "with statement", code: "with (o) { x = 1; }" },
  { name: "eval of computed code", rule: "no-eval", message: "eval of a computed string", code: "eval(code);" },
  { name: "require of a non-built-in module", rule: "require-unknown", message: 'require("lodash")', code: "var _ = require('lodash');" },
  { name: "function declared after a statement", rule: "hoisting", message: "function late is declared after", code: "(function () { late(); function late() {} })();" },
  { name: "var used before its statement", rule: "hoisting", message: "var count is used before", code: "(function () { count = 1; var count; })();" },
];

describe("gate rejects each Espruino-incompatible construct", () => {
  for (const c of REJECT) {
    it(`${c.rule}: ${c.name}`, () => {
      const findings = checkBundle(c.code, { polyfills: c.polyfills ?? [] });
      const hit = findings.find((f) => f.rule === c.rule && f.message.includes(c.message)) ?? findings.find((f) => f.rule === c.rule);
      expect(hit, `findings: ${JSON.stringify(findings)}`).toBeDefined();
      expect(hit!.message).toContain(c.message);
      expect(hit!.hint.length).toBeGreaterThan(10);
      expect(hit!.line).toBeGreaterThanOrEqual(1);
    });
  }

  it("covers every rule id with at least one rejected snippet", () => {
    const covered = new Set(REJECT.map((c) => c.rule));
    expect([...Object.keys(RULES)].filter((r) => !covered.has(r))).toEqual([]);
  });

  it("locates the finding in the bundle (1-based line, 0-based column)", () => {
    const [f] = checkBundle("var a = 1;\n  debugger;\n");
    expect(f).toMatchObject({ rule: "no-debugger", line: 2, column: 2 });
    expect(formatFinding(f!)).toBe(`bundle:2:3: [no-debugger] debugger statement — fix: ${RULES["no-debugger"]}`);
  });

  it("rejects an unknown polyfill name instead of guessing", () => {
    expect(() => checkBundle("var a;", { polyfills: ["Array.frm"] })).toThrow(/unknown polyfill "Array.frm"/);
  });
});

// Realistic firmware-shaped ES5 full of near misses: each line is legal on Espruino 2v29.
const ACCEPT = String.raw`
(function () {
  function hexByte(b) { return (b < 16 ? "0" : "") + b.toString(16); }
  function toHex(bytes) { var out = ""; for (var i = 0; i < bytes.length; i++) out += hexByte(bytes[i]); return out; }
  function hasOwn(o, k) { return {}.hasOwnProperty.call(o, k); }
  function argsToArray() { return [].slice.call(arguments); }
  function isTypeError(e) { return e && e.type === "TypeError"; }
  function feature() { return typeof Symbol !== "undefined" && Symbol.iterator ? "iter" : "index"; }
  function polyOk() { return Array.from ? Array.from("ab") : ["a", "b"]; }
  function stopTimer() { if (state.timer !== undefined) { clearTimeout(state.timer); state.timer = undefined; } }
  function stopWatch() { if (!state.watch) return; clearWatch(state.watch); state.watch = undefined; }
  function restart(id) { id && clearInterval(id); return setInterval(function () {}, 1000); }
  function save(rec) {
    storage.write("kc.rec.a", JSON.stringify(rec));
    storage.writeJSON("kc.cfg", { v: 1 });
    var f = storage.open("kc.log", "a");
    f.write("this string is written into the log file, not a name\n");
    USB.write("a long line written to USB is not a Storage file name\r\n");
    return storage.readJSON("kc.cfg", true);
  }
  function guarded(fn) {
    var failure;
    try { fn(); } catch (e) { failure = e; } finally { state.busy = false; }
    if (failure) throw failure;
  }
  function shift(n) { return (1 << n) >>> 0; }
  function power(b, e) { return Math.pow(b, e); }
  function path(p) { return p.lastIndexOf("/") + p.indexOf(".") + p.padStart(3).length; }
  function keys(o) { return Object.keys(o).concat(Object.values(o)); }
  // Espruino does not hoist: every function above, data below (the gate's hoisting rule).
  var storage = require("Storage");
  var crypto = require("crypto");
  var Map = { local: true };
  var state = { timer: undefined, watch: undefined, name: "carrier" };
  var HEX = /^[0-9a-f]+$/i;
  var WORDS = /\w+\s*\d*|[^,]+/g;
  var ERR = new RegExp("^ERR[0-9]+$");
  print(toHex([1, 255]), hasOwn(state, "name"), argsToArray(1, 2), isTypeError(new TypeError("x")), feature(), polyOk(),
    Map.local, HEX.test("ab"), WORDS, ERR, stopTimer(), stopWatch(), restart(0), save({}), guarded(function () {}),
    shift(3), power(1.5, 2.5), path("a/b.c"), keys({ a: 1 }), state.name, crypto.SHA256("x"), E.toUint8Array("ab"));
})();
`;

describe("gate accepts legal firmware-shaped ES5", () => {
  it("accepts clearing a variable that is only ever assigned a timer id", () => {
    const code = "function stop() { clearInterval(iv); } var id = setTimeout(go, 5); clearTimeout(id); var iv = setInterval(go, 9); iv = setInterval(stop, 9);";
    expect(checkBundle(code)).toEqual([]);
  });

  it("finds nothing in the accept corpus (with the polyfills it uses)", () => {
    const findings = checkBundle(ACCEPT, { polyfills: ["Array.from"] });
    expect(findings.map(formatFinding)).toEqual([]);
  });

  it("still reports Array.from in a plain call when the polyfill is not included", () => {
    const findings = checkBundle("var x = Array.from('a');", { polyfills: ["Object.is"] });
    expect(findings.map((f) => f.rule)).toEqual(["missing-builtin"]);
  });

  it("allows typeof-guarded and truthiness-guarded feature detection only", () => {
    expect(checkBundle("var it = typeof Symbol !== 'undefined' ? Symbol.iterator : '@@iterator';")).toEqual([]);
    expect(checkBundle("if (Object.getOwnPropertySymbols) Object.getOwnPropertySymbols({});")).toEqual([]);
    expect(checkBundle("var it = Symbol.iterator;").map((f) => f.rule)).toEqual(["missing-builtin"]);
  });
});

describe("regex feature scanner", () => {
  it("accepts the supported subset and reports each unsupported feature once", () => {
    expect(findRegexProblems("^[a-z?{}|()]+\\d*\\s\\w\\x41.$|^x$", "gi")).toEqual([]);
    expect(findRegexProblems("a?b?c{2}", "").map((p) => p.feature)).toEqual(["? quantifier", "{n,m} quantifier"]);
  });
});
