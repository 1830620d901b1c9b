// Canonical CBOR subset of PROTOCOL.md §5: decode and encode over byte strings.
// Byte strings are JS strings of chars 0-255 (the board's byte currency); text strings are wrapped
// in {tstr} so the two stay distinct; maps are plain objects keyed by unsigned integers.
// decode() never throws: every failure is a status code with a reason.
import { MAX_BODY, STATUS_BAD_CBOR, STATUS_OK, STATUS_TOO_LARGE } from "./protocol.ts";
import { chr, readU32be, u32be } from "./store/bytes.ts";

export interface CborText { tstr: string }
export interface CborMap { [key: number]: CborValue }
export type CborValue = number | boolean | null | string | CborText | CborValue[] | CborMap;

export const MAX_DEPTH = 4;
export const MAX_ITEMS = 64;
export const MAX_INPUT_BYTES = MAX_BODY;
// 2^53 - 1, spelled out: Espruino has no Number.MAX_SAFE_INTEGER and Math.pow is inexact.
export const MAX_SAFE = 9007199254740991;
const TWO_POW_32 = 4294967296;
const MAX_HIGH_HALF = 0x1fffff; // high 32 bits of 2^53 - 1

export interface DecodeOk { ok: true; status: 0; value: CborValue }
export interface DecodeFail { ok: false; status: number; reason: string }
export type DecodeResult = DecodeOk | DecodeFail;

export function text(s: string): CborText {
  return { tstr: s };
}

// No `typeof v === "object"`: the ES5 pipeline turns it into a helper call, costly on the board.
export function isText(v: CborValue): v is CborText {
  return v !== null && v !== undefined && typeof (v as CborText).tstr === "string";
}

export function isMap(v: CborValue): v is CborMap {
  return v !== null && typeof v !== "number" && typeof v !== "string" && typeof v !== "boolean" && !Array.isArray(v) && !isText(v);
}

// Thrown only inside this module (and caught by decode/encode callers): plain object, because
// Espruino's `instanceof Error` is unreliable (facts §1) and subclassing Error is broken.
export interface CodecFailure { codecStatus: number; reason: string }

function fail(status: number, reason: string): never {
  const failure: CodecFailure = { codecStatus: status, reason: reason };
  throw failure;
}

export function isCodecFailure(e: unknown): e is CodecFailure {
  return e !== null && e !== undefined && typeof (e as CodecFailure).codecStatus === "number";
}

interface Cursor { s: string; pos: number; end: number; items: number }

function truncated(c: Cursor, n: number): never {
  return fail(STATUS_BAD_CBOR, "truncated: " + n + " B more needed at offset " + c.pos);
}

function nonCanonical(v: number, bytes: number): never {
  return fail(STATUS_BAD_CBOR, "non-canonical: " + v + " in " + bytes + " B");
}

// The argument of an initial byte (RFC 8949 §3), shortest form enforced (§4.2.1). Integers above
// 32 bits are read as two 32-bit halves so nothing is computed beyond 2^53.
function readArgument(c: Cursor, info: number): number {
  if (info === 31) fail(STATUS_BAD_CBOR, "indefinite length");
  if (info > 27) fail(STATUS_BAD_CBOR, "reserved info " + info);
  const s = c.s;
  const p = c.pos;
  const n = 1 << (info - 24); // 1, 2, 4 or 8 argument bytes
  if (c.end - p < n) truncated(c, n);
  c.pos = p + n;
  if (n === 8) {
    const high = readU32be(s, p);
    const low = readU32be(s, p + 4);
    if (high > MAX_HIGH_HALF) fail(STATUS_BAD_CBOR, "integer over 2^53-1");
    if (high === 0) nonCanonical(low, 8);
    return high * TWO_POW_32 + low;
  }
  const v = n === 1 ? s.charCodeAt(p) : n === 2 ? (s.charCodeAt(p) << 8) | s.charCodeAt(p + 1) : readU32be(s, p);
  if (v < (n === 1 ? 24 : n === 2 ? 256 : 65536)) nonCanonical(v, n);
  return v;
}

