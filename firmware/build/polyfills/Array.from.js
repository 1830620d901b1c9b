// Polyfill for Array.from, absent on Espruino 2v29 (espruino-facts §1). Indexes array-likes and
// strings; there is no iterator protocol on Espruino, so Map/Set/iterables are not supported.
if (!Array.from) {
    Array.from = function (source, mapFn, thisArg) {
        if (source == null) throw new TypeError("Array.from requires an array-like");
        var length = typeof source === "string" ? source.length : source.length >>> 0;
        var result = new Array(length);
        for (var i = 0; i < length; i++) result[i] = mapFn ? mapFn.call(thisArg, source[i], i) : source[i];
        return result;
    };
}
