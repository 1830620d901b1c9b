// Project-owned replacement for @swc/helpers _call_super.
// Why: the stock helper feature-detects Reflect.construct through Boolean.prototype.valueOf,
// and Espruino has neither Reflect nor visible built-in prototype methods (espruino-facts §1).
function _call_super(_this, derived, args) {
    var parent = Object.getPrototypeOf(derived);
    var result = parent.apply(_this, args || []);
    if (result && (typeof result === "object" || typeof result === "function")) return result;
    if (_this === undefined) throw new ReferenceError("this hasn't been initialised - super() hasn't been called");
    return _this;
}
export { _call_super as _ };
