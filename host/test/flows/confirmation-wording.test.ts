// Issue 18: the host is untrusted and must not claim the carrier shows what it cannot. The prompt
// while PAY waits depends on the carrier's INFO capability 0x10 (trusted display).
import { describe, expect, it } from "vitest";
import { confirmationPrompt, ledAmountClass } from "../../src/flows/pay.ts";
import { amountClass } from "../../../firmware/src/ui/confirm.ts";

const cafe = { display: "12.50 EUR", merchantName: "Corner Café", merchantId: 7, amount: 1250 };

describe("the host's words while the carrier waits for its button", () => {
  it("LED-only carrier: says it cannot show amount, currency or payee, and what the LEDs mean", () => {
    const text = confirmationPrompt(cafe, { display: false });
    expect(text).toMatch(/has no screen: it cannot show the amount, the currency or the payee/);
    expect(text).toMatch(/LED1 lit/);
    expect(text).toMatch(/this order: 2\)/); // 1250 minor units: class 1, two blinks
    expect(text).toMatch(/which the carrier cannot confirm/);
    expect(text).not.toMatch(/carrier shows/);
    // without an INFO handshake the host does not know: LED-only wording
    expect(confirmationPrompt(cafe)).toBe(text);
  });

  it("display carrier: points the user to the carrier's screen and the merchant number it shows", () => {
    const text = confirmationPrompt(cafe, { display: true });
    expect(text).toMatch(/check the carrier's own screen, not this host/);
    expect(text).toMatch(/merchant #7 \(Corner Café\)/);
  });

  it("the LED classes are the firmware's", () => {
    for (const a of [0, 999, 1000, 9999, 10000, 99999, 100000, 2 ** 40]) expect(ledAmountClass(a), String(a)).toBe(amountClass(a));
  });
});
