// Polyfill for Object.is (SameValue), absent on Espruino 2v29 (espruino-facts §1).
if (!Object.is) {
    Object.is = function (a, b) {
        if (a === b) return a !== 0 || 1 / a === 1 / b;
        return a !== a && b !== b;
    };
}
