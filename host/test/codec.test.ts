import { describe, it, expect } from "vitest";
import { readFileSync } from "node:fs";
import { encodeCbor, decodeCbor, CborError, CBOR_BAD, CBOR_TOO_LARGE, type CborValue } from "../src/codec.ts";

// Shared with the firmware tests; source and provenance are stated inside the file (RFC 8949 App. A + PROTOCOL.md §5).
const vectors = JSON.parse(readFileSync(new URL("../../firmware/vectors/cbor.json", import.meta.url), "utf8")) as {
  valid: { hex: string; value: unknown; note?: string }[];
  invalid: { hex: string; why: string; status: number }[];
};

type J = number | boolean | null | J[] | { bytes: string } | { text: string } | { map: [number, J][] };
/** The vectors' JSON value notation → host codec values. */
function fromJ(v: J): CborValue {
  if (v === null || typeof v === "number" || typeof v === "boolean") return v;
  if (Array.isArray(v)) return v.map(fromJ);
  if ("bytes" in v) return Uint8Array.from(Buffer.from(v.bytes, "hex"));
  if ("text" in v) return v.text;
  return new Map(v.map.map(([k, x]) => [k, fromJ(x)]));
}
const hex = (b: Uint8Array): string => Buffer.from(b).toString("hex");
const unhex = (h: string): Uint8Array => Uint8Array.from(Buffer.from(h, "hex"));

describe("codec vs firmware/vectors/cbor.json", () => {
  it("has vectors to check", () => {
    expect(vectors.valid.length).toBeGreaterThan(30);
    expect(vectors.invalid.length).toBeGreaterThan(30);
  });
  for (const v of vectors.valid) {
    it(`valid ${v.hex.slice(0, 24)}${v.hex.length > 24 ? "…" : ""} decodes to the value and re-encodes byte for byte`, () => {
      const expected = fromJ(v.value as J);
      expect(decodeCbor(unhex(v.hex))).toEqual(expected);
      expect(hex(encodeCbor(expected))).toBe(v.hex);
    });
  }
  for (const v of vectors.invalid) {
    it(`invalid "${v.why}" is refused with status ${v.status}`, () => {
      let err: unknown;
      try {
        decodeCbor(unhex(v.hex));
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(CborError);
      expect((err as CborError).status).toBe(v.status);
    });
  }
});

describe("encoder canonicalisation", () => {
  it("sorts map keys that were inserted out of order", () => {
    expect(hex(encodeCbor(new Map<number, CborValue>([[24, null], [0, 1], [23, 2]])))).toBe("a3000117021818f6");
  });
  it("writes integers beyond 32 bits as integers, not cbor-x's float64", () => {
    expect(hex(encodeCbor(2 ** 40))).toBe("1b0000010000000000");
    expect(hex(encodeCbor(-(2 ** 40)))).toBe("3b000000ffffffffff");
    expect(hex(encodeCbor(-(2 ** 32)))).toBe("3affffffff");
    expect(hex(encodeCbor(-(2 ** 32) - 1))).toBe("3b0000000100000000");
  });
  it("refuses floats, out-of-range integers, bad keys and foreign objects", () => {
    expect(() => encodeCbor(1.5)).toThrow(/no floats/);
    expect(() => encodeCbor(2 ** 53)).toThrow(/2\^53/);
    expect(() => encodeCbor(new Map([[-1, 0]]))).toThrow(/unsigned/);
    expect(() => encodeCbor({ a: 1 } as unknown as CborValue)).toThrow(/Map<number/);
    expect(() => encodeCbor(undefined as unknown as CborValue)).toThrow(CborError);
  });
  it("enforces depth, item and size limits with TOO_LARGE", () => {
    const tooDeep: CborValue = [[[[[]]]]];
    expect(() => encodeCbor(tooDeep)).toThrow(expect.objectContaining({ status: CBOR_TOO_LARGE }));
    expect(() => encodeCbor(new Array<CborValue>(64).fill(0))).toThrow(expect.objectContaining({ status: CBOR_TOO_LARGE }));
    expect(encodeCbor(new Array<CborValue>(63).fill(0)).length).toBe(65);
    expect(() => encodeCbor(new Uint8Array(600))).toThrow(expect.objectContaining({ status: CBOR_TOO_LARGE }));
  });
  it("rejects invalid UTF-8 in text strings", () => {
    expect(() => decodeCbor(unhex("62c328"))).toThrow(expect.objectContaining({ status: CBOR_BAD }));
  });
  it("round-trips random subset values (property check)", async () => {
    const fc = await import("fast-check");
    const leaf = fc.oneof(
      fc.integer({ min: -(2 ** 53) + 1, max: 2 ** 53 - 1 }).map((n): CborValue => n),
      fc.boolean().map((b): CborValue => b),
      fc.constant<CborValue>(null),
      fc.string({ maxLength: 8 }).map((s): CborValue => s),
      fc.uint8Array({ maxLength: 8 }).map((b): CborValue => b),
    );
    const value = fc.letrec<{ v: CborValue }>((tie) => ({
      v: fc.oneof(
        { depthSize: "small", maxDepth: 3 },
        leaf,
        fc.array(tie("v"), { maxLength: 3 }),
        fc.uniqueArray(fc.tuple(fc.nat(30), tie("v")), { maxLength: 3, selector: (t) => t[0] }).map((pairs): CborValue => new Map(pairs)),
      ),
    })).v;
    fc.assert(
      fc.property(value, (v) => {
        let bytes: Uint8Array;
        try {
          bytes = encodeCbor(v);
        } catch (e) {
          // Only the limits may refuse a subset value.
          return e instanceof CborError && e.status === CBOR_TOO_LARGE;
        }
        const back = decodeCbor(bytes);
        expect(hex(encodeCbor(back))).toBe(hex(bytes));
        return true;
      }),
      { numRuns: 300 },
    );
  });
});
