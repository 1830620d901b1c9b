// Little-endian integers in byte strings. A handful of statements each: no per-byte loops.

// String.fromCharCode under a short name: the bundle spells it ~45 times. Espruino's fromCharCode is
// a static native that takes no `this` (src/jswrap_string.c), so a detached reference behaves alike.
export const chr: (...codes: number[]) => string = String.fromCharCode;

export function u16(v: number): string {
  return chr(v & 255, (v >>> 8) & 255);
}

export function u32(v: number): string {
  return chr(v & 255, (v >>> 8) & 255, (v >>> 16) & 255, (v >>> 24) & 255);
}

// Big-endian (network order): the link's CRC trailer, CBOR arguments, channel counters, ATCs.
export function u32be(n: number): string {
  return chr((n >>> 24) & 255, (n >>> 16) & 255, (n >>> 8) & 255, n & 255);
}

export function readU32be(s: string, at: number): number {
  return ((s.charCodeAt(at) << 24) | (s.charCodeAt(at + 1) << 16) | (s.charCodeAt(at + 2) << 8) | s.charCodeAt(at + 3)) >>> 0;
}

// An integer 0..2^53-1 as 8 bytes big-endian, in two 32-bit halves (Espruino's bit operators are
// 32-bit; facts rule 9): amounts in log entries, the keys record and the cryptogram message.
const TWO_POW_32 = 4294967296;
export function u64be(n: number): string {
  const high = Math.floor(n / TWO_POW_32);
  return u32be(high) + u32be(n - high * TWO_POW_32);
}

export function readU64be(s: string, at: number): number {
  return readU32be(s, at) * TWO_POW_32 + readU32be(s, at + 4);
}

export function readU16(s: string, at: number): number {
  return s.charCodeAt(at) | (s.charCodeAt(at + 1) << 8);
}

export function readU32(s: string, at: number): number {
  return (s.charCodeAt(at) | (s.charCodeAt(at + 1) << 8) | (s.charCodeAt(at + 2) << 16) | (s.charCodeAt(at + 3) << 24)) >>> 0;
}

// c repeated to exactly n bytes (a byte, or a whole string cut at n): one native repeat, where a
// doubling loop would cost statements on the board.
export function filled(c: string, n: number): string {
  return c.repeat(Math.ceil(n / c.length)).substr(0, n);
}

export const ERASED_LINE = /* @__PURE__ */ filled("\xff", 512);

// True when every byte of s is 0xFF (erased flash), using native string compares only.
export function isErasedString(s: string): boolean {
  for (let at = 0; at < s.length; at += ERASED_LINE.length) {
    const part = s.substr(at, ERASED_LINE.length);
    if (part !== ERASED_LINE.substr(0, part.length)) return false;
  }
  return true;
}
