// Polyfill for Math.imul, absent on Espruino 2v29 (espruino-facts §1). Splits into 16-bit halves so
// every partial product stays below 2^53; int32 ops behave as on Node (espruino-facts §1 Numbers).
if (!Math.imul) {
    Math.imul = function (a, b) {
        var aHigh = (a >>> 16) & 0xffff;
        var aLow = a & 0xffff;
        var bHigh = (b >>> 16) & 0xffff;
        var bLow = b & 0xffff;
        return (aLow * bLow + (((aHigh * bLow + aLow * bHigh) << 16) >>> 0)) | 0;
    };
}
