/**
 * Heatshrink decompression with Espruino's static configuration (window 2^8, lookahead 2^6), for
 * FILE_SEND packets with `c:1`, where every DATA block is compressed on its own (facts §6).
 * Format (heatshrink by Scott Vokes): an MSB-first bit stream of records — tag 1 + 8-bit literal,
 * or tag 0 + 8-bit (distance-1) + 6-bit (count-1) back-reference (the lookahead width was
 * determined against EspruinoTools' heatshrink build, which matches Espruino's heatshrink_config.h).
 * The final byte is zero-padded, so a record cut short by the end of input ends the data.
 */
const WINDOW_BITS = 8;
const LOOKAHEAD_BITS = 6;

export function heatshrinkDecompress(input: Uint8Array): Uint8Array {
  const out: number[] = [];
  let bitPos = 0;
  const totalBits = input.length * 8;
  const read = (n: number): number | undefined => {
    if (bitPos + n > totalBits) return undefined;
    let v = 0;
    for (let i = 0; i < n; i++, bitPos++) v = (v << 1) | ((input[bitPos >> 3]! >> (7 - (bitPos & 7))) & 1);
    return v;
  };
  for (;;) {
    const tag = read(1);
    if (tag === undefined) break;
    if (tag === 1) {
      const literal = read(8);
      if (literal === undefined) break;
      out.push(literal);
      continue;
    }
    const index = read(WINDOW_BITS);
    const count = index === undefined ? undefined : read(LOOKAHEAD_BITS);
    if (index === undefined || count === undefined) break;
    const distance = index + 1;
    // The window starts zero-filled, and the encoder does match against those zeros.
    for (let i = 0; i <= count; i++) out.push(out.length >= distance ? out[out.length - distance]! : 0);
  }
  return Uint8Array.from(out);
}
