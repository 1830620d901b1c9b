// Project-owned replacement for @swc/helpers _wrap_native_super.
// Why: the stock helper needs Reflect.construct / 2-argument Object.create, and `extends Error`
// cannot call the native Error on Espruino (espruino-facts §1-2). A subclass of Error gets a plain
// JavaScript base that stores the message; it has no .stack on Espruino (a documented limit).
function _wrap_native_super(Class) {
    if (Class === null || typeof Class !== "function") return Class;
    // Compared by identity: on Espruino `TypeError.prototype instanceof Error` is false.
    if (Class !== Error && Class !== TypeError && Class !== SyntaxError && Class !== ReferenceError) {
        throw new TypeError("Extending a built-in other than Error is not supported on Espruino");
    }
    function PlainError(message) {
        if (message !== undefined) this.message = String(message);
    }
    PlainError.prototype = Object.create(Class.prototype);
    PlainError.prototype.constructor = PlainError;
    PlainError.prototype.message = "";
    PlainError.prototype.toString = function () {
        return this.message ? "Error: " + this.message : "Error";
    };
    return PlainError;
}
export { _wrap_native_super as _ };
