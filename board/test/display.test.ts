// The virtual board's display: Espruino's Graphics with the real 4x6/6x8 glyph bits, I2C1 to an
// SSD1306 model decoding the command stream, and the EspruinoDocs SSD1306 module driving it, as
// firmware on the nrf52840-oled profile would. Frames come back as PNG and are compared bit for bit
// with the same text rendered host side through the same fonts.
import { describe, expect, it } from "vitest";
import { VirtualBoard } from "../src/virtual-board.ts";
import { CostMeter } from "../src/cost/index.ts";
import { GraphicsBuffer, renderText } from "../src/display/graphics.ts";
import { Ssd1306 } from "../src/display/ssd1306.ts";
import { frameDiff, frameToText, pngToFrame } from "../src/display/frame.ts";
import { FONT_4X6, FONT_6X8 } from "../src/display/font-data.ts";
import { loadProfile, validateProfile } from "../src/profiles.ts";

function board(cost?: CostMeter): VirtualBoard {
  const b = new VirtualBoard({ board: "nrf52840-oled", cost });
  b.powerOn();
  return b;
}

function run(b: VirtualBoard, code: string): unknown {
  const r = b.evaluate(code);
  if (!r.ok) throw new Error(`board threw: ${String(r.error)}`);
  return r.value;
}

const CONNECT = `I2C1.setup({scl: D27, sda: D26, bitrate: 400000}); var g = require("SSD1306").connect(I2C1);`;

describe("fonts: the glyph bits of Espruino's bitmap_font_4x6.c / bitmap_font_6x8.c", () => {
  it("has 100 4x6 and 223 6x8 glyphs from char 33, with known shapes", () => {
    expect(FONT_4X6.length).toBe(100);
    expect(FONT_6X8.length).toBe(223);
    // 'A' in 4x6: _X_ X_X X_X XXX X_X ___ (bitmap_font_4x6.c, row group 65-69)
    expect(FONT_4X6["A".charCodeAt(0) - 33]).toBe("255750");
    // '1' in 4x6: _X_ XX_ _X_ _X_ XXX ___
    expect(FONT_4X6["1".charCodeAt(0) - 33]).toBe("262270");
  });

  it("draws a 4x6 'A' pixel for pixel, 4 px advance; 6x8 advances 6", () => {
    const g = renderText(16, 8, (g) => g.drawString("A", 0, 0));
    expect(g.pixels().slice(0, 6).map((r) => r.slice(0, 4).join(""))).toEqual(["0100", "1010", "1010", "1110", "1010", "0000"]);
    g.setFont("6x8");
    expect(g.stringWidth("AB")).toBe(12);
    g.setFont("4x6:2");
    expect(g.stringWidth("AB\nC")).toBe(16);
    expect(g.fontHeight()).toBe(12);
    expect(() => g.setFont("8x12")).toThrow(/Unknown font/);
  });
});

describe("SSD1306 model", () => {
  it("decodes the command stream across transactions and writes GDDRAM in horizontal mode", () => {
    const p = new Ssd1306();
    for (const b of [0x8d, 0x14, 0x20, 0x00, 0xa1, 0xc8, 0xaf, 0x21, 0, 127, 0x22, 0, 7]) p.write(Uint8Array.of(0, b));
    expect(p.displayOn && p.chargePump).toBe(true);
    p.write(Uint8Array.of(0x40, 0x01, 0x80)); // column 0: row 0 lit; column 1: row 7 lit
    const f = p.visible();
    expect(f[0]![0]).toBe(1);
    expect(f[7]![1]).toBe(1);
    expect(f[0]![1]).toBe(0);
    p.write(Uint8Array.of(0, 0xa0)); // segment remap off: mirrored
    expect(p.visible()[0]![127]).toBe(1);
    p.write(Uint8Array.of(0, 0xae));
    expect(p.visible().flat().some((x) => x === 1)).toBe(false);
  });
});

