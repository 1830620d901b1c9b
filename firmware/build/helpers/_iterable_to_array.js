// Project-owned replacement for @swc/helpers _iterable_to_array: indexes array-likes instead of iterating
// (Espruino has no Symbol.iterator, Array.from or Map/Set; espruino-facts §1-2).
import { _ as _index_array_like } from "./_index_array_like.js";

function _iterable_to_array(iter) {
    return _index_array_like(iter, undefined, "spread");
}
export { _iterable_to_array as _ };
