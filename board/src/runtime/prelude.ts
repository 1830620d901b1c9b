// JavaScript run inside every fresh board context before any firmware, turning V8's global world
// into Espruino 2v29's (facts §1). It runs once per context with `__kc_host` (host callbacks) set;
// it removes that binding when done.
//
// What it does, and why:
// - Promise is replaced by a small spec-ordered implementation whose job queue the host drains after
//   every callback. That gives Node's ordering (facts §1: Espruino matches it) while letting the host
//   see unhandled rejections, which Espruino reports as "Unhandled promise rejection".
// - Date reads the virtual clock. Date.UTC and toLocale* are gone.
// - Built-ins Espruino lacks are deleted, so a gap the compatibility gate missed fails here too.
// - Errors get Espruino's `.type`, lose `.name`, and print as "Type: message".
// - String.fromCharCode keeps 8 bits (no unicode on boards); Function#apply takes at most 256 args.
export const MISSING_GLOBALS = [
  "Map", "Set", "WeakMap", "WeakSet", "WeakRef", "FinalizationRegistry", "Symbol", "BigInt", "BigInt64Array", "BigUint64Array",
  "Proxy", "Reflect", "RangeError", "EvalError", "URIError", "AggregateError", "TextEncoder", "TextDecoder",
  "queueMicrotask", "structuredClone", "SharedArrayBuffer", "Atomics", "WebAssembly", "Intl",
  "escape", "unescape", "encodeURI", "decodeURI",
];
export const MISSING_STATICS: Record<string, string[]> = {
  Array: ["from", "of"],
  Object: ["freeze", "is", "seal", "preventExtensions", "isFrozen", "isSealed", "isExtensible", "getOwnPropertySymbols"],
  Number: ["isInteger", "isSafeInteger", "isFinite", "isNaN", "parseInt", "parseFloat", "MAX_SAFE_INTEGER", "MIN_SAFE_INTEGER", "EPSILON"],
  Math: ["imul", "clz32", "trunc", "log2", "log10", "hypot", "cbrt", "fround", "sinh", "cosh", "tanh", "asinh", "acosh", "atanh", "expm1", "log1p"],
  String: ["fromCodePoint", "raw"],
  Promise: ["race", "allSettled", "any"],
};
export const MISSING_PROTO: Record<string, string[]> = {
  Array: ["lastIndexOf", "reduceRight", "at", "flat", "flatMap", "keys", "values", "entries", "copyWithin", "findLast", "findLastIndex", "toSorted", "toReversed", "toSpliced", "with"],
  String: ["at", "codePointAt", "localeCompare", "matchAll", "normalize", "search", "trimStart", "trimEnd", "trimLeft", "trimRight", "isWellFormed", "toWellFormed"],
  Number: ["toPrecision", "toExponential", "toLocaleString"],
  Object: ["propertyIsEnumerable", "toLocaleString"],
  Date: ["toLocaleString", "toLocaleDateString", "toLocaleTimeString"],
  Function: [],
};

