// Polyfill for Array.of, absent on Espruino 2v29 (espruino-facts §1).
if (!Array.of) {
    Array.of = function () {
        var result = new Array(arguments.length);
        for (var i = 0; i < arguments.length; i++) result[i] = arguments[i];
        return result;
    };
}
