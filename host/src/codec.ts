import { Encoder } from "cbor-x";

/**
 * The canonical CBOR subset of PROTOCOL.md §5, host side.
 *
 * Values: integers in ±(2^53−1), byte strings (Uint8Array), UTF-8 text strings, arrays, maps with
 * unsigned-integer keys in strictly ascending order (JS `Map<number, …>`), true, false, null.
 * No floats, tags, undefined, other simple values or indefinite lengths; every length and
 * integer in its shortest form (RFC 8949 §4.2.1). A body nests at most 4 levels, holds at most
 * 64 data items and 512 bytes.
 *
 * Encoding goes through cbor-x with canonical settings after this module has checked and
 * normalised the value (cbor-x neither sorts map keys nor refuses floats, and it writes integers
 * beyond 32 bits as float64, so those become BigInt first). Decoding is this module's own strict
 * parser, so the host rejects exactly what the firmware rejects (firmware/vectors/cbor.json).
 */
export type CborValue = number | boolean | null | string | Uint8Array | CborValue[] | CborMap;
export type CborMap = Map<number, CborValue>;

export const CBOR_LIMITS = { maxDepth: 4, maxItems: 64, maxBytes: 512 } as const;

/** Why a CBOR body was refused; `status` is the device status the firmware answers with. */
export class CborError extends Error {
  constructor(
    readonly status: typeof CBOR_BAD | typeof CBOR_TOO_LARGE,
    message: string,
  ) {
    super(message);
    this.name = "CborError";
  }
}
/** Status BAD_CBOR: not well-formed, or outside the canonical subset. */
export const CBOR_BAD = 0x02;
/** Status TOO_LARGE: nesting, item count or size over the limits. */
export const CBOR_TOO_LARGE = 0x06;

const MAX_INT = Number.MAX_SAFE_INTEGER; // 2^53 − 1
const TWO_32 = 0x100000000;

// useTag259ForMaps is a real cbor-x option that its typings omit.
const encoder = new Encoder({ useRecords: false, variableMapSize: true, useTag259ForMaps: false, tagUint8Array: false } as ConstructorParameters<typeof Encoder>[0]);

type Normalised = number | bigint | boolean | null | string | Uint8Array | Normalised[] | Map<number, Normalised>;

function normalise(value: CborValue, path: string, depth: number, count: { items: number }): Normalised {
  if (++count.items > CBOR_LIMITS.maxItems) throw new CborError(CBOR_TOO_LARGE, `more than ${CBOR_LIMITS.maxItems} CBOR items (at ${path}) — send less per request`);
  if (value === null || typeof value === "boolean" || typeof value === "string") return value;
  if (typeof value === "number") {
    if (!Number.isInteger(value)) throw new CborError(CBOR_BAD, `${path} is ${value}: the protocol has no floats, send an integer`);
    if (Math.abs(value) > MAX_INT) throw new CborError(CBOR_BAD, `${path} is ${value}: integers must stay within ±(2^53−1)`);
    if (Object.is(value, -0)) return 0;
    // cbor-x writes integers outside 32 bits as float64; as BigInt they get the 8-byte integer form.
    return value >= TWO_32 || value < -TWO_32 ? BigInt(value) : value;
  }
  if (value instanceof Uint8Array) return value;
  const inner = depth + 1;
  if ((Array.isArray(value) || value instanceof Map) && inner > CBOR_LIMITS.maxDepth) {
    throw new CborError(CBOR_TOO_LARGE, `${path} nests deeper than ${CBOR_LIMITS.maxDepth} levels`);
  }
  if (Array.isArray(value)) return value.map((v, i) => normalise(v, `${path}[${i}]`, inner, count));
  if (value instanceof Map) {
    const keys = [...value.keys()];
    for (const k of keys) {
      if (typeof k !== "number" || !Number.isInteger(k) || k < 0 || k > MAX_INT) {
        throw new CborError(CBOR_BAD, `${path} has map key ${String(k)}: keys must be unsigned integers`);
      }
    }
    keys.sort((a, b) => a - b);
    const out = new Map<number, Normalised>();
    for (const k of keys) {
      count.items++; // the key is a data item of its own
      out.set(k, normalise(value.get(k)!, `${path}{${k}}`, inner, count));
    }
    if (count.items > CBOR_LIMITS.maxItems) throw new CborError(CBOR_TOO_LARGE, `more than ${CBOR_LIMITS.maxItems} CBOR items (at ${path}) — send less per request`);
    return out;
  }
  throw new CborError(CBOR_BAD, `${path} is a ${typeof value === "object" ? (value as object).constructor?.name ?? "object" : typeof value}: not in the CBOR subset (use Map<number,…> for maps)`);
}

/**
 * Size limit of a canonical CBOR item. Protocol bodies keep the 512-byte limit; a few stored
 * structures that travel in chunks (the offline license, PROTOCOL.md §11) are larger.
 */
export interface CborSizeOptions { maxBytes?: number }

/** Encodes a value canonically; throws CborError for anything outside the subset or limits. */
export function encodeCbor(value: CborValue, opts: CborSizeOptions = {}): Uint8Array {
  const maxBytes = opts.maxBytes ?? CBOR_LIMITS.maxBytes;
  const normal = normalise(value, "value", 0, { items: 0 });
  const bytes = new Uint8Array(encoder.encode(normal));
  if (bytes.length > maxBytes) throw new CborError(CBOR_TOO_LARGE, `encoded body is ${bytes.length} bytes, over the ${maxBytes}-byte limit`);
  // Belt and braces: what we send must pass the same strict check the device applies.
  decodeCbor(bytes, opts);
  return bytes;
}

