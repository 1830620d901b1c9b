// Memory probes for the calibration tool (bench/calibrate): each probe prints
//   KCPROBE <name> <vars> <getSizeOf>
// where <vars> is the change of process.memory().usage (which garbage-collects first) while the
// structure is held by the global `h`, and <getSizeOf> is E.getSizeOf(h). Runs unchanged on the real
// interpreter (as .bootcde, so function text stays in flash as the firmware's does) and on the
// virtual board (the model side). ES5, declarations before use (Espruino does not hoist).
// Both readings go through the same call (kcU), so its own frame cancels out of the difference.
var h, u0 = 0, u1 = 0, S = require("Storage");
function kcU() { return process.memory().usage; }
function kcReport(name) { print("KCPROBE " + name + " " + (u1 - u0) + " " + E.getSizeOf(h)); h = undefined; }
function fdecl(a, b) { return a + b; }
function mkK0() { return function () { return 1; }; }
function mkK1() { var a = 1; return function () { return a; }; }
function mkK4() { var a = 1, b = 2, c = 3, d = 4; return function () { return a + b + c + d; }; }
function mkK8() { var a = 1, b = 2, c = 3, d = 4, e = 5, f = 6, g = 7, i = 8; return function () { return a + b + c + d + e + f + g + i; }; }
function mkObj1() { return { a: function () { return 1; } }; }
function mkObj4() { return { a: function () { return 1; }, b: function () { return 2; }, c: function () { return 3; }, d: function () { return 4; } }; }
function mkObj8() {
  return { a: function () { return 1; }, b: function () { return 2; }, c: function () { return 3; }, d: function () { return 4; },
    e: function () { return 5; }, f: function () { return 6; }, g: function () { return 7; }, i: function () { return 8; } };
}
function mkObj4Shared() { function a() { return 1; } function b() { return 2; } function c() { return 3; } function d() { return 4; } return { a: a, b: b, c: c, d: d }; }
function exec0(resolve) { }
// Built-in objects (E, String.prototype, Promise, …) are created on first use and then stay: touch
// every one the probes use before measuring, so no probe is charged for them.
h = ["x".repeat(1), E.toString(new Uint8Array(1)), S.read("kcwarm"), fdecl.bind(null), Promise.resolve(0), new Promise(exec0), mkK0(), mkObj1()];

