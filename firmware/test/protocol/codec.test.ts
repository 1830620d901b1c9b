import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { Encoder } from "cbor-x";
import { decode, encode, text, MAX_DEPTH, MAX_ITEMS, type CborValue } from "../../src/codec.ts";
import { STATUS_BAD_CBOR, STATUS_OK, STATUS_TOO_LARGE } from "../../src/protocol.ts";
import { cborVectors, fromVector, hexToBytes, bytesToHex, toVector } from "./vectors.ts";

describe("codec against firmware/vectors/cbor.json", () => {
  it("vector file agrees with the codec's limits", () => {
    expect(cborVectors.limits).toEqual({ maxDepth: MAX_DEPTH, maxItems: MAX_ITEMS, maxBytes: 512 });
  });

  for (const v of cborVectors.valid) {
    it(`decodes and re-encodes ${v.hex.slice(0, 24)} (${v.from})`, () => {
      const r = decode(hexToBytes(v.hex));
      expect(r.status).toBe(STATUS_OK);
      if (!r.ok) return;
      expect(toVector(r.value)).toEqual(v.value);
      expect(bytesToHex(encode(fromVector(v.value)))).toBe(v.hex);
    });
  }

  for (const v of cborVectors.invalid) {
    it(`rejects ${v.hex.slice(0, 24) || "(empty)"}: ${v.why}`, () => {
      const r = decode(hexToBytes(v.hex));
      expect(r.status).toBe(v.status);
      if (!r.ok) expect(r.reason.length).toBeGreaterThan(0);
    });
  }
});

describe("codec limits and edges", () => {
  it("rejects input over 512 bytes before parsing", () => {
    const big = "\x59\x01\xfe" + "x".repeat(510); // a 513-byte, otherwise valid byte string item
    expect(decode(big).status).toBe(STATUS_TOO_LARGE);
    expect(decode(big.slice(0, 3) .replace("\xfe", "\xfd") + "x".repeat(509)).status).toBe(STATUS_OK);
  });

  it("byte strings come back as byte strings holding every byte value", () => {
    let all = "";
    for (let i = 0; i < 256; i++) all += String.fromCharCode(i);
    const r = decode(encode(all));
    expect(r).toEqual({ ok: true, status: STATUS_OK, value: all });
  });

  it("text and bytes with equal content stay distinct", () => {
    expect(bytesToHex(encode("a"))).toBe("4161");
    expect(bytesToHex(encode(text("a")))).toBe("6161");
  });

  it("encoder sorts map keys numerically whatever the insertion order", () => {
    const m: { [k: number]: CborValue } = {};
    m[24] = 1; m[2] = 2; m[10] = 3;
    expect(bytesToHex(encode(m))).toBe("a302020a031818" + "01");
  });

  it("encoder refuses values outside the subset", () => {
    expect(() => encode(1.5)).toThrow();
    expect(() => encode(2 ** 53)).toThrow();
    expect(() => encode([[[[[1]]]]])).toThrow();
  });

  it("a map with a declared count needing more bytes than remain fails before allocating", () => {
    expect(decode(hexToBytes("bb001fffffffffffff")).status).toBe(STATUS_BAD_CBOR);
  });

  it("round-trips random subset values and matches cbor-x canonical output (property, 300 runs)", () => {
    const cborx = new Encoder({ useRecords: false, variableMapSize: true, useTag259ForMaps: false, tagUint8Array: false } as ConstructorParameters<typeof Encoder>[0]);
    const scalar = fc.oneof(
      fc.integer({ min: -(2 ** 53 - 1), max: 2 ** 53 - 1 }).map((n) => n as CborValue),
      fc.integer({ min: -300, max: 70000 }).map((n) => n as CborValue),
      fc.uint8Array({ maxLength: 40 }).map((b) => Buffer.from(b).toString("latin1") as CborValue),
      fc.string({ maxLength: 10 }).map((s) => text(s.replace(/[^\x20-\x7e]/g, "")) as CborValue),
      fc.constantFrom<CborValue>(true, false, null),
    );
    const value = fc.letrec<{ v: CborValue }>((tie) => ({
      v: fc.oneof({ depthSize: "small", maxDepth: 2 }, scalar,
        fc.array(tie("v"), { maxLength: 4 }) as fc.Arbitrary<CborValue>,
        fc.dictionary(fc.integer({ min: 0, max: 300 }).map(String), tie("v"), { maxKeys: 4 }) as unknown as fc.Arbitrary<CborValue>),
    })).v;
    const toCborX = (v: CborValue): unknown => {
      if (typeof v === "string") return Uint8Array.from(Buffer.from(v, "latin1"));
      // cbor-x writes integers beyond 32 bits as float64 unless given a BigInt (host beware).
      if (typeof v === "number" && Math.abs(v) >= 2 ** 32) return BigInt(v);
      if (v === null || typeof v !== "object") return v;
      if (Array.isArray(v)) return v.map(toCborX);
      if ("tstr" in v) return (v as { tstr: string }).tstr;
      return new Map(Object.keys(v).map(Number).sort((a, b) => a - b).map((k) => [k, toCborX((v as Record<number, CborValue>)[k]!)]));
    };
    fc.assert(fc.property(value, (v) => {
      const bytes = encode(v);
      const back = decode(bytes);
      if (back.status === STATUS_TOO_LARGE) return; // item or depth limit; covered by vectors
      expect(back.status).toBe(STATUS_OK);
      if (!back.ok) return;
      expect(encode(back.value)).toBe(bytes);
      expect(bytesToHex(bytes)).toBe(Buffer.from(cborx.encode(toCborX(v))).toString("hex"));
    }), { numRuns: 300, seed: 0x5eed });
  });

  it("never throws on arbitrary bytes (fuzz, 2000 runs)", () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 80 }), (b) => {
      const r = decode(Buffer.from(b).toString("latin1"));
      expect([STATUS_OK, STATUS_BAD_CBOR, STATUS_TOO_LARGE]).toContain(r.status);
    }), { numRuns: 2000, seed: 42 });
  });
});

