import { describe, it, expect } from "vitest";
import { readFileSync } from "node:fs";
import { signPaymentCode, paymentCodeText, verifyPaymentCode } from "../../src/qr/index.ts";

// The worked example in docs/PLATFORM.md §"Merchant payment code" must be what the code produces.
const doc = readFileSync(new URL("../../../docs/PLATFORM.md", import.meta.url), "utf8");

function block(kind: string): string {
  const m = new RegExp("```" + kind + "\\n([^`]+)```").exec(doc);
  if (!m) throw new Error(`docs/PLATFORM.md has no \`\`\`${kind} block`);
  return m[1]!.trim();
}

describe("docs/PLATFORM.md payment code example", () => {
  const key = Uint8Array.from({ length: 32 }, (_, i) => i);
  const code = signPaymentCode({
    merchantId: 7, orderRef: Uint8Array.from([1, 2, 3, 4, 5, 6, 7, 8]), amount: 1234, currency: "EUR",
    expiresAt: 1_900_000_000, nonce: Uint8Array.from([0xa0, 0xa1, 0xa2, 0xa3, 0xa4, 0xa5, 0xa6, 0xa7]),
  }, key);

  it("the hex block is the signed code byte for byte", () => {
    expect(block("hex").replace(/\s+/g, "")).toBe(Buffer.from(code).toString("hex"));
  });
  it("the base45 block is its QR text, and it verifies under the stated key", () => {
    expect(block("base45")).toBe(paymentCodeText(code));
    expect(verifyPaymentCode(block("base45"), (id) => (id === 7 ? key : undefined), 1_800_000_000).amount).toBe(1234);
  });
});
