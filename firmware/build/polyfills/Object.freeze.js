// Polyfill for Object.freeze, absent on Espruino 2v29 (espruino-facts §1). Espruino cannot make an
// object immutable, so this returns the object unchanged: code must not rely on freezing for safety.
if (!Object.freeze) {
    Object.freeze = function (value) {
        return value;
    };
}
