// Project-owned replacement for @swc/helpers _unsupported_iterable_to_array: indexes array-likes instead of iterating
// (Espruino has no Symbol.iterator, Array.from or Map/Set; espruino-facts §1-2).
import { _ as _index_array_like } from "./_index_array_like.js";

function _unsupported_iterable_to_array(o, minLen) {
    return _index_array_like(o, minLen, "spread");
}
export { _unsupported_iterable_to_array as _ };