const utf8 = new TextDecoder("utf-8", { fatal: true });

class Reader {
  pos = 0;
  items = 0;
  constructor(readonly bytes: Uint8Array) {}

  bad(why: string): never {
    throw new CborError(CBOR_BAD, `${why} at byte ${this.pos}`);
  }

  need(n: number): void {
    if (n > this.bytes.length - this.pos) this.bad(`truncated: need ${n} more bytes, ${this.bytes.length - this.pos} left`);
  }

  /** Reads the head's argument; returns it as a number (≤ 2^53−1) and checks shortest form. */
  argument(info: number): number {
    const start = this.pos - 1;
    if (info < 24) return info;
    if (info === 31) {
      this.pos = start;
      this.bad("indefinite length is not allowed");
    }
    if (info > 27) {
      this.pos = start;
      this.bad(`reserved additional information ${info}`);
    }
    const size = 1 << (info - 24);
    this.need(size);
    let v = 0;
    if (size === 8) {
      const hi = this.u32(this.pos);
      const lo = this.u32(this.pos + 4);
      if (hi > 0x1fffff) {
        this.pos = start;
        this.bad("integer or length beyond 2^53−1");
      }
      v = hi * TWO_32 + lo;
    } else {
      for (let i = 0; i < size; i++) v = v * 256 + this.bytes[this.pos + i]!;
    }
    this.pos += size;
    const min = size === 1 ? 24 : size === 2 ? 0x100 : size === 4 ? 0x10000 : TWO_32;
    if (v < min) {
      this.pos = start;
      this.bad(`non-shortest encoding of ${v}`);
    }
    return v;
  }

  u32(at: number): number {
    const b = this.bytes;
    return ((b[at]! << 24) | (b[at + 1]! << 16) | (b[at + 2]! << 8) | b[at + 3]!) >>> 0;
  }

  item(depth: number): CborValue {
    if (++this.items > CBOR_LIMITS.maxItems) throw new CborError(CBOR_TOO_LARGE, `more than ${CBOR_LIMITS.maxItems} CBOR items`);
    this.need(1);
    const head = this.bytes[this.pos++]!;
    const major = head >> 5;
    const info = head & 0x1f;
    switch (major) {
      case 0:
        return this.argument(info);
      case 1: {
        const n = this.argument(info);
        if (n >= MAX_INT) {
          this.pos--;
          this.bad("negative integer beyond −(2^53−1)");
        }
        return -1 - n;
      }
      case 2:
      case 3: {
        const len = this.argument(info);
        this.need(len);
        const data = this.bytes.slice(this.pos, this.pos + len);
        this.pos += len;
        if (major === 2) return data;
        try {
          return utf8.decode(data);
        } catch {
          this.pos -= len;
          return this.bad("text string is not valid UTF-8");
        }
      }
      case 4:
      case 5: {
        if (depth + 1 > CBOR_LIMITS.maxDepth) throw new CborError(CBOR_TOO_LARGE, `nesting deeper than ${CBOR_LIMITS.maxDepth} at byte ${this.pos - 1}`);
        const n = this.argument(info);
        // Every item takes at least one byte: a count beyond what remains cannot be honest.
        if (n * (major === 5 ? 2 : 1) > this.bytes.length - this.pos) this.bad(`${major === 4 ? "array" : "map"} declares ${n} entries but only ${this.bytes.length - this.pos} bytes remain`);
        if (major === 4) {
          const out: CborValue[] = [];
          for (let i = 0; i < n; i++) out.push(this.item(depth + 1));
          return out;
        }
        const out: CborMap = new Map();
        let last = -1;
        for (let i = 0; i < n; i++) {
          const keyAt = this.pos;
          const key = this.item(depth + 1);
          if (typeof key !== "number" || key < 0) {
            this.pos = keyAt;
            this.bad("map key is not an unsigned integer");
          }
          if (key <= last) {
            this.pos = keyAt;
            this.bad(key === last ? `duplicate map key ${key}` : `map keys out of order (${key} after ${last})`);
          }
          last = key;
          out.set(key, this.item(depth + 1));
        }
        return out;
      }
      case 6:
        this.pos--;
        return this.bad("tags are not allowed");
      default: {
        if (info === 20) return false;
        if (info === 21) return true;
        if (info === 22) return null;
        this.pos--;
        if (info >= 25 && info <= 27) return this.bad("floats are not allowed");
        if (info === 31) return this.bad("break byte outside an indefinite item");
        return this.bad(info === 23 ? "undefined is not allowed" : "simple values other than false/true/null are not allowed");
      }
    }
  }
}

/** Decodes one canonical item that fills `bytes` exactly; throws CborError otherwise. */
export function decodeCbor(bytes: Uint8Array, opts: CborSizeOptions = {}): CborValue {
  const maxBytes = opts.maxBytes ?? CBOR_LIMITS.maxBytes;
  if (bytes.length === 0) throw new CborError(CBOR_BAD, "empty CBOR body");
  if (bytes.length > maxBytes) throw new CborError(CBOR_TOO_LARGE, `CBOR body of ${bytes.length} bytes is over the ${maxBytes}-byte limit`);
  const r = new Reader(bytes);
  const value = r.item(0);
  if (r.pos !== bytes.length) r.bad(`${bytes.length - r.pos} trailing bytes after the item`);
  return value;
}
