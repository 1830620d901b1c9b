// firmware/src/ui/display.ts in Node, drawing into the virtual board's Graphics model (the real 6x8
// glyph bits): layout fits 128x64, long text is cut visibly with "…", amounts use the currency's
// ISO 4217 exponent exactly as the host formats them.
import { afterEach, describe, expect, it } from "vitest";
import { GraphicsBuffer, renderText } from "../../../board/src/display/graphics.ts";
import {
  attachScreen, ELLIPSIS, fitText, formatAmount, hasScreen, merchantLabel, minorDigits, PAY_ACTION, showConfirm, showIdle, showPayment,
  SCREEN_HEIGHT, SCREEN_WIDTH, type ScreenPort,
} from "../../src/ui/display.ts";
import { formatAmount as hostFormatAmount, minorUnitDigits } from "../../../host/src/qr/currency.ts";

/** A Graphics-like screen over the board's model, recording every string drawn. */
function screen(): { port: ScreenPort; g: GraphicsBuffer; drawn: { text: string; x: number; y: number; font: string }[]; flips: number } {
  const g = new GraphicsBuffer(SCREEN_WIDTH, SCREEN_HEIGHT, 1, new Uint8Array(SCREEN_WIDTH * SCREEN_HEIGHT / 8), { verticalByte: true, msb: false });
  const rec = { g, drawn: [] as { text: string; x: number; y: number; font: string }[], flips: 0, port: undefined as unknown as ScreenPort };
  rec.port = {
    clear: () => { g.clear(); rec.drawn = []; },
    setFont: (f) => g.setFont(f),
    drawString: (t, x, y) => { rec.drawn.push({ text: t, x, y, font: g.getFont() }); g.drawString(t, x, y); },
    stringWidth: (t) => g.stringWidth(t),
    flip: () => { rec.flips++; },
  };
  return rec;
}

const bytes = (...b: number[]) => String.fromCharCode(...b);

afterEach(() => attachScreen(null));

describe("amounts: minor units by the currency's ISO 4217 exponent", () => {
  it("agrees with the host's table for every currency Node knows", () => {
    for (const c of Intl.supportedValuesOf("currency")) {
      expect(minorDigits(c), c).toBe(minorUnitDigits(c));
      for (const a of [0, 1, 5, 99, 1250, 100000, 123456789, 2 ** 48 - 1]) {
        if (a === 0) continue;
        expect(formatAmount(a, c), `${a} ${c}`).toBe(hostFormatAmount(a, c));
      }
    }
  });

  it("examples", () => {
    expect(formatAmount(1250, "EUR")).toBe("12.50 EUR");
    expect(formatAmount(9999, "JPY")).toBe("9999 JPY");
    expect(formatAmount(1250, "KWD")).toBe("1.250 KWD");
    expect(formatAmount(5, "GBP")).toBe("0.05 GBP");
    expect(formatAmount(1234567890123, "EUR")).toBe("12345678901.23 EUR");
  });
});

describe("merchant label: the id the cryptogram covers", () => {
  it("4-byte ids read as the platform's merchant number, others as hex", () => {
    expect(merchantLabel(bytes(0, 0, 0, 7))).toBe("#7");
    expect(merchantLabel(bytes(0xff, 0xff, 0xff, 0xff))).toBe("#4294967295");
    expect(merchantLabel(bytes(1, 2, 0xab))).toBe("0102ab");
  });
});

describe("layout on 128x64 with the real fonts", () => {
  it("a long line is cut to the width and ends in a visible ellipsis", () => {
    const s = screen();
    s.g.setFont("6x8");
    const cut = fitText(s.port, "A merchant name much longer than the screen", SCREEN_WIDTH);
    expect(cut.endsWith(ELLIPSIS)).toBe(true);
    expect(s.g.stringWidth(cut)).toBeLessThanOrEqual(SCREEN_WIDTH);
    expect(cut.length).toBe(21);
    expect(fitText(s.port, "short", SCREEN_WIDTH)).toBe("short");
    // the ellipsis glyph has lit pixels (char 133 of the 6x8 font): the cut shows
    const g = renderText(8, 8, (g) => { g.setFont("6x8"); g.drawString(ELLIPSIS, 0, 0); });
    expect(g.pixels().flat().some((p) => p === 1)).toBe(true);
  });

  it("PAY shows merchant, exact amount with currency, order and what the press does — all inside the screen", () => {
    const s = screen();
    attachScreen(s.port);
    expect(hasScreen()).toBe(true);
    expect(showPayment({ orderId: bytes(...Array.from({ length: 12 }, (_, i) => i)), merchantId: bytes(0, 0, 0, 7), amount: 1250, currency: "EUR" })).toBe(true);
    expect(s.flips).toBe(1);
    expect(s.drawn.map((d) => d.text)).toEqual(["PAY merchant #7", "12.50 EUR", "order 00010203040506" + ELLIPSIS, PAY_ACTION]);
    expect(s.drawn[1]!.font).toBe("6x8:2");
    for (const d of s.drawn) {
      s.g.setFont(d.font);
      expect(d.x + s.g.stringWidth(d.text), d.text).toBeLessThanOrEqual(SCREEN_WIDTH);
      expect(d.y + s.g.fontHeight(), d.text).toBeLessThanOrEqual(SCREEN_HEIGHT);
    }
    // rows do not overlap
    const spans = s.drawn.map((d) => { s.g.setFont(d.font); return [d.y, d.y + s.g.fontHeight()] as const; }).sort((a, b) => a[0] - b[0]);
    for (let i = 1; i < spans.length; i++) expect(spans[i]![0]).toBeGreaterThanOrEqual(spans[i - 1]![1]);
  });

  it("an amount too wide for the big font falls back to the text font, never cut", () => {
    const s = screen();
    attachScreen(s.port);
    showPayment({ orderId: "o", merchantId: bytes(0, 0, 0, 1), amount: 123456789012, currency: "KWD" });
    const amount = s.drawn.find((d) => d.text.includes("KWD"))!;
    expect(amount.text).toBe("123456789.012 KWD");
    expect(amount.font).toBe("6x8");
  });

  it("showConfirm: more lines than fit end in an ellipsis line; without a screen nothing is drawn", () => {
    expect(showConfirm("T", ["a"], "x")).toBe(false);
    const s = screen();
    attachScreen(s.port);
    showConfirm("PEER PAY?", ["1", "2", "3", "4", "5"], "press:OK hold:no");
    expect(s.drawn.map((d) => d.text)).toEqual(["PEER PAY?", "1", "2", "3", ELLIPSIS, "press:OK hold:no"]);
    showIdle("PERSONALISED", 3);
    expect(s.drawn.map((d) => d.text)).toEqual(["KeyCarrier", "PERSONALISED", "PIN tries left: 3", ""]);
  });
});
