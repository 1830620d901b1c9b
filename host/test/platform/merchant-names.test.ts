// The merchant-name skeleton (host/src/platform/merchant-names.ts): names a person could take for
// each other share it; distinct names do not. And the platform refuses the second one.
import { describe, expect, it } from "vitest";
import { confusableWith, merchantNameSkeleton } from "../../src/platform/merchant-names.ts";
import { Platform, PlatformError } from "../../src/platform/service.ts";
import { TEST_PIN_OPTIONS } from "../../../firmware/test/applets/carrier-harness.ts";

describe("merchant name skeleton", () => {
  it.each([
    ["Corner Café", "corner cafe"], ["Corner Café", "CORNER CAFÉ"], ["Corner Café", "Corner-Cafe"],
    ["PayPal", "Р\u0430yР\u0430l"], // Cyrillic Р and а
    ["PayPal", "PayPaI"], ["PayPal", "Paypa1"], ["Amazon", "Arnazon"], ["Google", "G00gle"],
    ["Hotel", "\u0397otel"], // Greek capital eta
    ["Straße", "STRASSE"], ["ＡＢＣ Shop", "ABC shop"], ["ﬁsh market", "fish market"], ["Café", "Cafe\u0301"],
    ["Town Hall", "Town Ha||"], ["Wave", "VVave"],
  ])("%s ≈ %s", (a, b) => {
    expect(merchantNameSkeleton(a)).toBe(merchantNameSkeleton(b));
  });

  it.each([["Corner Café", "Corner Bar"], ["Shop A", "Shop B"], ["Bäcker Ost", "Bäcker West"], ["Σκιά", "Ψυχή"]])("%s ≠ %s", (a, b) => {
    expect(merchantNameSkeleton(a)).not.toBe(merchantNameSkeleton(b));
  });

  it("confusableWith names the existing merchant", () => {
    expect(confusableWith("Shop \u0410", [{ id: 1, name: "Shop B" }, { id: 2, name: "Shop A" }])).toEqual({ id: 2, name: "Shop A" });
    expect(confusableWith("Shop C", [{ id: 2, name: "Shop A" }])).toBeUndefined();
  });
});

describe("Platform.registerMerchant", () => {
  it("refuses a confusable name with a clear 409 and registers nothing", async () => {
    const p = await Platform.open({ pin: TEST_PIN_OPTIONS });
    try {
      const cafe = p.registerMerchant({ name: "Corner Café" });
      let err: unknown;
      try {
        p.registerMerchant({ name: "C\u043erner Cafe" }); // Cyrillic о, no accent
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(PlatformError);
      expect([(err as PlatformError).httpStatus, (err as PlatformError).reason]).toEqual([409, "merchant-name-confusable"]);
      expect((err as Error).message).toMatch(new RegExp(`looks like merchant ${cafe.merchantId}'s "Corner Café"`));
      expect(p.registerMerchant({ name: "Corner Bar" }).merchantId).toBe(cafe.merchantId + 1);
    } finally {
      p.close();
    }
  });
});
