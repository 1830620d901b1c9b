// Project-owned replacement for @swc/helpers _to_consumable_array: indexes array-likes instead of iterating
// (Espruino has no Symbol.iterator, Array.from or Map/Set; espruino-facts §1-2).
import { _ as _index_array_like } from "./_index_array_like.js";

function _to_consumable_array(arr) {
    return _index_array_like(arr, undefined, "spread");
}
export { _to_consumable_array as _ };
