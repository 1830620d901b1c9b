// Copies the own static members of a parent class onto a subclass that does not define them.
// Why: Espruino does not resolve statics through a function's prototype chain (espruino-facts §1).
function _copy_statics(subClass, superClass) {
    var hasOwn = {}.hasOwnProperty;
    // getOwnPropertyNames also lists statics that swc defines as non-enumerable on Node;
    // on Espruino defineProperty ignores enumerable:false, so for-in would see them as well.
    var keys = Object.getOwnPropertyNames ? Object.getOwnPropertyNames(superClass) : [];
    if (!keys.length) for (var k in superClass) keys.push(k);
    for (var i = 0; i < keys.length; i++) {
        var key = keys[i];
        // Function-local list on purpose: nothing in a helper may depend on module-level state
        // having been initialised (Espruino runs top to bottom, without hoisting).
        if (key === "prototype" || key === "length" || key === "name" || key === "caller" || key === "arguments") continue;
        if (hasOwn.call(subClass, key)) continue;
        var desc = Object.getOwnPropertyDescriptor ? Object.getOwnPropertyDescriptor(superClass, key) : undefined;
        if (desc && (desc.get || desc.set)) Object.defineProperty(subClass, key, desc);
        else subClass[key] = superClass[key];
    }
}
export { _copy_statics as _ };
