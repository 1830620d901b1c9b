// Copies an array-like (array, string, typed array, arguments) by index, up to `limit` items.
// Why: Espruino has no iterator protocol; for-of/spread only work on indexable values
// (espruino-facts §1-2), so every spread/destructure helper funnels through this.
function _index_array_like(value, limit, what) {
    if (value == null || (typeof value !== "string" && typeof value.length !== "number")) {
        throw new TypeError("Invalid attempt to " + what + " a value that is not array-like (Espruino has no iterators)");
    }
    var length = value.length;
    if (limit != null && limit < length) length = limit;
    var copy = new Array(length);
    for (var i = 0; i < length; i++) copy[i] = value[i];
    return copy;
}
export { _index_array_like as _ };
