// fast-check generators of what a host (or a noisy line) can put on the USB link, each tagged with
// what the device must answer (PROTOCOL.md §3.3, §3.4, §8): a CRC-valid, well-framed request gets
// exactly one response with its seq; anything else gets none.
import fc from "fast-check";
import { frame, isWellFramedRequest, MAX_BODY, type FrameFields } from "./frames.ts";

/**
 * A frame the generator meant as a well-framed request, at byte `at` of its segment: its seq, and
 * when the answer is known, its status and body. Which frames the device must answer is decided
 * by the reference receiver (frames.ts referenceScan) over the whole stream, because neighbouring
 * segments can complete or swallow a frame by coincidence (a truncated frame followed by its
 * missing byte); these intentions check the answers and measure how often that happens.
 */
export interface Expectation { at: number; seq: number; status?: number; body?: string }

export interface Segment { strategy: StrategyName; bytes: string; expect: Expectation[] }

export const STRATEGIES = [
  "valid", "random-body", "cbor-body", "command-id", "other-version", "bad-header", "oversized",
  "corrupted", "truncated", "garbage", "magic-burst", "response-frame", "duplicate",
] as const;
export type StrategyName = (typeof STRATEGIES)[number];

const toStr = (b: Uint8Array): string => Buffer.from(b).toString("latin1");
const bytes = (min: number, max: number) => fc.uint8Array({ minLength: min, maxLength: max }).map(toStr);

/** RFC 8949 head with the shortest argument (n up to 2^64-1 given as a bigint-safe number below 2^53, or raw). */
export function cborHead(major: number, n: number): string {
  const m = major << 5;
  if (n < 24) return String.fromCharCode(m | n);
  if (n < 256) return String.fromCharCode(m | 24, n);
  if (n < 65536) return String.fromCharCode(m | 25, n >> 8, n & 255);
  if (n < 4294967296) return String.fromCharCode(m | 26, (n >>> 24) & 255, (n >>> 16) & 255, (n >>> 8) & 255, n & 255);
  const hi = Math.floor(n / 4294967296), lo = n >>> 0;
  return String.fromCharCode(m | 27, (hi >>> 24) & 255, (hi >>> 16) & 255, (hi >>> 8) & 255, hi & 255, (lo >>> 24) & 255, (lo >>> 16) & 255, (lo >>> 8) & 255, lo & 255);
}

// CBOR items in and around the canonical subset of PROTOCOL.md §5: floats, tags, undefined,
// indefinite lengths, non-canonical and lying lengths, unsorted and duplicate keys, deep nesting.
const { item: cborItem } = fc.letrec<{ item: string }>((tie) => ({
  item: fc.oneof(
    { depthSize: "small", withCrossShrink: true },
    fc.oneof(fc.integer({ min: 0, max: 23 }), fc.integer({ min: 0, max: 0xffffffff }), fc.maxSafeNat()).map((n) => cborHead(0, n)),
    fc.oneof(fc.integer({ min: 0, max: 23 }), fc.maxSafeNat()).map((n) => cborHead(1, n)),
    fc.tuple(fc.constantFrom(0x1b, 0x3b), bytes(8, 8)).map(([h, b]) => String.fromCharCode(h) + b), // may pass 2^53
    fc.tuple(fc.constantFrom(0, 1, 2, 3, 4, 5), fc.integer({ min: 0, max: 23 }), fc.constantFrom(24, 25, 26, 27)).map(([major, n, info]) =>
      String.fromCharCode((major << 5) | info) + "\x00".repeat([1, 2, 4, 8][info - 24]! - 1) + String.fromCharCode(n)), // non-canonical
    bytes(0, 40).map((s) => cborHead(2, s.length) + s),
    bytes(0, 40).map((s) => cborHead(3, s.length) + s),
    fc.tuple(fc.constantFrom(2, 3, 4, 5), fc.integer({ min: 24, max: 0xffffffff })).map(([major, n]) => cborHead(major, n)), // lying length
    fc.constantFrom("\xf4", "\xf5", "\xf6", "\xf7", "\xf8\x20", "\xf9\x3c\x00", "\xfa\x3f\x80\x00\x00", "\xfb\x3f\xf0\x00\x00\x00\x00\x00\x00", "\xff", "\xfc", "\x1c", "\x1f"),
    fc.tuple(fc.integer({ min: 0, max: 300 }), tie("item")).map(([t, i]) => cborHead(6, t) + i),
    fc.array(tie("item"), { maxLength: 5 }).map((xs) => cborHead(4, xs.length) + xs.join("")),
    fc.array(fc.tuple(fc.integer({ min: 0, max: 30 }), tie("item")), { maxLength: 5 }).map((kv) => cborHead(5, kv.length) + kv.map(([k, v]) => cborHead(0, k) + v).join("")),
    fc.array(fc.tuple(tie("item"), tie("item")), { maxLength: 3 }).map((kv) => cborHead(5, kv.length) + kv.map(([k, v]) => k + v).join("")),
    fc.tuple(fc.constantFrom(0x5f, 0x7f, 0x9f, 0xbf), fc.array(tie("item"), { maxLength: 3 })).map(([h, xs]) => String.fromCharCode(h) + xs.join("") + "\xff"),
    fc.tuple(fc.integer({ min: 1, max: 80 }), fc.constantFrom("\x81", "\xa1\x01")).map(([d, open]) => open.repeat(d) + "\x00"),
  ),
}));

