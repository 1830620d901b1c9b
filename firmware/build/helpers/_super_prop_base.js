// Project-owned replacement: Object.prototype.hasOwnProperty is invisible on Espruino
// (built-in methods are not on X.prototype, espruino-facts §1); borrow it from an instance.
import { _ as _get_prototype_of } from "./_get_prototype_of.js";

function _super_prop_base(object, property) {
    var hasOwn = {}.hasOwnProperty;
    while (!hasOwn.call(object, property)) {
        object = _get_prototype_of(object);
        if (object === null) break;
    }
    return object;
}
export { _super_prop_base as _ };
