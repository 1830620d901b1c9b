// Project-owned replacement for @swc/helpers _array_like_to_array: indexes array-likes instead of iterating
// (Espruino has no Symbol.iterator, Array.from or Map/Set; espruino-facts §1-2).
import { _ as _index_array_like } from "./_index_array_like.js";

function _array_like_to_array(arr, len) {
    return _index_array_like(arr, len, "copy");
}
export { _array_like_to_array as _ };
