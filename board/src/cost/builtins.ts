// Vars Espruino spends the first time a program touches a builtin: a builtin object or class
// referenced by name is created in the root scope (E, JSON: 2 vars; a class such as String or
// Uint8Array: 3; USB: 12), and the first method looked up on a basic type creates its prototype
// (String, Array, a typed array, RegExp, Error: about 5-8 more). Measured on the real 2v29
// interpreter (board/docs/cost-model.md "JsVars"); the instrumenter finds which ones a source
// touches statically (free identifiers, method names typical of one type, regex literals, `new X`).

/** Vars a builtin global costs the first time it is referenced (measured; 0: lives in ROM). */
export const BUILTIN_GLOBAL_VARS: Readonly<Record<string, number>> = Object.freeze({
  E: 2, JSON: 2, Math: 2, Date: 2, USB: 12, Serial1: 12, Bluetooth: 12, NRF: 2,
  String: 3, Number: 3, Uint8Array: 3, ArrayBuffer: 3, Error: 3, Array: 3, Int8Array: 3, Uint16Array: 3,
  Uint32Array: 3, Int16Array: 3, Int32Array: 3, Float32Array: 3, Float64Array: 3, DataView: 3, Function: 3,
  Object: 0, process: 0,
});

/**
 * Vars a class costs once its prototype is used, its global included (measured: 'a'.charCodeAt 8,
 * [1].length 8, /a/ 8, new Uint8Array(1) 8, new Error('x') 8; `String` alone 3).
 */
export const PROTOTYPE_VARS: Readonly<Record<string, number>> = Object.freeze({
  "String.prototype": 8, "Array.prototype": 8, "RegExp.prototype": 8, "Uint8Array.prototype": 8, "Error.prototype": 8,
});

/** Method names that (in this code base's style) only strings or only arrays have. */
export const STRING_METHODS = new Set(["charCodeAt", "charAt", "substr", "substring", "toUpperCase", "toLowerCase", "repeat", "padStart", "trim", "split"]);
export const ARRAY_METHODS = new Set(["push", "pop", "shift", "unshift", "splice", "join", "forEach", "map", "filter", "reduce", "sort", "reverse"]);

/** Vars for a set of touches (names from BUILTIN_GLOBAL_VARS and PROTOTYPE_VARS). */
export function builtinVars(touched: Iterable<string>): number {
  const set = new Set(touched);
  let n = 0;
  for (const t of set) {
    if (t.endsWith(".prototype")) n += PROTOTYPE_VARS[t] ?? 0;
    else if (!set.has(`${t}.prototype`)) n += BUILTIN_GLOBAL_VARS[t] ?? 0;
  }
  return n;
}
