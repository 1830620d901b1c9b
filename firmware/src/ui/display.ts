// The trusted display (docs/DISPLAY.md): what the carrier shows on its own screen, a 128x64 1-bit
// panel drawn through Espruino's Graphics (platform.ts openScreen gives the port; nothing here
// touches Espruino globals). Screens are lines in Espruino's built-in 6x8 font (6 px advance, 8 px
// high: 21 characters a line; USE_FONT_6X8 in the board's build) and "6x8:2" for the amount. A line that does not fit is cut and ends
// in an ellipsis (char 133 of the 6x8 font): never silently truncated. Only boards whose bundle
// has KC_DISPLAY (keycarrier.full.js) carry this file; main.ts attaches the screen there.
// Other applets show their own confirmations with showConfirm(title, lines, action).

/** The subset of Espruino's Graphics the display uses (an SSD1306 Graphics from platform.ts). */
export interface ScreenPort {
  clear(): unknown;
  setFont(name: string): unknown;
  drawString(text: string, x: number, y: number): unknown;
  stringWidth(text: string): number;
  flip(): unknown;
}

/** What a payment confirmation shows: exactly the fields the carrier will sign. */
export interface PaymentSubject {
  orderId: string;
  merchantId: string;
  amount: number;
  currency: string;
}

export const SCREEN_WIDTH = 128;
export const SCREEN_HEIGHT = 64;
export const TEXT_FONT = "6x8";
export const BIG_FONT = "6x8:2";
export const LINE_HEIGHT = 10; // 8 px glyphs + 2 px gap
// "…" in the 6x8 font (cp1252 0x85). A literal, not String.fromCharCode: terser keeps a call's
// initializer in every bundle that imports this file, even where nothing uses it.
export const ELLIPSIS = "\x85";
// What the press does while a payment waits (ui/confirm.ts: short press confirms, long press or 30 s declines).
export const PAY_ACTION = "press:PAY hold:cancel";

let screen: ScreenPort | null = null;

/** Attach the board's screen (main.ts, KC_DISPLAY only); null detaches. Without one every show* does nothing. */
export function attachScreen(s: ScreenPort | null): void {
  screen = s;
}

export function hasScreen(): boolean {
  return screen !== null;
}

// ISO 4217 currencies whose minor unit is not 2 digits (the host's table, host/src/qr/currency.ts;
// firmware/test/ui/display.test.ts checks the two agree), 3 letters + the digit each.
const EXPONENTS = "BIF0CLP0DJF0GNF0ISK0JPY0KMF0KRW0PYG0RWF0UGX0UYI0VND0VUV0XAF0XOF0XPF0BHD3IQD3JOD3KWD3LYD3OMR3TND3CLF4UYW4";

// One native indexOf instead of a JS loop over 26 entries (≈ 15 ms on the board): three capital
// letters can only match a code, since a digit separates any two (PAY's parseOrder admits only A-Z).
export function minorDigits(currency: string): number {
  const i = /^[A-Z][A-Z][A-Z]$/.test(currency) ? EXPONENTS.indexOf(currency) : -1;
  return i < 0 ? 2 : +EXPONENTS.charAt(i + 3);
}

// Digits of a whole number up to 2^53 without Espruino's 12-significant-digit number printing
// (facts rule 9): two halves of at most 9 digits.
function wholeDigits(n: number): string {
  const high = Math.floor(n / 1e9);
  const low = String(n - high * 1e9);
  return high > 0 ? String(high) + "000000000".substr(low.length) + low : low;
}

/** 1250, "EUR" → "12.50 EUR"; 1250, "JPY" → "1250 JPY"; 1250, "KWD" → "1.250 KWD". */
export function formatAmount(minor: number, currency: string): string {
  const d = minorDigits(currency);
  let s = wholeDigits(minor);
  while (s.length <= d) s = "0" + s;
  return (d > 0 ? s.substr(0, s.length - d) + "." + s.substr(s.length - d) : s) + " " + currency;
}

