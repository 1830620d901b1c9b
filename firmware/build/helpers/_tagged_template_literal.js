// Project-owned replacement: Espruino has no Object.freeze (espruino-facts §1). The strings array
// is not frozen, so a tag function that mutates it affects later calls (a documented limit).
function _tagged_template_literal(strings, raw) {
    if (!raw) raw = strings.slice(0);
    strings.raw = raw;
    return strings;
}
export { _tagged_template_literal as _ };
