// Polyfill for Math.clz32, absent on Espruino 2v29 (espruino-facts §1).
if (!Math.clz32) {
    Math.clz32 = function (value) {
        var x = value >>> 0;
        if (x === 0) return 32;
        var count = 0;
        while ((x & 0x80000000) === 0) {
            x = (x << 1) >>> 0;
            count++;
        }
        return count;
    };
}