// decode() recognises {1: bstr} (every channel command body) by its canonical head instead of
// running the item reader; these pin that the shortcut accepts exactly what the reader accepts.
describe("{1: bstr} bodies (the channel commands' shortcut)", () => {
  const head = (n: number): string => (n < 24 ? String.fromCharCode(0x40 + n) : n < 256 ? "\x58" + String.fromCharCode(n) : "\x59" + String.fromCharCode(n >> 8, n & 255));
  const payload = (n: number): string => Array.from({ length: n }, (_, i) => String.fromCharCode((i * 7 + n) & 255)).join("");

  it("decodes {1: bstr} of every length 0-507 to the byte string, and agrees with cbor-x", () => {
    for (let n = 0; n <= 507; n++) {
      const body = "\xa1\x01" + head(n) + payload(n);
      expect(decode(body)).toEqual({ ok: true, status: STATUS_OK, value: { 1: payload(n) } });
      expect(body).toBe(Buffer.from(new Encoder({ mapsAsObjects: false }).encode(new Map([[1, Buffer.from(payload(n), "latin1")]]))).toString("latin1"));
    }
  });

  it("rejects the same body with a non-canonical length, a missing or an extra byte", () => {
    for (const n of [0, 5, 23, 24, 100, 255, 256, 300]) {
      const p = payload(n);
      const nonCanonical = { ok: false, status: STATUS_BAD_CBOR, reason: expect.stringMatching(/^non-canonical/) };
      if (n < 24) expect(decode("\xa1\x01\x58" + String.fromCharCode(n) + p)).toMatchObject(nonCanonical);
      if (n < 256) expect(decode("\xa1\x01\x59" + String.fromCharCode(0, n) + p)).toMatchObject(nonCanonical);
      expect(decode("\xa1\x01" + head(n) + p + "\x00")).toMatchObject({ ok: false, status: STATUS_BAD_CBOR, reason: "1 trailing bytes" });
      if (n > 0) expect(decode("\xa1\x01" + head(n) + p.slice(1))).toMatchObject({ ok: false, status: STATUS_BAD_CBOR });
    }
    expect(decode("\xa1\x02\x41z")).toEqual({ ok: true, status: STATUS_OK, value: { 2: "z" } });
    expect(decode("\xa1\x01\x61z")).toEqual({ ok: true, status: STATUS_OK, value: { 1: text("z") } });
    for (const cut of ["\xa1", "\xa1\x01", "\xa1\x01\x58", "\xa1\x01\x59\x01"]) expect(decode(cut)).toMatchObject({ ok: false, status: STATUS_BAD_CBOR });
  });
});
