// Hex encoding shared by several conformance programs (exercises multi-file import/export).
import { CodedError, ErrorCode } from "./errors.ts";

const DIGITS = "0123456789abcdef";

export function toHex(bytes: Uint8Array): string {
  let out = "";
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i];
    out += DIGITS.charAt(b >> 4) + DIGITS.charAt(b & 15);
  }
  return out;
}

function nibble(code: number): number {
  if (code >= 48 && code <= 57) return code - 48; // 0-9
  if (code >= 97 && code <= 102) return code - 87; // a-f
  if (code >= 65 && code <= 70) return code - 55; // A-F
  return -1;
}

export function fromHex(text: string): Uint8Array {
  if (text.length % 2 !== 0) {
    throw new CodedError(ErrorCode.BadLength, "hex length " + text.length + " is odd");
  }
  const out = new Uint8Array(text.length / 2);
  for (let i = 0; i < out.length; i++) {
    const hi = nibble(text.charCodeAt(2 * i));
    const lo = nibble(text.charCodeAt(2 * i + 1));
    if (hi < 0 || lo < 0) {
      throw new CodedError(ErrorCode.BadDigit, "bad hex digit at " + 2 * i);
    }
    out[i] = (hi << 4) | lo;
  }
  return out;
}
