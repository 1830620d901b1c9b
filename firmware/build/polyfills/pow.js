// Exact integer power used in place of `**` (the pipeline rewrites `a ** b` to `__kc_pow(a, b)`).
// gate-allow: inexact-pow (terser may inline a literal base into the non-integer fallback below)
// Why: Espruino's Math.pow is exact only for integer exponents 0-9 (Math.pow(2,31) =
// 2147483648.0000019, espruino-facts §1 Numbers). Integer bases with integer exponents use
// square-and-multiply, exact while the result stays below 2^53 (every partial product is at most the
// result); a negative exponent divides once (correctly rounded). Anything else falls back to Math.pow.
export function __kc_pow(base, exponent) {
    if (base === Math.floor(base) && exponent === Math.floor(exponent) && isFinite(base) && isFinite(exponent)) {
        var magnitude = exponent < 0 ? -exponent : exponent;
        var result = 1;
        var square = base;
        while (magnitude > 0) {
            if (magnitude % 2 === 1) result *= square;
            magnitude = Math.floor(magnitude / 2);
            if (magnitude > 0) square *= square;
        }
        return exponent < 0 ? 1 / result : result;
    }
    return Math.pow(base, exponent);
}
