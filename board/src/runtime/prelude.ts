// JavaScript run inside every fresh board context before any firmware, turning V8's global world
// into Espruino 2v29's (facts §1). It runs once per context with `__kc_host` (host callbacks) set;
// it removes that binding when done.
//
// What it does, and why:
// - Promise is replaced by src/jswrap_promise.c's algorithm: each resolution and each reaction is an
//   event that the host drains in the idle loop AFTER every timer already due (facts §1; measured
//   order of conformance program 14 on 2v29). Unhandled rejections throw "Unhandled promise
//   rejection" at the moment the promise settles with no catch reaction, as 2v29 does.
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

  // ---- Promise as src/jswrap_promise.c (2v29): every settlement step is an event ----
  // Espruino has no microtask queue. Resolving (the executor's resolve, Promise.resolve/reject) is
  // queued as an event, and so is every reaction; the idle loop runs them after every timer already
  // due (jsiIdle: IO events, due timers, then jsiExecuteEvents until the queue is empty). The host
  // schedules that drain (board: after the entry, behind the timers due now).
  var jobs = [];
  var state = new WM();
  // An exception a queued native left behind (jsExceptionHere in seal) is picked up by the next
  // reaction's jspGetException as if its callback had thrown: measured on 2v29, it nests
  // ("Unhandled promise rejection: Error: Unhandled promise rejection: r").
  var pendingException;
  function queue(fn, a, b, c, d) { jobs.push([fn, a, b, c, d]); host.jobsQueued(); }
  function drain(report) {
    var n = 0;
    while (jobs.length) {
      if (++n > 1000000) { jobs = []; throw new Error("More than 1000000 promise jobs in one go: a promise loop never settles"); }
      var j = jobs.shift();
      try { j[0](j[1], j[2], j[3], j[4]); } catch (e) { if (host.fatal(e)) { jobs = []; throw e; } pendingException = e; }
    }
    if (pendingException !== undefined) { var e = pendingException; pendingException = undefined; report(e); }
  }
  function isObj(v) { return v !== null && typeof v === "object" && !(v instanceof Array); }
  function isPromise(v) { return v !== null && v !== undefined && v.constructor === Promise && state.get(v) !== undefined; }
  function newBox(p) { return { prom: p, resolved: false }; }
  function seal(p, data, resolving) {
    var s = state.get(p);
    s.state = resolving ? 1 : 2;
    var list = resolving ? s.thenList : s.catchList;
    if (!list) {
      if (!resolving) throw new Error("Unhandled promise rejection: " + host.format(data));
      return;
    }
    for (var i = 0; i < list.length; i++) queue(reactionCall, p, list[i], data, resolving);
  }
  function boxSettle(box, data, resolving) {
    if (box.resolved) return;
    box.resolved = true;
    var p = box.prom;
    if (data === p) throw new Error("Illegal resolving to self");
    state.get(p).value = data;
    if (!resolving || !isObj(data)) return seal(p, data, resolving);
    var prom = isPromise(data), then = data.then;
    var thenable = typeof then === "function";
    if (!thenable && !prom) return seal(p, data, resolving);
    var nb = newBox(p);
    var res = function (v) { boxSettle(nb, v, true); }, rej = function (e) { boxSettle(nb, e, false); };
    try { then.call(data, res, rej); } catch (e) { if (host.fatal(e)) throw e; boxSettle(nb, e, false); }
  }
  function boxResolve(box, data) { boxSettle(box, data, true); }
  function boxReject(box, data) { boxSettle(box, data, false); }
  function reactionCall(p, reaction, data, isThen) {
    var box = reaction.box, cb = reaction.cb, ret, threw = false;
    if (cb) {
      try { ret = cb.call(p, data); } catch (e) { if (host.fatal(e)) throw e; threw = true; ret = e; }
      if (!threw && pendingException !== undefined) { threw = true; ret = pendingException; pendingException = undefined; }
    } else {
      threw = !isThen; // no handler: pass the value on (a reaction fired on an already-settled promise always rejects: 2v29)
      ret = data;
    }
    boxSettle(box, ret, !threw);
  }
  function Promise(executor) {
    if (!(this instanceof Promise)) throw new TypeError("Promise must be called with new");
    if (!executor) throw new Error("Function required in promise constructor");
    state.set(this, { state: 0, value: undefined, thenList: undefined, catchList: undefined });
    var box = newBox(this);
    var resolve = function (v) { queue(boxResolve, box, v); }, reject = function (e) { queue(boxReject, box, e); };
    try { executor.call(this, resolve, reject); } catch (e) { if (host.fatal(e)) throw e; queue(boxReject, box, e); }
  }
  function addReaction(s, box, cb, resolve) {
    var r = { cb: cb, box: box };
    if (resolve) (s.thenList || (s.thenList = [])).push(r); else (s.catchList || (s.catchList = [])).push(r);
  }
  Promise.prototype.then = function (onF, onR) {
    var s = state.get(this);
    if (!s) throw new TypeError("then called on a non-Promise");
    var next = new Promise(function () {});
    var box = newBox(next);
    if (typeof onF !== "function") onF = 0;
    if (typeof onR !== "function") onR = 0;
    if (s.state === 0) {
      addReaction(s, box, onF, true);
      addReaction(s, box, onR, false);
    } else {
      queue(reactionCall, this, { cb: s.state === 1 ? onF : onR, box: box }, s.value, false);
    }
    return next;
  };
  Promise.prototype["catch"] = function (onR) { return this.then(undefined, onR); };
  Promise.resolve = function (v) {
    if (isPromise(v)) return v;
    if (isObj(v) && typeof v.then === "function") return new Promise(v.then); // 2v29: the thenable's then is the executor
    var p = new Promise(function () {});
    queue(boxResolve, newBox(p), v);
    return p;
  };
  Promise.reject = function (e) {
    var p = new Promise(function () {});
    queue(boxReject, newBox(p), e);
    return p;
  };
  Promise.all = function (list) {
    if (list === null || list === undefined || typeof list.length !== "number") throw new TypeError("Expecting something iterable, got " + typeof list);
    var p = new Promise(function () {});
    var box = newBox(p), results = [], left = 0, complete = 0, open = true;
    var rej = function (e) { if (open) { open = false; queue(boxReject, box, e); } };
    for (var i = 0; i < list.length; i++) {
      if (isPromise(list[i])) {
        list[i].then((function (i) { return function (v) { results[i] = v; if (--left === 0) queue(boxResolve, box, results); }; })(i), rej);
      } else {
        results[i] = list[i];
        complete++;
      }
    }
    if (complete === list.length) return Promise.resolve(results);
    left = list.length - complete;
    return p;
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
