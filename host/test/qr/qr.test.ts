import { describe, it, expect } from "vitest";
import { PNG } from "pngjs";
import jpeg from "jpeg-js";
import {
  encodeBase45, decodeBase45, Base45Error, parseAmount, formatAmount, AmountError,
  signPaymentCode, parsePaymentCode, verifyPaymentCode, paymentCodeText, PaymentCodeError, CODE_BYTES,
  renderQrPng, renderQrTerminal, decodeQrImage, QrImageError, type PaymentCodeFields,
} from "../../src/qr/index.ts";

const text = (s: string) => new TextEncoder().encode(s);
const str = (b: Uint8Array) => new TextDecoder().decode(b);

describe("base45 (RFC 9285)", () => {
  // Vectors: RFC 9285 §4.3 (encoding examples) and §4.4 (decoding example).
  it.each([["AB", "BB8"], ["Hello!!", "%69 VD92EX0"], ["base-45", "UJCLQE7W581"], ["ietf!", "QED8WEX0"]])("%s ↔ %s", (plain, encoded) => {
    expect(encodeBase45(text(plain))).toBe(encoded);
    expect(str(decodeBase45(encoded))).toBe(plain);
  });
  it("rejects impossible lengths, foreign characters and out-of-range groups", () => {
    expect(() => decodeBase45("BB8B")).toThrow(/length mod 3 is 1/);
    expect(() => decodeBase45("bb8")).toThrow(Base45Error);
    expect(() => decodeBase45("GGW")).toThrow(/over 65535/); // 16+16*45+32*2025 = 65536
    expect(() => decodeBase45("::")).toThrow(/over 255/);
  });
  it("round-trips every length 0…40 of arbitrary bytes", () => {
    for (let n = 0; n <= 40; n++) {
      const b = crypto.getRandomValues(new Uint8Array(n));
      expect(decodeBase45(encodeBase45(b))).toEqual(b);
    }
  });
});

describe("amounts and currencies", () => {
  it("parses decimal text exactly into minor units per ISO 4217 exponent", () => {
    expect(parseAmount("12.34", "EUR")).toBe(1234);
    expect(parseAmount("0.1", "EUR")).toBe(10);
    expect(parseAmount("1500", "JPY")).toBe(1500);
    expect(parseAmount("1.234", "KWD")).toBe(1234);
    expect(formatAmount(1234, "EUR")).toBe("12.34 EUR");
    expect(formatAmount(5, "EUR")).toBe("0.05 EUR");
    expect(formatAmount(1500, "JPY")).toBe("1500 JPY");
  });
  it("refuses too many decimals, zero, junk and unknown currencies", () => {
    expect(() => parseAmount("1.234", "EUR")).toThrow(/3 decimals but EUR has 2/);
    expect(() => parseAmount("1.5", "JPY")).toThrow(AmountError);
    expect(() => parseAmount("0", "EUR")).toThrow(/positive/);
    expect(() => parseAmount("1e3", "EUR")).toThrow(/not a decimal/);
    expect(() => parseAmount("1", "XYZ")).toThrow(/not a current ISO 4217/);
    expect(() => parseAmount("1", "eur")).toThrow(/three capital letters/);
  });
});

const qrKey = Uint8Array.from({ length: 32 }, (_, i) => i); // fixed test key 00 01 … 1f
const fields: PaymentCodeFields = {
  merchantId: 7,
  orderRef: Uint8Array.from([1, 2, 3, 4, 5, 6, 7, 8]),
  amount: 1234,
  currency: "EUR",
  expiresAt: 1_900_000_000,
  nonce: Uint8Array.from([0xa0, 0xa1, 0xa2, 0xa3, 0xa4, 0xa5, 0xa6, 0xa7]),
};
const keys = (id: number) => (id === 7 ? qrKey : undefined);
const NOW = 1_800_000_000;

function reason(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    if (e instanceof PaymentCodeError) return e.reason;
    throw e;
  }
  return "accepted";
}

