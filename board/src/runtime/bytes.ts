// Espruino's view of "bytes": strings are byte strings (each char 0-255, facts §1: boards have no
// unicode), and E.toString / E.toUint8Array flatten any mix of string, number (one byte), array,
// typed array, ArrayBuffer and {data,count} into bytes.

import { crc32 as zlibCrc32 } from "node:zlib";

export class ByteConversionError extends Error {}

function isArrayBuffer(v: unknown): v is ArrayBuffer {
  return Object.prototype.toString.call(v) === "[object ArrayBuffer]";
}

/** Flattens Espruino byte-ish values (cross-realm safe) into one Uint8Array. */
export function toBytes(...values: unknown[]): Uint8Array {
  const out: number[] = [];
  const add = (v: unknown, depth: number): void => {
    if (depth > 64) throw new ByteConversionError("data is nested too deeply to convert to bytes");
    if (typeof v === "string") {
      for (let i = 0; i < v.length; i++) out.push(v.charCodeAt(i) & 0xff);
    } else if (typeof v === "number") {
      out.push(v & 0xff);
    } else if (typeof v === "boolean") {
      out.push(v ? 1 : 0);
    } else if (isArrayBuffer(v)) {
      for (const b of new Uint8Array(v)) out.push(b);
    } else if (ArrayBuffer.isView(v)) {
      const view = v as unknown as ArrayLike<number>;
      if (v instanceof DataView || Object.prototype.toString.call(v) === "[object DataView]") {
        const dv = v as DataView;
        for (let i = 0; i < dv.byteLength; i++) out.push(dv.getUint8(i));
      } else {
        for (let i = 0; i < view.length; i++) out.push(Number(view[i]) & 0xff);
      }
    } else if (Array.isArray(v)) {
      for (const item of v) add(item, depth + 1);
    } else if (v !== null && typeof v === "object" && "data" in v) {
      const o = v as { data: unknown; count?: number };
      const count = typeof o.count === "number" ? o.count : 1;
      for (let i = 0; i < count; i++) add(o.data, depth + 1);
    } else if (v === undefined || v === null) {
      // Espruino skips undefined in E.toString(...); nothing to add
    } else {
      throw new ByteConversionError(`can't convert ${typeof v} to bytes`);
    }
  };
  for (const v of values) add(v, 0);
  return Uint8Array.from(out);
}

export function bytesToString(bytes: Uint8Array): string {
  let s = "";
  for (let i = 0; i < bytes.length; i += 4096) s += String.fromCharCode(...bytes.subarray(i, i + 4096));
  return s;
}

export function stringToBytes(s: string): Uint8Array {
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i) & 0xff;
  return out;
}

/** Standard CRC-32 (IEEE 802.3, reflected, poly 0xEDB88320), unsigned — what E.CRC32 returns. */
export function crc32(bytes: Uint8Array): number {
  return zlibCrc32(bytes) >>> 0;
}

/** Espruino prints doubles with 12 significant digits (facts §1); int32 values print exactly. */
export function espruinoNumberToString(x: number): string {
  if (Number.isInteger(x) && Math.abs(x) < 2 ** 31) return String(x);
  if (!Number.isFinite(x)) return String(x);
  return String(Number(x.toPrecision(12)));
}

const IDENT = /^[A-Za-z_$][A-Za-z0-9_$]*$/;

function quote(s: string): string {
  let out = '"';
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 0x22) out += '\\"';
    else if (c === 0x5c) out += "\\\\";
    else if (c === 0x0a) out += "\\n";
    else if (c === 0x0d) out += "\\r";
    else if (c === 0x09) out += "\\t";
    else if (c < 0x20 || c >= 0x7f) out += "\\x" + (c & 0xff).toString(16).padStart(2, "0");
    else out += s[i];
  }
  return out + '"';
}

/** E.toJS: JS source for a value, keys unquoted where they are identifiers (facts §6 example). */
export function toJS(value: unknown, depth = 0): string {
  if (depth > 32) return "undefined";
  if (value === undefined) return "undefined";
  if (value === null) return "null";
  if (typeof value === "string") return quote(value);
  if (typeof value === "number") return espruinoNumberToString(value);
  if (typeof value === "boolean") return String(value);
  if (typeof value === "function") return String(value);
  if (isArrayBuffer(value)) return `new Uint8Array([${Array.from(new Uint8Array(value)).join(",")}]).buffer`;
  if (ArrayBuffer.isView(value)) {
    const tag = Object.prototype.toString.call(value).slice(8, -1);
    return `new ${tag}([${Array.from(value as unknown as ArrayLike<number>).join(",")}])`;
  }
  if (Array.isArray(value)) return `[${value.map((v) => toJS(v, depth + 1)).join(",")}]`;
  const parts: string[] = [];
  for (const [k, v] of Object.entries(value as object)) {
    parts.push(`${IDENT.test(k) ? k : quote(k)}:${toJS(v, depth + 1)}`);
  }
  return `{${parts.join(",")}}`;
}

/** How print()/console.log() show one argument: strings raw, everything else like E.toJS. */
export function formatForPrint(value: unknown): string {
  if (typeof value === "string") return value;
  if (typeof value === "object" && value !== null && typeof (value as { message?: unknown }).message === "string" &&
    Object.prototype.toString.call(value) === "[object Error]") return String(value);
  return toJS(value);
}
