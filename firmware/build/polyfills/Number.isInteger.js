// Polyfill for Number.isInteger, absent on Espruino 2v29 (espruino-facts §1).
if (!Number.isInteger) {
    Number.isInteger = function (value) {
        return typeof value === "number" && isFinite(value) && Math.floor(value) === value;
    };
}
