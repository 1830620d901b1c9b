// PAY's own reader (qr-payment.ts readPay) against the generic path it short-cuts: the canonical
// CBOR decoder plus PAY's field rules (PROTOCOL.md §5, §7.5). Every valid PAY must read to the same
// values; any other body must be refused by the reader (undefined: the dispatcher then decodes it
// and refuses it as before) — the reader may never accept a body the generic path would refuse.
import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { readPay } from "../../src/applets/qr-payment.ts";
import { decode, encode, isText, text, type CborMap } from "../../src/codec.ts";

const bytes = (min: number, max: number) => fc.uint8Array({ minLength: min, maxLength: max }).map((b) => Buffer.from(b).toString("latin1"));
const capitals = fc.array(fc.integer({ min: 65, max: 90 }), { minLength: 3, maxLength: 3 }).map((c) => String.fromCharCode(...c));
// amounts at and around every head-size boundary up to 2^53-1
const amount = fc.oneof(
  fc.integer({ min: 0, max: 30 }), fc.integer({ min: 250, max: 260 }), fc.integer({ min: 65530, max: 65540 }),
  fc.integer({ min: 4294967290, max: 4294967300 }), fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }),
  fc.constant(Number.MAX_SAFE_INTEGER),
);
const pay = fc.record({
  orderId: bytes(1, 16), merchantId: bytes(1, 16), amount, currency: capitals,
  verdict: fc.integer({ min: 0, max: 2 }), triesLeft: fc.oneof(fc.integer({ min: 0, max: 30 }), fc.integer({ min: 0, max: 255 })), mac: bytes(16, 16),
});

function body(p: { orderId: string; merchantId: string; amount: number; currency: string; verdict: number; triesLeft: number; mac: string }): string {
  const m: CborMap = { 1: p.orderId, 2: p.merchantId, 3: p.amount, 4: text(p.currency), 5: p.verdict, 6: p.triesLeft, 7: p.mac };
  return encode(m);
}

// PAY's rules on a decoded body, as the generic path applies them (field by field), else undefined.
function generic(b: string) {
  const d = decode(b);
  if (!d.ok || (b.charCodeAt(0) & 0xe0) !== 0xa0) return undefined;
  const m = d.value as CborMap;
  const keys = Object.keys(m).map(Number);
  if (keys.length !== 7 || keys.some((k, i) => k !== i + 1)) return undefined;
  const str = (v: unknown, min: number, max: number) => typeof v === "string" && v.length >= min && v.length <= max;
  const uint = (v: unknown, max: number) => typeof v === "number" && Number.isInteger(v) && v >= 0 && v <= max;
  const cur = m[4];
  if (!str(m[1], 1, 16) || !str(m[2], 1, 16) || !uint(m[3], Number.MAX_SAFE_INTEGER) || cur === null || cur === undefined || !isText(cur) ||
    !/^[A-Z]{3}$/.test(cur.tstr) || !uint(m[5], 2) || !uint(m[6], 255) || !str(m[7], 16, 16)) return undefined;
  return { orderId: m[1], merchantId: m[2], amount: m[3], currency: cur.tstr, verdict: m[5], triesLeft: m[6], mac: m[7], binding: "" };
}

describe("readPay, PAY's own reader", () => {
  it("reads every valid PAY to the values the generic decoder gives (amounts up to 2^53-1, tries up to 255)", () => {
    fc.assert(fc.property(pay, (p) => {
      const b = body(p);
      expect(readPay(b)).toEqual({ ...p, binding: "" });
      expect(readPay(b)).toEqual(generic(b));
    }), { numRuns: 1000 });
  });

  it("accepts nothing the generic path refuses: truncated, extended, altered and foreign bodies", () => {
    const mutated = fc.tuple(pay, fc.nat(), fc.integer({ min: 0, max: 255 }), fc.integer({ min: 0, max: 3 })).map(([p, at, byte, how]) => {
      const b = body(p);
      const i = at % b.length;
      return how === 0 ? b.substr(0, i) : how === 1 ? b + String.fromCharCode(byte) : how === 2 ? b.substr(0, i) + String.fromCharCode(byte) + b.substr(i + 1) : b.substr(0, i) + String.fromCharCode(byte) + b.substr(i);
    });
    fc.assert(fc.property(mutated, (b) => {
      const r = readPay(b);
      if (r !== undefined) expect(r).toEqual(generic(b));
    }), { numRuns: 3000 });
    fc.assert(fc.property(bytes(0, 80), (b) => {
      const r = readPay(b);
      if (r !== undefined) expect(r).toEqual(generic(b));
    }), { numRuns: 1000 });
  });

  it("refuses the non-canonical spellings the decoder refuses (a small amount or tries count in a longer head)", () => {
    const p = { orderId: "ORDER-1", merchantId: "\x00\x00\x00\x01", amount: 5, currency: "EUR", verdict: 0, triesLeft: 3, mac: "M".repeat(16) };
    const b = body(p);
    expect(readPay(b)).toEqual({ ...p, binding: "" });
    const at = b.indexOf("\x03\x05") + 1; // the amount 5 in its one-byte form
    expect(readPay(b.substr(0, at) + "\x18\x05" + b.substr(at + 1))).toBeUndefined();
    const t = b.indexOf("\x06\x03") + 1; // tries left 3
    expect(readPay(b.substr(0, t) + "\x18\x03" + b.substr(t + 1))).toBeUndefined();
    expect(readPay(b.substr(0, t) + "\x18\x30" + b.substr(t + 1))).toEqual({ ...p, triesLeft: 48, binding: "" });
  });
});
