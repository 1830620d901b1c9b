// Project-owned replacement: indexes array-likes up to `i` items (no iterators on Espruino).
import { _ as _index_array_like } from "./_index_array_like.js";

function _iterable_to_array_limit(arr, i) {
    return _index_array_like(arr, i, "destructure");
}
export { _iterable_to_array_limit as _ };