export const PRELUDE = String.raw`
(function (global, host) {
  var RealDate = global.Date, WM = WeakMap, objCreate = Object.create, defineProperty = Object.defineProperty;
  var realFromCharCode = String.fromCharCode, realApply = Function.prototype.apply;

  // ---- Promise with a host-drained job queue ----
  var jobs = [];
  var state = new WM();
  var unhandled = [];
  function enqueue(job) { jobs.push(job); }
  function drain() {
    var n = 0;
    while (jobs.length) {
      if (++n > 1000000) { jobs = []; throw new Error("More than 1000000 promise jobs in one go: a promise loop never settles"); }
      var job = jobs.shift();
      job();
    }
    var report = [];
    for (var i = 0; i < unhandled.length; i++) if (!state.get(unhandled[i]).handled) report.push(state.get(unhandled[i]).value);
    unhandled = [];
    return report;
  }
  function resolvers(p) {
    var done = false;
    return {
      resolve: function (v) { if (done) return; done = true; resolveP(p, v); },
      reject: function (e) { if (done) return; done = true; rejectP(p, e); }
    };
  }
  function resolveP(p, v) {
    if (v === p) return rejectP(p, new TypeError("Chaining cycle detected for promise"));
    if (v !== null && (typeof v === "object" || typeof v === "function")) {
      var then;
      try { then = v.then; } catch (e) { return rejectP(p, e); }
      if (typeof then === "function") {
        enqueue(function () {
          var r = resolvers(p);
          try { then.call(v, r.resolve, r.reject); } catch (e) { r.reject(e); }
        });
        return;
      }
    }
    settle(p, 1, v);
  }
  function rejectP(p, e) {
    settle(p, 2, e);
    if (!state.get(p).handled) unhandled.push(p);
  }
  function settle(p, st, value) {
    var s = state.get(p);
    s.state = st; s.value = value;
    var rs = s.reactions; s.reactions = [];
    for (var i = 0; i < rs.length; i++) react(rs[i], st, value);
  }
  function react(r, st, value) {
    enqueue(function () {
      var h = st === 1 ? r.onF : r.onR;
      if (typeof h !== "function") { if (st === 1) r.resolve(value); else r.reject(value); return; }
      var res;
      try { res = h(value); } catch (e) { r.reject(e); return; }
      r.resolve(res);
    });
  }
  function Promise(executor) {
    if (!(this instanceof Promise)) throw new TypeError("Promise must be called with new");
    if (typeof executor !== "function") throw new TypeError("Promise resolver is not a function");
    state.set(this, { state: 0, value: undefined, reactions: [], handled: false });
    var r = resolvers(this);
    try { executor(r.resolve, r.reject); } catch (e) { r.reject(e); }
  }
  Promise.prototype.then = function (onF, onR) {
    var s = state.get(this);
    if (!s) throw new TypeError("then called on a non-Promise");
    var child = {};
    var p = new Promise(function (res, rej) { child.resolve = res; child.reject = rej; });
    var r = { onF: onF, onR: onR, resolve: child.resolve, reject: child.reject };
    s.handled = true;
    if (s.state === 0) s.reactions.push(r); else react(r, s.state, s.value);
    return p;
  };
  Promise.prototype["catch"] = function (onR) { return this.then(undefined, onR); };
  Promise.resolve = function (v) {
    if (v instanceof Promise) return v;
    return new Promise(function (res) { res(v); });
  };
  Promise.reject = function (e) { return new Promise(function (res, rej) { rej(e); }); };
  Promise.all = function (list) {
    return new Promise(function (res, rej) {
      var results = [], left = list.length;
      if (!left) return res(results);
      for (var i = 0; i < list.length; i++) (function (i) {
        Promise.resolve(list[i]).then(function (v) { results[i] = v; if (--left === 0) res(results); }, rej);
      })(i);
    });
  };
  defineProperty(global, "Promise", { value: Promise, writable: true, configurable: true, enumerable: false });

  // ---- Date on the virtual clock ----
  var VDate = function Date(a, b, c, d, e, f, g) {
    if (!(this instanceof VDate)) return new RealDate(host.nowMs()).toString();
    var n = arguments.length;
    if (n === 0) return new RealDate(host.nowMs());
    if (n === 1) return new RealDate(a);
    return new RealDate(a, b, c === undefined ? 1 : c, d || 0, e || 0, f || 0, g || 0);
  };
  VDate.prototype = RealDate.prototype;
  RealDate.prototype.constructor = VDate;
  VDate.now = function () { return host.nowMs(); };
  VDate.parse = RealDate.parse;
  defineProperty(global, "Date", { value: VDate, writable: true, configurable: true, enumerable: false });

  // ---- Errors: .type, no .name, "Type: message" ----
  ["Error", "TypeError", "SyntaxError", "ReferenceError"].forEach(function (t) {
    var P = global[t].prototype;
    defineProperty(P, "type", { value: t, writable: true, configurable: true, enumerable: false });
    delete P.name;
  });
  Error.prototype.toString = function () {
    var t = this.type === undefined ? "Error" : this.type;
    return this.message ? t + ": " + this.message : t;
  };

  // ---- bytes, not unicode; apply capped at 256 arguments ----
  String.fromCharCode = function fromCharCode() {
    var codes = [];
    for (var i = 0; i < arguments.length; i++) codes.push(arguments[i] & 255);
    return realApply.call(realFromCharCode, String, codes);
  };
  Function.prototype.apply = function apply(thisArg, args) {
    if (args !== undefined && args !== null && args.length > 256)
      throw new Error("Array passed to Function.apply is too big! Maximum 256 arguments, got " + args.length);
    return realApply.call(this, thisArg, args);
  };
  Object.create = function create(proto, props) {
    if (props !== undefined) throw new Error("propertiesObject is not supported yet");
    return objCreate(proto);
  };

  // ---- remove what Espruino lacks ----
  var missingGlobals = host.missingGlobals, statics = host.missingStatics, protos = host.missingProto, k, i;
  for (k in statics) for (i = 0; i < statics[k].length; i++) delete global[k][statics[k][i]];
  for (k in protos) for (i = 0; i < protos[k].length; i++) delete global[k].prototype[protos[k][i]];
  // Number's constants are non-configurable, so Number itself is swapped for a function that only
  // carries the statics Espruino has; the prototype (and so instanceof and methods) is shared.
  var RealNumber = Number;
  function NumberShim(v) {
    var n = arguments.length ? RealNumber(v) : 0;
    return this instanceof NumberShim ? Object(n) : n;
  }
  NumberShim.prototype = RealNumber.prototype;
  RealNumber.prototype.constructor = NumberShim;
  ["MAX_VALUE", "MIN_VALUE", "NaN", "POSITIVE_INFINITY", "NEGATIVE_INFINITY"].forEach(function (n) { NumberShim[n] = RealNumber[n]; });
  defineProperty(global, "Number", { value: NumberShim, writable: true, configurable: true, enumerable: false });
  for (i = 0; i < missingGlobals.length; i++) delete global[missingGlobals[i]];

  host.registerDrain(drain);
})(this, __kc_host);
delete this.__kc_host;
`;
