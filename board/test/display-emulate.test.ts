// The display through the emulator: the control port's "screen" command returns what the panel
// lights as PNG (read back bit for bit) and text; `emulate --screen DIR` saves each new frame.
import { describe, expect, it } from "vitest";
import { existsSync, mkdtempSync, readFileSync, readdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ControlClient } from "../src/expose/control.ts";
import { parseEmulateArgs, startEmulator } from "../../host/src/cli/emulate.ts";
import { renderText } from "../src/display/graphics.ts";
import { frameDiff, pngToFrame } from "../src/display/frame.ts";

describe("emulate: the carrier's screen", () => {
  it("--screen is refused on a board without a display, read on nrf52840-oled", () => {
    expect(() => parseEmulateArgs(["--board", "pico", "--screen"])).toThrow(/has no display; use --board nrf52840-oled/);
    expect(parseEmulateArgs(["--board", "nrf52840-oled", "--screen", "/x"]).screen).toEqual({ dir: "/x" });
    expect(parseEmulateArgs(["--board", "nrf52840-oled", "--screen", "--seed", "2"]).screen).toEqual({ dir: undefined });
  });

  it("the control port returns the frame as PNG; --screen DIR saves new frames", async () => {
    process.env.KEYCARRIER_HOME = mkdtempSync(join(tmpdir(), "kc-emulate-oled-"));
    const dir = mkdtempSync(join(tmpdir(), "kc-screen-"));
    const emu = await startEmulator({
      board: "nrf52840-oled", tcpPort: 0, pty: false, ptyPath: undefined, controlPort: 0,
      flashFile: undefined, seed: 3, virtualClock: true, banner: false, screen: { dir },
    });
    try {
      const r = emu.board.evaluate(`I2C1.setup({scl: D27, sda: D26}); var g = require("SSD1306").connect(I2C1);`);
      expect(r.ok).toBe(true);
      const c = await ControlClient.connect(emu.control.port);
      await c.request("advance", { ms: 100 });
      emu.board.evaluate(`g.setFont("6x8"); g.drawString("Hello", 0, 0); g.flip();`);
      const shot = await c.request("screen", { scale: 2 });
      expect([shot["width"], shot["height"]]).toEqual([128, 64]);
      const frame = pngToFrame(Buffer.from(String(shot["png"]), "base64"), 2);
      expect(frameDiff(frame, renderText(128, 64, (g) => { g.setFont("6x8"); g.drawString("Hello", 0, 0); }).pixels())).toEqual([]);
      expect(String(shot["text"])).toContain("▀");
      await expect(c.request("screen", { scale: 0 })).rejects.toThrow(/scale/);
      c.close();
      await new Promise((done) => setTimeout(done, 250));
      const saved = readdirSync(dir).filter((f) => f.endsWith(".png")).sort();
      expect(saved.length).toBeGreaterThan(0);
      const last = pngToFrame(readFileSync(join(dir, saved[saved.length - 1]!)), 4);
      expect(frameDiff(last, frame)).toEqual([]);
    } finally {
      await emu.stop();
    }
    expect(existsSync(dir)).toBe(true);
  });

  it("a board without a display says so on \"screen\"", async () => {
    process.env.KEYCARRIER_HOME = mkdtempSync(join(tmpdir(), "kc-emulate-pico-"));
    const emu = await startEmulator({
      board: "pico", tcpPort: 0, pty: false, ptyPath: undefined, controlPort: 0, flashFile: undefined, seed: 3, virtualClock: true, banner: false,
    });
    try {
      const c = await ControlClient.connect(emu.control.port);
      await expect(c.request("screen")).rejects.toThrow(/has no display/);
      c.close();
    } finally {
      await emu.stop();
    }
  });
});