describe("Graphics + I2C1 + require('SSD1306') on the nrf52840-oled profile", () => {
  it("the profile validates; a display without \"screen\" does not", () => {
    const p = loadProfile("nrf52840-oled");
    expect(p.peripherals.screen).toMatchObject({ controller: "SSD1306", width: 128, height: 64, address: 0x3c });
    const broken = JSON.parse(JSON.stringify(p)) as Record<string, any>;
    delete broken["peripherals"].screen;
    expect(() => validateProfile(broken)).toThrow(/"display" is true but "screen" is missing/);
  });

  it("only a display profile has Graphics, I2C1 and the SSD1306 module", () => {
    const plain = new VirtualBoard({ board: "nrf52840" });
    plain.powerOn();
    const r = plain.evaluate(`typeof Graphics + " " + typeof I2C1`);
    expect(r).toEqual({ ok: true, value: "undefined undefined" });
    expect(plain.evaluate(`require("SSD1306")`).ok).toBe(false);
  });

  it("a frame drawn by firmware code reaches the panel and reads back from the PNG bit for bit", () => {
    const b = board();
    run(b, CONNECT);
    b.advance(120); // the module sends its init commands after 50 ms
    run(b, `g.clear(); g.setFont("6x8"); g.drawString("Corner Cafe", 0, 0); g.setFont("4x6:2"); g.drawString("12.50 EUR", 0, 20); g.flip();`);
    const expected = renderText(128, 64, (g) => {
      g.setFont("6x8");
      g.drawString("Corner Cafe", 0, 0);
      g.setFont("4x6:2");
      g.drawString("12.50 EUR", 0, 20);
    }).pixels();
    const frame = pngToFrame(b.display!.png(3), 3);
    expect(frameDiff(frame, expected)).toEqual([]);
    // and a different text differs
    const other = renderText(128, 64, (g) => { g.setFont("6x8"); g.drawString("Corner Cafe", 0, 0); g.setFont("4x6:2"); g.drawString("99.99 EUR", 0, 20); }).pixels();
    expect(frameDiff(frame, other).length).toBeGreaterThan(0);
    expect(b.display!.text()).toContain("█");
  });

  it("the module's init sequence is the one in EspruinoDocs devices/SSD1306.js", () => {
    const b = board();
    run(b, CONNECT);
    b.advance(120);
    expect(b.display!.panel.commandLog.map((c) => c.map((x) => x.toString(16)).join(" "))).toEqual([
      "ae", "d5 80", "a8 3f", "d3 0", "40", "8d 14", "20 0", "a1", "c8", "da 12", "81 cf", "d9 f1", "db 40", "a4", "a6", "af",
    ]);
  });

  it("wrong wiring or address: a clear I2C error, nothing drawn", () => {
    const b = board();
    expect(String((b.evaluate(`I2C1.writeTo(0x3c, 0, 0xaf)`) as { error: unknown }).error)).toMatch(/not set up/);
    run(b, `I2C1.setup({scl: D26, sda: D27})`);
    expect(String((b.evaluate(`I2C1.writeTo(0x3c, 0, 0xaf)`) as { error: unknown }).error)).toMatch(/no ACK/);
    expect(b.display!.panel.displayOn).toBe(false);
  });

  it("a power cut blanks the panel; 6x8 needs the FONT_6X8 build option", () => {
    const b = board();
    run(b, CONNECT);
    b.advance(120);
    run(b, `g.drawString("X", 0, 0); g.flip();`);
    expect(b.display!.frame().flat().some((x) => x)).toBe(true);
    b.powerCut();
    expect(b.display!.frame().flat().some((x) => x)).toBe(false);
    const p = loadProfile("nrf52840-oled");
    const no68 = new VirtualBoard({ board: { ...p, requiredBuildLibraries: p.requiredBuildLibraries.filter((l) => l !== "FONT_6X8") } });
    no68.powerOn();
    expect(String((no68.evaluate(`Graphics.createArrayBuffer(8,8,1).setFont("6x8")`) as { error: unknown }).error)).toMatch(/Unknown font "6x8"/);
  });

  it("cost: a full-screen update is charged (Graphics natives, the module's JS, 1,038 B over I2C at 400 kHz) and the buffer is ~80 vars", () => {
    const meter = new CostMeter();
    const b = board(meter);
    run(b, CONNECT);
    b.advance(120);
    const { record: scope } = meter.measure("screen", () => run(b, `g.clear(); g.setFont("4x6:2"); g.drawString("12.50 EUR", 0, 20); g.flip();`));
    const est = meter.estimate(b.profile, scope.counts);
    expect(scope.counts.native["I2C.writeTo"]!.bytes).toBe(6 * 2 + 8 * 129);
    // the bus alone: 8 chunks × (130 × 9 + 2) clocks + 6 commands × (3 × 9 + 2) at 400 kHz ≈ 24 ms
    expect(est.breakdown.native).toBeGreaterThan(24);
    expect(est.ms).toBeLessThan(100);
    const before = b.memoryEstimate().total;
    run(b, `var g2 = Graphics.createArrayBuffer(128, 64, 1, {vertical_byte: true});`);
    const grew = b.memoryEstimate().total - before;
    expect(grew).toBeGreaterThanOrEqual(80);
    expect(grew).toBeLessThan(90);
    console.log(`screen update: ${est.ms.toFixed(1)} ms (native ${est.breakdown.native.toFixed(1)} ms), buffer ${grew} vars; ${frameToText(b.display!.frame()).split("\n").length} text lines`);
  });

  it("GraphicsBuffer vertical_byte layout: pixel (x, y) is bit y&7 of byte x + (y>>3)*width (msb:false)", () => {
    const bytes = new Uint8Array(128 * 8);
    const g = new GraphicsBuffer(128, 64, 1, bytes, { verticalByte: true, msb: false });
    g.setPixel(5, 10, 1);
    expect(bytes[5 + 128]).toBe(1 << 2);
  });
});
