import { createCipheriv, createDecipheriv, createHash, pbkdf2Sync, randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import { cfb8, expandDecryptKey, expandEncryptKey, forwardBlock, inverseBlock } from "../src/runtime/aes.ts";
import { loadProfile } from "../src/profiles.ts";
import { VirtualBoard } from "../src/virtual-board.ts";

// Quirks: /work/shared/espruino-facts.md §3, and libs/crypto/jswrap_crypto.c in espruino/Espruino
// (decrypt loads mbedtls_aes_setkey_dec, then CTR/CFB8 run the forward cipher with it).
const hex = (s: string) => Buffer.from(s, "hex");

function board(id = "nrf52840"): VirtualBoard {
  const b = new VirtualBoard({ board: id });
  b.powerOn();
  b.takeOutput();
  return b;
}
/** Evaluates firmware code that returns bytes; returns them as hex ("undefined" if none). */
function hexOf(b: VirtualBoard, expr: string): string {
  const r = b.evaluate(`(function(){var c=require("crypto");var x=${expr};return x===undefined?"undefined":E.toString(x).split("").map(function(ch){return ("0"+ch.charCodeAt(0).toString(16)).substr(-2)}).join("")})()`);
  if (!r.ok) throw r.error;
  return r.value as string;
}
const js = (bytes: Buffer) => `[${[...bytes].join(",")}]`;

describe("AES core vs node:crypto", () => {
  it("FIPS-197 C.1 vector and random blocks for 128/192/256-bit keys, both schedules", () => {
    const k = hex("000102030405060708090a0b0c0d0e0f");
    expect(Buffer.from(forwardBlock(expandEncryptKey(k), hex("00112233445566778899aabbccddeeff"))).toString("hex")).toBe("69c4e0d86a7b0430d8cdb78070b4c55a");
    for (const n of [16, 24, 32]) {
      const key = randomBytes(n), block = randomBytes(16);
      const c = createCipheriv(`aes-${n * 8}-ecb`, key, null).setAutoPadding(false).update(block);
      expect(Buffer.from(forwardBlock(expandEncryptKey(key), block))).toEqual(c);
      expect(Buffer.from(inverseBlock(expandDecryptKey(key), c))).toEqual(block);
    }
  });
});

describe('require("crypto") on the nrf52840 profile', () => {
  const b = board();

  it("SHA1/SHA256 return ArrayBuffers matching FIPS 180 and node:crypto; a number hashes as one byte", () => {
    expect(b.evaluate('require("crypto").SHA256("") instanceof ArrayBuffer')).toEqual({ ok: true, value: true });
    expect(hexOf(b, 'c.SHA256("")')).toBe("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    expect(hexOf(b, 'c.SHA1("abc")')).toBe("a9993e364706816aba3e25717850c26c9cd0d89d");
    expect(hexOf(b, "c.SHA256(97)")).toBe(createHash("sha256").update("a").digest("hex"));
    expect(hexOf(b, "c.SHA256(new Uint8Array([1,2,3]).buffer)")).toBe(createHash("sha256").update(Buffer.from([1, 2, 3])).digest("hex"));
    expect(b.evaluate('typeof require("crypto").SHA512 + typeof require("crypto").PBKDF2')).toEqual({ ok: true, value: "undefinedundefined" });
  });

  it("CBC (default) matches NIST SP 800-38A F.2.1 and round-trips", () => {
    const key = "2b7e151628aed2a6abf7158809cf4f3c", iv = "000102030405060708090a0b0c0d0e0f";
    const ct = hexOf(b, `c.AES.encrypt(${js(hex("6bc1bee22e409f96e93d7e117393172a"))}, ${js(hex(key))}, {iv:${js(hex(iv))}})`);
    expect(ct).toBe("7649abac8119b246cee98e9b12e9197d");
    expect(hexOf(b, `c.AES.decrypt(${js(hex(ct))}, ${js(hex(key))}, {iv:${js(hex(iv))}})`)).toBe("6bc1bee22e409f96e93d7e117393172a");
  });

  it("CBC does not pad: a partial block prints ERROR: Invalid input length and returns undefined", () => {
    b.takeOutput();
    expect(hexOf(b, `c.AES.encrypt("12345", ${js(Buffer.alloc(16))})`)).toBe("undefined");
    expect(b.takeOutput()).toBe("ERROR: Invalid input length\r\n");
  });

  it("a short iv is zero-padded", () => {
    const key = randomBytes(16), pt = randomBytes(32);
    const node = createCipheriv("aes-128-cbc", key, Buffer.concat([Buffer.from([1, 2]), Buffer.alloc(14)])).setAutoPadding(false).update(pt);
    expect(hexOf(b, `c.AES.encrypt(${js(pt)}, ${js(key)}, {iv:[1,2]})`)).toBe(node.toString("hex"));
  });

  it("ECB leaves a trailing partial block as zeros", () => {
    const key = randomBytes(16), pt = randomBytes(20);
    const first = createCipheriv("aes-128-ecb", key, null).setAutoPadding(false).update(pt.subarray(0, 16));
    expect(hexOf(b, `c.AES.encrypt(${js(pt)}, ${js(key)}, {mode:"ECB"})`)).toBe(first.toString("hex") + "00000000");
  });

  it("CTR ignores the iv (counter from 0) and equals node aes-ctr with a zero IV (40 B, multi-block)", () => {
    const key = randomBytes(32), pt = randomBytes(40);
    const node = createCipheriv("aes-256-ctr", key, Buffer.alloc(16)).update(pt);
    expect(hexOf(b, `c.AES.encrypt(${js(pt)}, ${js(key)}, {mode:"CTR", iv:[9,9,9,9]})`)).toBe(node.toString("hex"));
  });

  it("CTR decrypt is wrong (forward rounds with the decryption key schedule); encrypting again decrypts", () => {
    const key = randomBytes(16), pt = randomBytes(40);
    const ct = createCipheriv("aes-128-ctr", key, Buffer.alloc(16)).update(pt);
    const wrong = hex(hexOf(b, `c.AES.decrypt(${js(ct)}, ${js(key)}, {mode:"CTR"})`));
    expect(wrong.equals(pt)).toBe(false);
    // the exact wrong bytes: keystream block i = forward cipher(counter i) under mbedtls_aes_setkey_dec's schedule
    const dk = expandDecryptKey(key);
    const ks = Buffer.concat([0, 1, 2].map((i) => { const ctr = Buffer.alloc(16); ctr[15] = i; return Buffer.from(forwardBlock(dk, ctr)); }));
    expect(wrong).toEqual(Buffer.from(ct.map((x, i) => x ^ ks[i]!)));
    expect(hexOf(b, `c.AES.encrypt(${js(ct)}, ${js(key)}, {mode:"CTR"})`)).toBe(pt.toString("hex"));
  });

  it("CFB is CFB8 (encrypt matches node aes-128-cfb8); decrypt is wrong like CTR", () => {
    const key = randomBytes(16), iv = randomBytes(16), pt = randomBytes(23);
    const node = createCipheriv("aes-128-cfb8", key, iv).update(pt);
    expect(hexOf(b, `c.AES.encrypt(${js(pt)}, ${js(key)}, {mode:"CFB", iv:${js(iv)}})`)).toBe(node.toString("hex"));
    expect(createDecipheriv("aes-128-cfb8", key, iv).update(node)).toEqual(pt);
    // decrypt takes the same wrong path as CTR (source, not measured): forward rounds, decryption keys
    const wrong = hex(hexOf(b, `c.AES.decrypt(${js(node)}, ${js(key)}, {mode:"CFB", iv:${js(iv)}})`));
    expect(wrong.equals(pt)).toBe(false);
    expect(wrong).toEqual(Buffer.from(cfb8(expandDecryptKey(key), iv, node, true)));
  });

  it("OFB prints ERROR: Feature unavailable; an unknown mode throws; a bad key length prints mbed TLS's code", () => {
    b.takeOutput();
    expect(hexOf(b, `c.AES.encrypt(${js(Buffer.alloc(16))}, ${js(Buffer.alloc(16))}, {mode:"OFB"})`)).toBe("undefined");
    expect(b.takeOutput()).toBe("ERROR: Feature unavailable\r\n");
    const r = b.evaluate(`require("crypto").AES.encrypt("x", "k", {mode:"XTS"})`);
    expect(r.ok).toBe(false);
    expect(String((r as { error: unknown }).error)).toBe('Error: Unknown Crypto mode "XTS"');
    expect(hexOf(b, `c.AES.encrypt(${js(Buffer.alloc(16))}, [1,2,3])`)).toBe("undefined");
    expect(b.takeOutput()).toBe("ERROR: Unknown error: -0x20\r\n");
  });
});

describe("crypto per profile", () => {
  it("Pico has PBKDF2 with defaults keySize 4 words, 1 iteration, SHA1 (RFC 6070 vector 1)", () => {
    const b = board("pico");
    // RFC 6070: P="password", S="salt", c=1, dkLen=20 → 0c60c80f961f0e71f3a9b524af6012062fe037a6
    expect(hexOf(b, 'c.PBKDF2("password","salt",{keySize:5})')).toBe("0c60c80f961f0e71f3a9b524af6012062fe037a6");
    expect(hexOf(b, 'c.PBKDF2("password","salt")')).toBe("0c60c80f961f0e71f3a9b524af601206");
    expect(hexOf(b, 'c.PBKDF2("password","salt",{keySize:8,iterations:2,hasher:"SHA256"})'))
      .toBe(pbkdf2Sync("password", "salt", 2, 32, "sha256").toString("hex"));
  });

  it("a profile without crypto has no crypto module (Espruino's module-not-found error)", () => {
    const p = structuredClone(loadProfile("nrf52840"));
    p.crypto = { sha1: false, sha256: false, sha512: false, aes: false, aesCcm: false, pbkdf2: false };
    const b = new VirtualBoard({ board: p });
    b.powerOn();
    const r = b.evaluate('require("crypto")');
    expect(r.ok).toBe(false);
    expect(String((r as { error: unknown }).error)).toBe('Error: Module "crypto" not found');
  });
});

