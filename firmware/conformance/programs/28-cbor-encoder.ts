// Checks a tiny CBOR encoder over a growable Uint8Array against RFC 8949 Appendix A examples.
import { toHex } from "./lib/hex.ts";

type Value = number | string | Uint8Array | boolean | null | Value[] | { [key: string]: Value };

class Writer {
  private buf = new Uint8Array(16);
  private len = 0;

  private ensure(extra: number): void {
    if (this.len + extra <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.len + extra) size *= 2;
    const grown = new Uint8Array(size);
    grown.set(this.buf.subarray(0, this.len));
    this.buf = grown;
  }

  byte(b: number): void {
    this.ensure(1);
    this.buf[this.len++] = b;
  }

  head(major: number, n: number): void {
    const m = major << 5;
    if (n < 24) this.byte(m | n);
    else if (n < 0x100) {
      this.byte(m | 24);
      this.byte(n);
    } else if (n < 0x10000) {
      this.byte(m | 25);
      this.byte(n >> 8);
      this.byte(n & 255);
    } else {
      this.byte(m | 26);
      this.byte((n >>> 24) & 255);
      this.byte((n >>> 16) & 255);
      this.byte((n >>> 8) & 255);
      this.byte(n & 255);
    }
  }

  bytes(): Uint8Array {
    return this.buf.slice(0, this.len);
  }
}

function encodeInto(w: Writer, v: Value): void {
  if (v === null) w.byte(0xf6);
  else if (v === true) w.byte(0xf5);
  else if (v === false) w.byte(0xf4);
  else if (typeof v === "number") {
    if (v !== Math.floor(v) || v > 0xffffffff || v < -0x100000000) throw new Error("only 32-bit integers: " + v);
    if (v >= 0) w.head(0, v);
    else w.head(1, -1 - v);
  } else if (typeof v === "string") {
    // Byte strings only: every char is one byte (0-127 here, so UTF-8 and bytes agree).
    w.head(3, v.length);
    for (let i = 0; i < v.length; i++) w.byte(v.charCodeAt(i));
  } else if (v instanceof Uint8Array) {
    w.head(2, v.length);
    for (let i = 0; i < v.length; i++) w.byte(v[i]);
  } else if (Array.isArray(v)) {
    w.head(4, v.length);
    for (let i = 0; i < v.length; i++) encodeInto(w, v[i]);
  } else {
    const keys = Object.keys(v);
    w.head(5, keys.length);
    for (let i = 0; i < keys.length; i++) {
      encodeInto(w, keys[i]);
      encodeInto(w, v[keys[i]]);
    }
  }
}

function encode(v: Value): string {
  const w = new Writer();
  encodeInto(w, v);
  return toHex(w.bytes());
}

// [value, label, expected hex from RFC 8949 Appendix A]
const examples: Array<[Value, string, string]> = [
  [0, "0", "00"],
  [23, "23", "17"],
  [24, "24", "1818"],
  [100, "100", "1864"],
  [1000, "1000", "1903e8"],
  [1000000, "1000000", "1a000f4240"],
  [-1, "-1", "20"],
  [-1000, "-1000", "3903e7"],
  [false, "false", "f4"],
  [true, "true", "f5"],
  [null, "null", "f6"],
  [new Uint8Array([1, 2, 3, 4]), "h'01020304'", "4401020304"],
  ["", "\"\"", "60"],
  ["IETF", "\"IETF\"", "6449455446"],
  [[], "[]", "80"],
  [[1, [2, 3], [4, 5]], "[1,[2,3],[4,5]]", "8301820203820405"],
  [{ a: 1, b: [2, 3] }, "{\"a\":1,\"b\":[2,3]}", "a26161016162820203"],
];
let pass = 0;
for (let i = 0; i < examples.length; i++) {
  const got = encode(examples[i][0]);
  const ok = got === examples[i][2];
  if (ok) pass++;
  console.log((ok ? "ok   " : "FAIL ") + examples[i][1] + " -> " + got);
}
console.log(pass + "/" + examples.length + " RFC 8949 examples match");

// Growth past the initial 16-byte buffer: a 25-element array of 1000s.
const long: number[] = [];
for (let i = 0; i < 25; i++) long.push(1000);
const longHex = encode(long);
console.log("long array " + longHex.length / 2 + " bytes, starts " + longHex.slice(0, 10));