h = undefined; u0 = kcU(); h = {}; u1 = kcU(); kcReport("object/0");
h = undefined; u0 = kcU(); h = { a: 1 }; u1 = kcU(); kcReport("object/1-int");
h = undefined; u0 = kcU(); h = { a: 1, b: 2, c: 3, d: 4 }; u1 = kcU(); kcReport("object/4-int");
h = undefined; u0 = kcU(); h = { a: 1, b: 2, c: 3, d: 4, e: 5, f: 6, g: 7, i: 8, j: 9, l: 10, m: 11, n: 12, o: 13, p: 14, q: 15, r: 16 }; u1 = kcU(); kcReport("object/16-int");
h = undefined; u0 = kcU(); h = { alpha12chars: 1, bravo12chars: 2, charlie12chr: 3, delta12chars: 4 }; u1 = kcU(); kcReport("object/4-int-12char-keys");
h = undefined; u0 = kcU(); h = { a: "abcdefgh", b: "abcdefgh", c: "abcdefgh", d: "abcdefgh" }; u1 = kcU(); kcReport("object/4-str8");
h = undefined; u0 = kcU(); h = { a: 1.5, b: 2.5, c: 3.5, d: 4.5 }; u1 = kcU(); kcReport("object/4-double");
h = undefined; u0 = kcU(); h = []; u1 = kcU(); kcReport("array/0");
h = undefined; u0 = kcU(); h = [1, 2, 3, 4]; u1 = kcU(); kcReport("array/4-int");
h = undefined; u0 = kcU(); h = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16]; u1 = kcU(); kcReport("array/16-int");
h = undefined; u0 = kcU(); h = ["abcdefgh", "abcdefgh", "abcdefgh", "abcdefgh"]; u1 = kcU(); kcReport("array/4-str8");
h = undefined; u0 = kcU(); h = "x".repeat(8); u1 = kcU(); kcReport("string-ram/8");
h = undefined; u0 = kcU(); h = "x".repeat(16); u1 = kcU(); kcReport("string-ram/16");
h = undefined; u0 = kcU(); h = "x".repeat(64); u1 = kcU(); kcReport("string-ram/64");
h = undefined; u0 = kcU(); h = "x".repeat(256); u1 = kcU(); kcReport("string-ram/256");
h = undefined; u0 = kcU(); h = "x".repeat(1024); u1 = kcU(); kcReport("string-ram/1024");
h = undefined; u0 = kcU(); h = E.toString(new Uint8Array(8)); u1 = kcU(); kcReport("string-E.toString/8");
h = undefined; u0 = kcU(); h = E.toString(new Uint8Array(16)); u1 = kcU(); kcReport("string-E.toString/16");
h = undefined; u0 = kcU(); h = E.toString(new Uint8Array(64)); u1 = kcU(); kcReport("string-E.toString/64");
h = undefined; u0 = kcU(); h = E.toString(new Uint8Array(256)); u1 = kcU(); kcReport("string-E.toString/256");
h = undefined; u0 = kcU(); h = E.toString(new Uint8Array(1024)); u1 = kcU(); kcReport("string-E.toString/1024");
S.write("kcp8", "x".repeat(8)); h = undefined; u0 = kcU(); h = S.read("kcp8"); u1 = kcU(); kcReport("string-flash/8"); S.erase("kcp8");
S.write("kcp16", "x".repeat(16)); h = undefined; u0 = kcU(); h = S.read("kcp16"); u1 = kcU(); kcReport("string-flash/16"); S.erase("kcp16");
S.write("kcp64", "x".repeat(64)); h = undefined; u0 = kcU(); h = S.read("kcp64"); u1 = kcU(); kcReport("string-flash/64"); S.erase("kcp64");
S.write("kcp256", "x".repeat(256)); h = undefined; u0 = kcU(); h = S.read("kcp256"); u1 = kcU(); kcReport("string-flash/256"); S.erase("kcp256");
S.write("kcp1024", "x".repeat(1024)); h = undefined; u0 = kcU(); h = S.read("kcp1024"); u1 = kcU(); kcReport("string-flash/1024"); S.erase("kcp1024");
h = undefined; u0 = kcU(); h = new Uint8Array(1); u1 = kcU(); kcReport("uint8array/1");
h = undefined; u0 = kcU(); h = new Uint8Array(13); u1 = kcU(); kcReport("uint8array/13");
h = undefined; u0 = kcU(); h = new Uint8Array(14); u1 = kcU(); kcReport("uint8array/14");
h = undefined; u0 = kcU(); h = new Uint8Array(100); u1 = kcU(); kcReport("uint8array/100");
h = undefined; u0 = kcU(); h = new Uint8Array(256); u1 = kcU(); kcReport("uint8array/256");
h = undefined; u0 = kcU(); h = new Uint8Array(1024); u1 = kcU(); kcReport("uint8array/1024");
h = undefined; u0 = kcU(); h = function (a, b) { return a + b; }; u1 = kcU(); kcReport("function/expression-2-params");
h = undefined; u0 = kcU(); h = mkK0(); u1 = kcU(); kcReport("closure/factory-k0");
h = undefined; u0 = kcU(); h = mkK1(); u1 = kcU(); kcReport("closure/factory-k1");
h = undefined; u0 = kcU(); h = mkK4(); u1 = kcU(); kcReport("closure/factory-k4");
h = undefined; u0 = kcU(); h = mkK8(); u1 = kcU(); kcReport("closure/factory-k8");
h = undefined; u0 = kcU(); h = mkObj1(); u1 = kcU(); kcReport("methods-object/factory-m1");
h = undefined; u0 = kcU(); h = mkObj4(); u1 = kcU(); kcReport("methods-object/factory-m4");
h = undefined; u0 = kcU(); h = mkObj8(); u1 = kcU(); kcReport("methods-object/factory-m8");
h = undefined; u0 = kcU(); h = mkObj4Shared(); u1 = kcU(); kcReport("methods-object/factory-m4-named-fns");
h = undefined; u0 = kcU(); h = fdecl.bind(null); u1 = kcU(); kcReport("bound/0-args");
h = undefined; u0 = kcU(); h = fdecl.bind(null, 1); u1 = kcU(); kcReport("bound/1-arg");
h = undefined; u0 = kcU(); h = new Promise(exec0); u1 = kcU(); kcReport("promise/pending");
h = undefined; u0 = kcU(); h = Promise.resolve(1); u1 = kcU(); kcReport("promise/resolved");
h = undefined; u0 = kcU(); h = [mkK1(), mkK1()]; u1 = kcU(); kcReport("closure/factory-k1-x2-in-array");
// A top-level declaration, counted by hand: the root name var and the function.
u0 = kcU(); eval("function kcDecl(a, b) { return a + b; }"); u1 = kcU();
h = kcDecl; kcReport("function/declaration-2-params-eval");
print("KCPROBE-END " + process.memory().usage);
