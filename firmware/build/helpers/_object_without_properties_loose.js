// Project-owned replacement: Espruino has no propertyIsEnumerable, Reflect or Symbol
// (espruino-facts §1); own enumerable keys come from for-in plus an own-property check.
function _object_without_properties_loose(source, excluded) {
    if (source == null) return {};
    var target = {};
    var hasOwn = {}.hasOwnProperty;
    for (var key in source) {
        if (!hasOwn.call(source, key) || excluded.indexOf(key) >= 0) continue;
        target[key] = source[key];
    }
    return target;
}
export { _object_without_properties_loose as _ };
