// Polyfill for Math.trunc, absent on Espruino 2v29 (espruino-facts §1).
if (!Math.trunc) {
    Math.trunc = function (value) {
        value = +value;
        if (value !== value || value === Infinity || value === -Infinity || value === 0) return value;
        return value < 0 ? Math.ceil(value) : Math.floor(value);
    };
}