/** A request body: canonical or not, well-formed or not, at most MAX_BODY bytes. */
const body = fc.oneof(
  bytes(0, MAX_BODY),
  cborItem.map((s) => s.slice(0, MAX_BODY)),
  cborItem.map((s) => ("\xa1\x01" + s).slice(0, MAX_BODY)), // PING-shaped with a strange value
  fc.integer({ min: 490, max: 507 }).map((n) => "\xa1\x01" + cborHead(2, n) + "p".repeat(n)), // around PING's 500-byte limit (body <= 512)
  fc.tuple(cborItem, bytes(1, 8)).map(([s, junk]) => (s + junk).slice(0, MAX_BODY)), // trailing bytes
  fc.constantFrom("", "\xa0", "\xa0\xa0", "\xa1", "\xa2\x02\x00\x01\x00", "\xa1\x01\x40"),
);
const seq = fc.integer({ min: 0, max: 255 });
const commandId = fc.oneof(fc.constantFrom(0, 1, 2, 3, 0x10, 0x7f, 0xf0, 0xff), fc.integer({ min: 0, max: 255 }));

// What the device owes a CRC-valid frame: one response to a well-framed request, UNSUPPORTED_VERSION
// (0x09) for a major other than 1 (PROTOCOL.md §4), nothing for anything else (§3.4).
const request = (f: FrameFields): Segment["expect"] =>
  isWellFramedRequest(f) ? [f.version === 1 ? { at: 0, seq: f.seq } : { at: 0, seq: f.seq, status: 9 }] : [];
const seg = (strategy: StrategyName, bytes: string, expect: Expectation[] = []): Segment => ({ strategy, bytes, expect });

/** A well-framed request whose answer is known: INFO, or PING echoing 0-500 bytes. */
const validRequest = fc.oneof(
  seq.map((s) => ({ f: { version: 1, type: 0, seq: s, code: 1, body: "\xa0" }, status: 0 as number, body: undefined as string | undefined })),
  fc.tuple(seq, bytes(0, 500)).map(([s, data]) => {
    const b = "\xa1\x01" + cborHead(2, data.length) + data;
    return { f: { version: 1, type: 0, seq: s, code: 2, body: b }, status: 0, body: b as string | undefined };
  }),
);
const anyWellFramed = fc.oneof(validRequest.map((v) => v.f), fc.record({ version: fc.constant(1), type: fc.constant(0), seq, code: commandId, body }));