describe("merchant payment code", () => {
  it("has the documented 48-byte layout (the docs/PLATFORM.md example)", () => {
    const code = signPaymentCode(fields, qrKey);
    expect(code.length).toBe(CODE_BYTES);
    const hex = Buffer.from(code).toString("hex");
    // magic KQ, v1, merchant 7, order ref, amount 1234 (u48), "EUR", expiry, nonce — then the MAC
    expect(hex.slice(0, 72)).toBe("4b5101" + "00000007" + "0102030405060708" + "0000000004d2" + "455552" + "713fb300" + "a0a1a2a3a4a5a6a7");
    expect(paymentCodeText(code).length).toBe(72);
  });
  it("round-trips through text and verifies", () => {
    const t = paymentCodeText(signPaymentCode(fields, qrKey));
    const back = verifyPaymentCode(t, keys, NOW);
    expect(back).toMatchObject({ merchantId: 7, amount: 1234, currency: "EUR", expiresAt: 1_900_000_000 });
    expect(back.orderRef).toEqual(fields.orderRef);
    expect(back.nonce).toEqual(fields.nonce);
  });
  it("rejects an expired code", () => {
    const code = signPaymentCode(fields, qrKey);
    expect(reason(() => verifyPaymentCode(code, keys, fields.expiresAt))).toBe("expired");
    expect(reason(() => verifyPaymentCode(code, keys, fields.expiresAt - 1))).toBe("accepted");
  });
  it("rejects any single bit flip in the signed part or the tag as forged", () => {
    const code = signPaymentCode(fields, qrKey);
    for (let byte = 3; byte < CODE_BYTES; byte++) {
      if (byte >= 3 && byte < 7) continue; // merchant id bytes: a flip usually names an unknown merchant (below)
      const bad = code.slice();
      bad[byte]! ^= 1 << (byte % 8);
      expect(reason(() => verifyPaymentCode(bad, keys, NOW)), `byte ${byte}`).toBe("forged");
    }
  });
  it("rejects a code signed with another key as forged, and an unknown merchant as not ours", () => {
    const other = signPaymentCode(fields, new Uint8Array(32).fill(9));
    expect(reason(() => verifyPaymentCode(other, keys, NOW))).toBe("forged");
    expect(reason(() => verifyPaymentCode(signPaymentCode({ ...fields, merchantId: 8 }, qrKey), keys, NOW))).toBe("unknown-merchant");
  });
  it("rejects truncated bytes and truncated text", () => {
    const code = signPaymentCode(fields, qrKey);
    for (const n of [0, 1, 2, 3, 20, 47]) expect(reason(() => verifyPaymentCode(code.subarray(0, n), keys, NOW)), `${n} bytes`).toBe("truncated");
    const t = paymentCodeText(code);
    expect(reason(() => verifyPaymentCode(t.slice(0, 70), keys, NOW))).toBe("truncated");
    for (let n = 0; n < 72; n++) expect(reason(() => verifyPaymentCode(t.slice(0, n), keys, NOW)), `${n} characters`).toBe("truncated");
    expect(reason(() => verifyPaymentCode(Uint8Array.from([...code, 0]), keys, NOW))).toBe("malformed");
  });
  it("rejects codes that are not ours: other magic, other version, other text", () => {
    const code = signPaymentCode(fields, qrKey);
    const magic = code.slice();
    magic[0] = 0x4c;
    expect(reason(() => verifyPaymentCode(magic, keys, NOW))).toBe("not-ours");
    const version = code.slice();
    version[2] = 2;
    expect(reason(() => verifyPaymentCode(version, keys, NOW))).toBe("unsupported-version");
    expect(reason(() => verifyPaymentCode("https://example.com/pay", keys, NOW))).toBe("not-ours");
    expect(reason(() => verifyPaymentCode(encodeBase45(text("WIFI:S:cafe;;")), keys, NOW))).toBe("not-ours");
  });
  it("parsePaymentCode reads fields without a key, but the tag is only checked by verify", () => {
    const code = signPaymentCode(fields, qrKey);
    code[16]! ^= 0xff; // amount altered
    expect(parsePaymentCode(code).amount).not.toBe(1234);
    expect(reason(() => verifyPaymentCode(code, keys, NOW))).toBe("forged");
  });
  it("refuses to sign invalid fields", () => {
    expect(() => signPaymentCode({ ...fields, amount: 0 }, qrKey)).toThrow(/positive/);
    expect(() => signPaymentCode({ ...fields, nonce: new Uint8Array(4) }, qrKey)).toThrow(/nonce must be 8 bytes/);
    expect(() => signPaymentCode({ ...fields, currency: "ABC" }, qrKey)).toThrow(/ISO 4217/);
    expect(() => signPaymentCode(fields, new Uint8Array(16))).toThrow(/QR key must be 32 bytes/);
  });
});

describe("QR images", () => {
  const codeText = paymentCodeText(signPaymentCode(fields, qrKey));

  it("PNG render → decode gives back the same code, which verifies", async () => {
    const png = await renderQrPng(codeText);
    expect([...png.subarray(0, 4)]).toEqual([0x89, 0x50, 0x4e, 0x47]);
    const decoded = decodeQrImage(png);
    expect(decoded).toBe(codeText);
    expect(verifyPaymentCode(decoded, keys, NOW).amount).toBe(1234);
  });
  it("JPEG (lossy, quality 60) of the rendered code decodes to the same code", async () => {
    const png = PNG.sync.read(await renderQrPng(codeText, { scale: 5 }));
    const jpg = jpeg.encode({ width: png.width, height: png.height, data: png.data }, 60).data;
    expect([...jpg.subarray(0, 3)]).toEqual([0xff, 0xd8, 0xff]);
    expect(decodeQrImage(jpg)).toBe(codeText);
  });
  it("terminal rendering draws the code with block characters", async () => {
    const t = await renderQrTerminal(codeText);
    expect(t).toMatch(/[▀▄█]/);
    expect(t.split("\n").length).toBeGreaterThan(15);
  });
  it("says why an image cannot be read", async () => {
    expect(() => decodeQrImage(text("GIF89a......"))).toThrow(/neither PNG nor JPEG/);
    const blank = new PNG({ width: 64, height: 64 });
    blank.data.fill(255);
    expect(() => decodeQrImage(PNG.sync.write(blank))).toThrow(QrImageError);
    expect(() => decodeQrImage(PNG.sync.write(blank))).toThrow(/no QR code found/);
  });
});
