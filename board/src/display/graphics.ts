// Espruino's Graphics over an ArrayBuffer, for what the firmware uses: createArrayBuffer (1 bpp,
// vertical_byte as the SSD1306 module asks for it, or plain rows), the built-in 4x6 and 6x8 bitmap
// fonts with their real glyph bits (font-data.ts), drawString / stringWidth / getFontHeight,
// setFont("4x6" | "6x8" | "name:2" | "name:2x3"), setFontAlign, setColor / setBgColor, clear,
// fillRect / clearRect / drawRect, setPixel / getPixel. Everything else Graphics has throws a clear
// "not modelled" error rather than silently drawing nothing.
// Semantics follow libs/graphics/{graphics.c, jswrap_graphics.c, lcd_arraybuffer.c,
// bitmap_font_4x6.c, bitmap_font_6x8.c} at Espruino c5ff787 (2v29):
// - pixel index: vertical_byte ((x + (y>>3)*width)<<3 | (y&7)), else (x + y*width)*bpp; a sub-byte
//   pixel sits at bit (msb ? 8-(idx&7)-bpp : idx&7) of its byte; msb is the default, {msb:false} clears it;
// - reset state: fg = all ones, bg = 0, font 4x6 scale 1, align left/top (graphicsStructResetState);
// - a glyph draws only its lit pixels unless a solid background is asked for; characters outside a
//   font's table draw nothing but still advance (4 or 6 px × scale); '\n' starts a new line;
// - strings are byte strings (the board has no Unicode: one byte per char, as the runtime prints).
import { FONT_4X6, FONT_6X8, FONT_FIRST_CHAR } from "./font-data.ts";

export type FontName = "4x6" | "6x8";

interface FontSpec { glyphs: readonly string[]; cols: number; rows: number; advance: number; hexPerRow: number }
const FONTS: Record<FontName, FontSpec> = {
  "4x6": { glyphs: FONT_4X6, cols: 3, rows: 6, advance: 4, hexPerRow: 1 },
  "6x8": { glyphs: FONT_6X8, cols: 5, rows: 8, advance: 6, hexPerRow: 2 },
};

/** Why a call was refused; the runtime turns it into an Error inside the board. */
export class GraphicsError extends Error {}

export interface ArrayBufferOptions { verticalByte?: boolean; msb?: boolean }

/** What the cost model needs to know about one drawing call. */
export interface DrawCost { pixels: number; chars: number }

export class GraphicsBuffer {
  fg: number;
  bg = 0;
  font: FontName = "4x6";
  scaleX = 1;
  scaleY = 1;
  /** -1 left/top, 0 centre, 1 right/bottom (Espruino's 3 = "undefined" is left/top: -1 here). */
  alignX = -1;
  alignY = -1;
  readonly mask: number;

  constructor(readonly width: number, readonly height: number, readonly bpp: number, readonly bytes: Uint8Array, readonly opts: ArrayBufferOptions = {}) {
    this.mask = bpp >= 32 ? 0xffffffff : (1 << bpp) - 1;
    this.fg = this.mask;
  }

  static byteLength(width: number, height: number, bpp: number): number {
    return Math.ceil((width * height * bpp) / 8);
  }

  /** graphicsStructResetState: colours, font and alignment back to their defaults. */
  resetState(): void {
    this.fg = this.mask;
    this.bg = 0;
    this.font = "4x6";
    this.scaleX = this.scaleY = 1;
    this.alignX = this.alignY = -1;
  }

  private bitIndex(x: number, y: number): number {
    return this.opts.verticalByte ? ((x + (y >> 3) * this.width) << 3) | (y & 7) : (x + y * this.width) * this.bpp;
  }

  setPixel(x: number, y: number, col: number): void {
    if (x < 0 || y < 0 || x >= this.width || y >= this.height) return;
    const idx = this.bitIndex(x, y);
    if (this.bpp >= 8) {
      for (let i = 0; i < this.bpp / 8; i++) this.bytes[(idx >> 3) + i] = (col >>> (this.opts.msb === false ? i * 8 : this.bpp - 8 - i * 8)) & 0xff;
      return;
    }
    const sub = idx & 7;
    const bit = this.opts.msb === false ? sub : 8 - (sub + this.bpp);
    const byte = idx >> 3;
    this.bytes[byte] = (this.bytes[byte]! & ~(this.mask << bit)) | ((col & this.mask) << bit);
  }

  getPixel(x: number, y: number): number {
    if (x < 0 || y < 0 || x >= this.width || y >= this.height) return 0;
    const idx = this.bitIndex(x, y);
    if (this.bpp >= 8) return this.bytes[idx >> 3]!;
    const sub = idx & 7;
    const bit = this.opts.msb === false ? sub : 8 - (sub + this.bpp);
    return (this.bytes[idx >> 3]! >> bit) & this.mask;
  }

  /** Inclusive corners in any order, clipped to the buffer; returns the pixels written. */
  fillRect(x1: number, y1: number, x2: number, y2: number, col: number): number {
    const xa = Math.max(0, Math.min(x1, x2)), xb = Math.min(this.width - 1, Math.max(x1, x2));
    const ya = Math.max(0, Math.min(y1, y2)), yb = Math.min(this.height - 1, Math.max(y1, y2));
    if (xa > xb || ya > yb) return 0;
    for (let y = ya; y <= yb; y++) for (let x = xa; x <= xb; x++) this.setPixel(x, y, col);
    return (xb - xa + 1) * (yb - ya + 1);
  }

