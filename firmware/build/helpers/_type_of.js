// Project-owned replacement: Espruino has no Symbol (espruino-facts §1), so plain typeof is exact.
function _type_of(obj) {
    return typeof obj;
}
export { _type_of as _ };
