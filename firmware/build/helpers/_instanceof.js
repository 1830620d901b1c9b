// Project-owned replacement: Espruino has no Symbol.hasInstance (espruino-facts §1).
function _instanceof(left, right) {
    return left instanceof right;
}
export { _instanceof as _ };
