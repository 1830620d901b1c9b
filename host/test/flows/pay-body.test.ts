// PAY's request body as the host builds it (host/src/flows/pay.ts payBody) against
// firmware/vectors/online-pin.json payBody, which the firmware's reader is checked against too
// (firmware/test/applets/read-pay.test.ts): byte for byte, with field 0 (a carrier with a screen:
// the merchant's name and the verdict's format 2 MAC) and without (LED-only: format 1).
import { describe, expect, it } from "vitest";
import { readFileSync } from "node:fs";
import { encodeCbor } from "../../src/codec.ts";
import { payBody } from "../../src/flows/pay.ts";
import { Platform } from "../../src/platform/service.ts";
import { screenName, unshowableCharacters } from "../../src/platform/merchant-names.ts";
import { PinPurpose, verdictMac } from "../../src/platform/online-pin.ts";
import { TEST_PIN_OPTIONS } from "../../../firmware/test/applets/carrier-harness.ts";
import { pinBlockFor, setupOrder, enrolPin, TEST_PIN } from "../platform/helpers.ts";

const v = JSON.parse(readFileSync(new URL("../../../firmware/vectors/online-pin.json", import.meta.url), "utf8")) as {
  namedVerdict: { case: string; orderId: string; merchantId: string; amount: number; currency: string; verdict: number; triesLeft: number; merchantName: string; mac: string }[];
  payBody: { case: string; verdictCase: string; named: boolean; mac: string; body: string }[];
};
const hex = (b: Uint8Array) => Buffer.from(b).toString("hex");

describe("payBody against online-pin.json", () => {
  it.each(v.payBody.map((p) => [p.case, p]))("%s", (_, p) => {
    const n = v.namedVerdict.find((x) => x.case === p.verdictCase)!;
    const verdict = { verdict: n.verdict as 0, triesLeft: n.triesLeft, mac: p.named ? "00".repeat(16) : p.mac, screenName: n.merchantName, namedMac: p.named ? p.mac : "11".repeat(16) };
    const f = { orderId: n.orderId, merchantId: n.merchantId, amount: n.amount, currency: n.currency };
    expect(hex(encodeCbor(payBody(f, verdict, p.named)))).toBe(p.body);
  });

  it("a carrier with a screen, a verdict without a name (an older platform): a clear error, nothing sent", () => {
    expect(() => payBody({ orderId: "00", merchantId: "00000001", amount: 1, currency: "EUR" }, { verdict: 0, triesLeft: 3, mac: "00".repeat(16) }, true)).toThrow(/platform's verdict has none/);
  });
});

describe("the name a carrier's screen shows (merchant-names.ts screenName)", () => {
  const latin1 = (b: Uint8Array) => Buffer.from(b).toString("latin1");
  it("Latin-1 bytes, one per character, NFC first; whitespace collapsed", () => {
    expect(hex(screenName("Corner Café"))).toBe(hex(Buffer.from("Corner Café", "latin1")));
    expect(latin1(screenName("Cafe\u0301"))).toBe("Café"); // combining accent → é (NFC)
    expect(latin1(screenName("  Corner \t Café  "))).toBe("Corner Café");
  });
  it("longer than 42 bytes: cut to 41 + 0x85 (the font's \"…\"), visibly", () => {
    const b = screenName("The Very Long Name of a Merchant Who Sells Everything");
    expect(b.length).toBe(42);
    expect(b[41]).toBe(0x85);
    expect(latin1(b.subarray(0, 41))).toBe("The Very Long Name of a Merchant Who Sell");
    expect(screenName("x".repeat(42)).length).toBe(42);
    expect(screenName("x".repeat(42))[41]).toBe(0x78);
  });
  it("characters outside U+0020–U+007E/U+00A0–U+00FF are what registration refuses; an older name shows them as \"?\"", () => {
    expect(unshowableCharacters("Corner Café")).toEqual([]);
    expect(unshowableCharacters("東京 Café €")).toEqual(["東", "京", "€"]);
    expect(latin1(screenName("東京 Café"))).toBe("?? Café");
  });
});

describe("the platform's verdict carries both formats", () => {
  it("mac (format 1) and namedMac over the registered name (format 2); a registered name the screen cannot show is refused", async () => {
    const p = await Platform.open({ pin: TEST_PIN_OPTIONS });
    try {
      const { carrier, order } = setupOrder(p);
      enrolPin(p, carrier.carrierId);
      const { challenge, pinBlock } = pinBlockFor(p, carrier.carrierId, PinPurpose.PAY, order.orderId, TEST_PIN);
      const nonce = "ab".repeat(16);
      const r = p.verifyOrderPin({ orderId: order.orderId, carrierId: carrier.carrierId, challenge, pinBlock, sessionNonce: nonce, requestCounter: 3 });
      expect(r.screenName).toBe(hex(screenName(order.merchantName)));
      const f = {
        carrierId: Buffer.from(carrier.carrierId, "hex"), sessionNonce: Buffer.from(nonce, "hex"), requestCounter: 3, orderId: Buffer.from(order.orderId, "hex"),
        merchantId: Buffer.from(order.cryptogramFields.merchantId, "hex"), amount: order.amount, currency: order.currency, verdict: r.verdict, triesLeft: r.triesLeft,
      };
      const kac = p.carrierKeys(carrier.carrierId).cryptogramKey;
      expect(r.mac).toBe(hex(verdictMac(kac, f)));
      expect(r.namedMac).toBe(hex(verdictMac(kac, { ...f, merchantName: screenName(order.merchantName) })));
      expect(r.namedMac).not.toBe(r.mac);
      expect(() => p.registerMerchant({ name: "東京 Café" })).toThrow(/cannot show/);
    } finally {
      p.close();
    }
  });
});