  drawRect(x1: number, y1: number, x2: number, y2: number): number {
    return this.fillRect(x1, y1, x2, y1, this.fg) + this.fillRect(x2, y1, x2, y2, this.fg) +
      this.fillRect(x1, y2, x2, y2, this.fg) + this.fillRect(x1, y2, x1, y1, this.fg);
  }

  clear(): number {
    return this.fillRect(0, 0, this.width - 1, this.height - 1, this.bg);
  }

  /** "4x6", "6x8", "4x6:2", "6x8:2x3", or a name and a separate scale (jswrap_graphics_setFont). */
  setFont(spec: string | undefined, scale?: number, available: readonly FontName[] = ["4x6", "6x8"]): void {
    let name = spec ?? "";
    let sx = scale !== undefined && Number.isFinite(scale) ? Math.trunc(scale) : 1;
    let sy = sx;
    const colon = name.indexOf(":");
    if (colon >= 0) {
      const size = name.slice(colon + 1);
      name = name.slice(0, colon);
      const x = size.indexOf("x");
      if (x >= 0) {
        sx = Math.min(63, Math.max(0, parseInt(size.slice(0, x), 10) || 0));
        sy = Math.min(63, Math.max(0, parseInt(size.slice(x + 1), 10) || 0));
      } else sx = sy = parseInt(size, 10) || 0;
    }
    if (sx < 1) sx = 1;
    if (sy < 1) sy = 1;
    if (name === "") name = "4x6";
    if (!(available as string[]).includes(name)) throw new GraphicsError(`Unknown font ${JSON.stringify(name)}`);
    this.font = name as FontName;
    this.scaleX = sx;
    this.scaleY = sy;
  }

  getFont(): string {
    if (this.scaleX === 1 && this.scaleY === 1) return this.font;
    return this.scaleX === this.scaleY ? `${this.font}:${this.scaleX}` : `${this.font}:${this.scaleX}x${this.scaleY}`;
  }

  fontHeight(): number {
    return FONTS[this.font].rows * this.scaleY;
  }

  /** Widest line in pixels (every byte < 256 advances the font's width, even one without a glyph). */
  stringWidth(s: string): number {
    const adv = FONTS[this.font].advance * this.scaleX;
    let widest = 0;
    for (const line of s.split("\n")) widest = Math.max(widest, line.length * adv);
    return widest;
  }

  /** Returns what the cost model charges: characters handled and pixels written. */
  drawString(s: string, x0: number, y0: number, solid = false): DrawCost {
    const f = FONTS[this.font];
    const sx = this.scaleX, sy = this.scaleY;
    const lines = s.split("\n");
    const fontH = f.rows * sy;
    let y = y0;
    if (this.alignY !== -1) y -= Math.trunc((lines.length * fontH * (this.alignY + 1)) / 2);
    let pixels = 0;
    for (const line of lines) {
      let x = x0;
      if (this.alignX !== -1) x -= Math.trunc((line.length * f.advance * sx * (this.alignX + 1)) / 2);
      for (let i = 0; i < line.length; i++) {
        const code = line.charCodeAt(i) & 0xff;
        const glyph = f.glyphs[code - FONT_FIRST_CHAR];
        if (glyph === undefined) {
          if (solid) pixels += this.fillRect(x, y, x + (f.cols - 1) * sx, y + (f.rows - 1) * sy, this.bg);
        } else {
          for (let r = 0; r < f.rows; r++) {
            const bits = parseInt(glyph.substr(r * f.hexPerRow, f.hexPerRow), 16);
            for (let c = 0; c < f.cols; c++) {
              const lit = (bits >> (f.cols - 1 - c)) & 1;
              if (lit || solid) pixels += this.fillRect(x + c * sx, y + r * sy, x + (c + 1) * sx - 1, y + (r + 1) * sy - 1, lit ? this.fg : this.bg);
            }
          }
          if (solid) pixels += this.fillRect(x + f.cols * sx, y, x + f.advance * sx - 1, y + fontH - 1, this.bg);
        }
        x += f.advance * sx;
      }
      y += fontH;
    }
    return { pixels, chars: s.length };
  }

  /** The buffer as rows of pixel values (host side: PNG export and tests). */
  pixels(): number[][] {
    const out: number[][] = [];
    for (let y = 0; y < this.height; y++) {
      const row: number[] = [];
      for (let x = 0; x < this.width; x++) row.push(this.getPixel(x, y));
      out.push(row);
    }
    return out;
  }
}

/** Renders text host side through the same fonts (tests compare the board's frames with this). */
export function renderText(width: number, height: number, draw: (g: GraphicsBuffer) => void): GraphicsBuffer {
  const g = new GraphicsBuffer(width, height, 1, new Uint8Array(GraphicsBuffer.byteLength(width, height, 1)), { verticalByte: true, msb: false });
  draw(g);
  return g;
}
