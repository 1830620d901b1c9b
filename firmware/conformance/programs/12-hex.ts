// Checks hex encode/decode (lib/hex.ts) including upper-case input and error codes for bad input.
import { fromHex, toHex } from "./lib/hex.ts";
import { CodedError, ErrorCode } from "./lib/errors.ts";

console.log("encode " + toHex(new Uint8Array([0, 1, 15, 16, 127, 128, 254, 255])));
console.log("empty '" + toHex(new Uint8Array(0)) + "'");
const decoded = fromHex("DEADbeef00");
console.log("decode length " + decoded.length + " -> " + toHex(decoded));
console.log("round trip " + (toHex(fromHex("0123456789abcdef")) === "0123456789abcdef"));

const bad = ["abc", "zz", "0g"];
for (let i = 0; i < bad.length; i++) {
  try {
    fromHex(bad[i]);
    console.log(bad[i] + " accepted");
  } catch (e) {
    const err = e as CodedError;
    const kind = err.code === ErrorCode.BadLength ? "length" : err.code === ErrorCode.BadDigit ? "digit" : "other";
    console.log(bad[i] + " rejected code " + err.code + " (" + kind + "): " + err.message);
  }
}