export const strategies: Record<StrategyName, fc.Arbitrary<Segment>> = {
  "valid": validRequest.map((v) => seg("valid", frame(v.f), [{ at: 0, seq: v.f.seq, status: v.status, ...(v.body !== undefined ? { body: v.body } : {}) }])),
  "random-body": fc.record({ version: fc.constant(1), type: fc.constant(0), seq, code: fc.constantFrom(1, 2), body: bytes(0, MAX_BODY) }).map((f) => seg("random-body", frame(f), request(f))),
  "cbor-body": fc.record({ version: fc.constant(1), type: fc.constant(0), seq, code: fc.constantFrom(1, 2), body }).map((f) => seg("cbor-body", frame(f), request(f))),
  "command-id": fc.record({ version: fc.constant(1), type: fc.constant(0), seq, code: commandId, body }).map((f) => seg("command-id", frame(f), request(f))),
  "other-version": fc.record({ version: fc.integer({ min: 2, max: 127 }), type: fc.constant(0), seq, code: commandId, body }).map((f) =>
    seg("other-version", frame(f), request(f))),
  "bad-header": fc.record({ version: fc.constantFrom(0, 128, 200, 255), type: fc.integer({ min: 0, max: 255 }), seq, code: commandId, body }).chain((f) =>
    fc.constantFrom(f, { ...f, version: 1, type: Math.max(2, f.type) })).map((f) => seg("bad-header", frame(f))),
  "oversized": fc.tuple(fc.record({ version: fc.constant(1), type: fc.constant(0), seq, code: commandId, body: bytes(0, 600) }), fc.integer({ min: MAX_BODY + 1, max: 0xffff }))
    .map(([f, len]) => seg("oversized", frame(f, len))),
  "corrupted": fc.tuple(anyWellFramed, fc.nat(), fc.integer({ min: 1, max: 255 })).map(([f, at, x]) => {
    const b = frame(f);
    const i = at % b.length;
    return seg("corrupted", b.slice(0, i) + String.fromCharCode(b.charCodeAt(i) ^ x) + b.slice(i + 1));
  }),
  "truncated": fc.tuple(anyWellFramed, fc.nat()).map(([f, at]) => {
    const b = frame(f);
    return seg("truncated", b.slice(0, 1 + (at % (b.length - 1))));
  }),
  "garbage": bytes(1, 600).map((b) => seg("garbage", b)),
  "magic-burst": fc.array(fc.constantFrom("\xf5", "\x4b", "\xf5\x4b", "\xf5\x4b\x01\x00", "\x01", "\x00", "\x02", "\xff", "\r\n", "> "), { minLength: 1, maxLength: 40 })
    .map((xs) => seg("magic-burst", xs.join(""))),
  "response-frame": fc.record({ version: fc.constant(1), type: fc.constant(1), seq, code: fc.integer({ min: 0, max: 255 }), body }).map((f) => seg("response-frame", frame(f))),
  "duplicate": fc.tuple(validRequest, fc.integer({ min: 2, max: 3 })).map(([v, n]) => {
    const one = frame(v.f);
    const e = (k: number): Expectation => ({ at: k * one.length, seq: v.f.seq, status: v.status, ...(v.body !== undefined ? { body: v.body } : {}) });
    return seg("duplicate", one.repeat(n), Array.from({ length: n }, (_, k) => e(k)));
  }),
};

export interface Batch { segments: Segment[]; cuts: number[] }

/** Many inputs per delivery (so a million inputs run in minutes), split at random points or not at all. */
export function batchArbitrary(maxSegments = 40): fc.Arbitrary<Batch> {
  const segment = fc.oneof(...STRATEGIES.map((s) => strategies[s]));
  return fc.record({
    segments: fc.array(segment, { minLength: 1, maxLength: maxSegments, size: "max" }),
    cuts: fc.oneof(
      fc.constant([] as number[]),
      fc.array(fc.integer({ min: 1, max: 600 }), { minLength: 1, maxLength: 24 }),
      fc.array(fc.integer({ min: 1, max: 8 }), { minLength: 1, maxLength: 8 }),
    ),
  });
}

/**
 * Chunk sizes covering `length` bytes by repeating `cuts` (empty: one chunk). After `maxChunks`
 * chunks the rest arrives as one: each chunk is a board event, the costliest part of a fuzz input.
 */
export function chunkPlan(cuts: number[], length: number, maxChunks = 24): number[] {
  if (cuts.length === 0) return [];
  const plan: number[] = [];
  for (let total = 0, i = 0; total < length; i++) {
    const n = plan.length === maxChunks - 1 ? length - total : cuts[i % cuts.length]!;
    plan.push(n);
    total += n;
  }
  return plan;
}
