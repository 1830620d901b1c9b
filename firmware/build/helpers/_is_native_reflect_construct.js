// Project-owned replacement: Espruino has no Reflect (espruino-facts §1), so never use Reflect.construct.
function _is_native_reflect_construct() {
    return false;
}
export { _is_native_reflect_construct as _ };