function readItem(c: Cursor, depth: number): CborValue {
  if (++c.items > MAX_ITEMS) fail(STATUS_TOO_LARGE, "more than " + MAX_ITEMS + " items");
  if (c.pos >= c.end) truncated(c, 1);
  const initial = c.s.charCodeAt(c.pos++);
  const major = initial >> 5;
  let n = initial & 31;
  if (major === 0) return n < 24 ? n : readArgument(c, n);
  if (major === 7) {
    if (n === 20) return false;
    if (n === 21) return true;
    if (n === 22) return null;
    return fail(STATUS_BAD_CBOR, "simple/float 0x" + initial.toString(16));
  }
  if (major === 6) fail(STATUS_BAD_CBOR, "tag");
  if (n > 23) n = readArgument(c, n);
  if (major === 1) {
    if (n >= MAX_SAFE) fail(STATUS_BAD_CBOR, "integer under -(2^53-1)");
    return -1 - n;
  }
  const remaining = c.end - c.pos;
  if (major < 4) {
    if (remaining < n) truncated(c, n);
    const bytes = c.s.substr(c.pos, n);
    c.pos += n;
    return major === 2 ? bytes : text(bytes);
  }
  if (depth > MAX_DEPTH) fail(STATUS_TOO_LARGE, "nested deeper than " + MAX_DEPTH);
  if (major === 4) {
    // Each item takes at least one byte: a larger count is malformed, caught before allocating.
    if (n > remaining) fail(STATUS_BAD_CBOR, "array of " + n + " in " + remaining + " B");
    const list: CborValue[] = [];
    for (let i = 0; i < n; i++) list.push(readItem(c, depth + 1));
    return list;
  }
  // major 5: map with unsigned-integer keys in strictly ascending order
  if (n * 2 > remaining) fail(STATUS_BAD_CBOR, "map of " + n + " in " + remaining + " B");
  const map: CborMap = {};
  let previousKey = -1;
  for (let i = 0; i < n; i++) {
    // The hot requests (PAY, CHANNEL_MESSAGE) have readers of their own (dispatch.ts runRaw): the
    // generic walk is for the rest, so it is kept short rather than fast.
    if (c.s.charCodeAt(c.pos) >> 5 !== 0) fail(STATUS_BAD_CBOR, "map key not a uint at offset " + c.pos);
    const key = readItem(c, depth + 1) as number;
    if (key <= previousKey) fail(STATUS_BAD_CBOR, "map key " + key + " out of order");
    map[previousKey = key] = readItem(c, depth + 1);
  }
  return map;
}

// {1: bstr}, canonical and nothing after it: the body of CHANNEL_OPEN, CHANNEL_CONFIRM, every
// CHANNEL_MESSAGE (PROTOCOL.md §7.3) and PING. Recognised by comparing its head with the canonical one for
// its length, so the generic reader's statements (three items' worth, ~10 ms on the board) run
// only for other bodies; anything else takes the generic path, which gives the same value or failure.
// singleBytes gives the byte string itself: CHANNEL_MESSAGE reads its body with it alone.
export function singleBytes(bytes: string): string | undefined {
  const initial = bytes.charCodeAt(2);
  const at = initial === 0x59 ? 5 : initial === 0x58 ? 4 : 3;
  return bytes.substr(0, at) === "\xa1\x01" + head(2, bytes.length - at) ? bytes.substr(at) : undefined;
}

