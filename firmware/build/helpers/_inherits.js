// Project-owned replacement for @swc/helpers _inherits.
// Why: Espruino 2v29 rejects 2-argument Object.create ("propertiesObject is not supported yet")
// and a subclass does not see its parent's statics through the prototype chain (espruino-facts §1),
// so statics are copied once at class-definition time (later changes to the parent are not seen).
import { _ as _copy_statics } from "./_copy_statics.js";

function _inherits(subClass, superClass) {
    if (typeof superClass !== "function" && superClass !== null) {
        throw new TypeError("Super expression must either be null or a function");
    }
    subClass.prototype = Object.create(superClass && superClass.prototype);
    subClass.prototype.constructor = subClass;
    if (superClass) {
        // Kept so _call_super/_get can walk from the subclass to its parent.
        Object.setPrototypeOf(subClass, superClass);
        _copy_statics(subClass, superClass);
    }
}
export { _inherits as _ };
