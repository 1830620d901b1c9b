// Project-owned replacement for @swc/helpers _sliced_to_array: arrays are used as they are and
// other array-likes are indexed up to the number of bound elements (no iterators on Espruino).
import { _ as _index_array_like } from "./_index_array_like.js";

function _sliced_to_array(arr, i) {
    if (Array.isArray(arr)) return arr;
    return _index_array_like(arr, i, "destructure");
}
export { _sliced_to_array as _ };
