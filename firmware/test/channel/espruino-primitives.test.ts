// createEspruinoPrimitives against a stand-in for Espruino's crypto module and E: results pass
// through E.toString, and a native failure (facts §3: "ERROR: ..." printed, undefined returned)
// becomes an exception instead of an empty string that would silently act as a hash or a key.
import { describe, expect, it } from "vitest";
import { createHash } from "node:crypto";
import { createEspruinoPrimitives, type EspruinoCryptoModule, type EspruinoE } from "../../src/crypto/espruino.ts";

const e: EspruinoE = {
  toString: (data: ArrayBuffer) => Buffer.from(new Uint8Array(data)).toString("latin1"),
  hwRand: () => 0x01020304,
};
const buffer = (b: Buffer): ArrayBuffer => Uint8Array.from(b).buffer;

function module(fails: boolean): EspruinoCryptoModule {
  return {
    SHA256: (m: string) => (fails ? undefined : buffer(createHash("sha256").update(Buffer.from(m, "latin1")).digest())),
    AES: { encrypt: (m: string, _k: string, o: { mode: string }) => (fails ? undefined : buffer(Buffer.from(o.mode + ":" + m, "latin1"))) },
  };
}

describe("createEspruinoPrimitives", () => {
  it("returns the native results as byte strings", () => {
    const p = createEspruinoPrimitives(module(false), e);
    expect(Buffer.from(p.sha256("abc"), "latin1").toString("hex")).toBe(createHash("sha256").update("abc").digest("hex"));
    expect(p.aesEcb("k".repeat(16), "x")).toBe("ECB:x");
    expect(p.aesCtr0("k".repeat(16), "y")).toBe("CTR:y");
    // 16 bytes per step, four hwRand() words in the board's (little-endian) order
    expect(p.random(6)).toBe("\x04\x03\x02\x01\x04\x03");
    expect(p.random(20)).toBe("\x04\x03\x02\x01".repeat(5));
  });

  it("throws, naming the call, when a native call fails instead of returning an empty string", () => {
    const p = createEspruinoPrimitives(module(true), e);
    expect(() => p.sha256("abc")).toThrow("SHA256 failed natively");
    expect(() => p.aesEcb("k".repeat(16), "x")).toThrow("AES-ECB failed natively");
    expect(() => p.aesCtr0("k".repeat(16), "y")).toThrow("AES-CTR failed natively");
  });

  it("accepts an empty result (an empty ArrayBuffer is truthy, on Espruino as in JS)", () => {
    const p = createEspruinoPrimitives({ SHA256: () => new ArrayBuffer(0), AES: { encrypt: () => new ArrayBuffer(0) } }, e);
    expect(p.aesCtr0("k".repeat(16), "")).toBe("");
  });
});