export function decode(bytes: string): DecodeResult {
  if (bytes.length > MAX_INPUT_BYTES) return { ok: false, status: STATUS_TOO_LARGE, reason: "input over " + MAX_INPUT_BYTES + " bytes" };
  const single = singleBytes(bytes);
  if (single !== undefined) return { ok: true, status: STATUS_OK, value: { 1: single } };
  const cursor: Cursor = { s: bytes, pos: 0, end: bytes.length, items: 0 };
  try {
    const value = readItem(cursor, 1);
    if (cursor.pos !== cursor.end) return { ok: false, status: STATUS_BAD_CBOR, reason: (cursor.end - cursor.pos) + " trailing bytes" };
    return { ok: true, status: STATUS_OK, value: value };
  } catch (e) {
    if (isCodecFailure(e)) return { ok: false, status: e.codecStatus, reason: e.reason };
    return { ok: false, status: STATUS_BAD_CBOR, reason: "decoder fault" };
  }
}

// The initial byte(s) of an item of `major` type with argument `n`, shortest form (RFC 8949 §4.2.1):
// handlers splice pre-encoded pieces with it instead of running the generic encoder.
export function head(major: number, n: number): string {
  const m = major << 5;
  if (n < 24) return chr(m | n);
  if (n < 256) return chr(m | 24, n);
  if (n < 65536) return chr(m | 25, n >> 8, n & 255);
  if (n < TWO_POW_32) return chr(m | 26) + u32be(n);
  // Spelled out, not store/bytes.ts u64be: head() runs for every item of every reply, and the extra
  // call measured +0.3 ms per INFO and +2 ms per channel open on the cost model.
  const high = Math.floor(n / TWO_POW_32);
  return chr(m | 27) + u32be(high) + u32be(n - high * TWO_POW_32);
}

// A byte string as one canonical CBOR item: for replies spliced from pieces.
export function bytesItem(bytes: string): string {
  return head(2, bytes.length) + bytes;
}

// Numbers and byte strings first, the small integers without a head() call: they are most of what
// replies carry, and every statement on the way costs ~0.2 ms on the board.
function encodeItem(v: CborValue, depth: number): string {
  if (typeof v === "number") {
    if (Math.floor(v) !== v || v > MAX_SAFE || v < -MAX_SAFE) fail(STATUS_BAD_CBOR, "not a safe integer: " + v);
    return v < 0 ? head(1, -1 - v) : v < 24 ? chr(v) : head(0, v);
  }
  if (typeof v === "string") return head(2, v.length) + v;
  if (v === null || v === true || v === false) return v === null ? "\xf6" : v ? "\xf5" : "\xf4";
  if (depth > MAX_DEPTH) fail(STATUS_TOO_LARGE, "nested deeper than " + MAX_DEPTH);
  if (Array.isArray(v)) {
    let out = head(4, v.length);
    for (let i = 0; i < v.length; i++) out += encodeItem(v[i]!, depth + 1);
    return out;
  }
  if (isText(v)) return head(3, v.tstr.length) + v.tstr;
  const names = Object.keys(v);
  const keys: number[] = [];
  let sorted = true;
  for (let i = 0; i < names.length; i++) {
    const k = +names[i]!;
    if (!(k >= 0 && Math.floor(k) === k)) fail(STATUS_BAD_CBOR, "bad map key " + names[i]);
    if (i > 0 && k < keys[i - 1]!) sorted = false;
    keys.push(k);
  }
  // Espruino's Object.keys keeps insertion order, so build maps in ascending key order to skip this.
  if (!sorted) keys.sort(function (a, b) { return a - b; });
  let out = head(5, keys.length);
  for (let i = 0; i < keys.length; i++) {
    const k = keys[i]!;
    // Keys below 24 are their own head byte: no head() call (~1 ms on the board) per key.
    out += (k < 24 ? chr(k) : head(0, k)) + encodeItem(v[k]!, depth + 1);
  }
  return out;
}

// Encodes the entries of a map without its header, for handlers that splice constant parts.
export function encodeEntries(m: CborMap): string {
  return encodeItem(m, 1).substr(head(5, Object.keys(m).length).length);
}

// Throws a CodecFailure for a value outside the subset: the encoder's input is the firmware's own
// output, so a failure is a programming error that the dispatcher turns into STATUS_INTERNAL.
export function encode(v: CborValue): string {
  return encodeItem(v, 1);
}