/** The merchant as the carrier signs it: a 4-byte id (the platform's merchant number) as "#n", else hex. */
export function merchantLabel(merchantId: string): string {
  if (merchantId.length === 4) {
    return "#" + (((merchantId.charCodeAt(0) << 24) | (merchantId.charCodeAt(1) << 16) | (merchantId.charCodeAt(2) << 8) | merchantId.charCodeAt(3)) >>> 0);
  }
  return hex(merchantId);
}

export function hex(bytes: string): string {
  let out = "";
  for (let i = 0; i < bytes.length; i++) out += (bytes.charCodeAt(i) | 256).toString(16).substr(1);
  return out;
}

/**
 * The text cut to fit maxWidth pixels in the current font, ending in the ellipsis when cut. The
 * fonts are monospaced: one stringWidth call gives the advance.
 */
export function fitText(s: ScreenPort, text: string, maxWidth: number): string {
  const width = s.stringWidth(text);
  if (width <= maxWidth || text.length === 0) return text;
  const advance = width / text.length;
  const keep = Math.floor(maxWidth / advance) - 1;
  return (keep > 0 ? text.substr(0, keep) : "") + ELLIPSIS;
}

// Line y of a text screen: title on line 0, then LINE_HEIGHT apart.
function drawLine(s: ScreenPort, text: string, y: number): void {
  s.drawString(fitText(s, text, SCREEN_WIDTH), 0, y);
}

/**
 * A confirmation: a title, up to 4 lines, and what the button does on the last line (5 lines of
 * 6x8 text at most: 6 × 10 px rows on 64 px). Lines beyond the room are dropped with a "…" line,
 * never silently. Returns false when there is no screen.
 */
export function showConfirm(title: string, lines: string[], action: string): boolean {
  const s = screen;
  if (s === null) return false;
  s.clear();
  s.setFont(TEXT_FONT);
  drawLine(s, title, 0);
  const room = 4;
  for (let i = 0; i < lines.length && i < room; i++) {
    drawLine(s, i === room - 1 && lines.length > room ? ELLIPSIS : lines[i]!, (i + 1) * LINE_HEIGHT + 2);
  }
  drawLine(s, action, SCREEN_HEIGHT - 8);
  s.flip();
  return true;
}

/** A status screen (personalisation, PIN state, idle): title and lines, no button action. */
export function showStatus(title: string, lines: string[]): boolean {
  return showConfirm(title, lines, "");
}

/**
 * PAY's confirmation (before the button press): merchant id, the exact amount with its currency in
 * the big font (the normal one when it does not fit), the order id, and what the press does.
 * Every value is the one the cryptogram will cover (channel/cryptogram.ts).
 */
export function showPayment(o: PaymentSubject): boolean {
  const s = screen;
  if (s === null) return false;
  s.clear();
  s.setFont(TEXT_FONT);
  drawLine(s, "PAY " + "merchant " + merchantLabel(o.merchantId), 0);
  const amount = formatAmount(o.amount, o.currency);
  s.setFont(BIG_FONT);
  if (s.stringWidth(amount) <= SCREEN_WIDTH) s.drawString(amount, 0, 14);
  else {
    s.setFont(TEXT_FONT);
    drawLine(s, amount, 18);
  }
  s.setFont(TEXT_FONT);
  // 7 bytes (14 hex digits) fit after "order " with the ellipsis: the rest is not converted at all
  drawLine(s, "order " + hex(o.orderId.substr(0, 7)) + (o.orderId.length > 7 ? ELLIPSIS : ""), 36);
  drawLine(s, PAY_ACTION, SCREEN_HEIGHT - 8);
  s.flip();
  return true;
}

/** The idle screen: the carrier's state and the PIN tries it has left (verdicts it counted). */
export function showIdle(state: string, triesLeft: number): boolean {
  // NOINLINE: terser would paste showConfirm in here with its vars after the return (the gate's hoisting rule)
  return /*#__NOINLINE__*/ showConfirm("KeyCarrier", [state, triesLeft >= 0 ? "PIN tries left: " + triesLeft : ""], "");
}
