// `keycarrier flash` to a display board (docs/DISPLAY.md): the bundle a board with a screen takes
// (keycarrier.full.js) requires the SSD1306 module, which a real board finds only as the Storage
// file "SSD1306"; flash uploads it with EspruinoTools and verifies it like .bootcde. The emulated
// board (`keycarrier emulate`, displayModule "storage") has no module of its own, as a real one:
// flashed this way it finds its screen (INFO capability 0x10, the idle screen drawn); the same
// bundle put in .bootcde without the module boots without a screen (LEDs only).
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startEmulator, type RunningEmulator } from "../../src/cli/emulate.ts";
import { flashFirmware } from "../../src/flash/flash.ts";
import { modulesFor } from "../../src/flash/modules.ts";
import { SSD1306_MODULE_SOURCE } from "../../../board/src/display/ssd1306-module.ts";
import { crc32 } from "../../src/crc32.ts";
import { VirtualBoard } from "../../../board/src/virtual-board.ts";

const work = mkdtempSync(join(tmpdir(), "kc-flash-display-"));
const FULL = fileURLToPath(new URL("../../../firmware/dist/keycarrier.full.js", import.meta.url));
const LED_ONLY = fileURLToPath(new URL("../../../firmware/dist/keycarrier.js", import.meta.url));

beforeAll(() => { process.env.KEYCARRIER_HOME = work; });
afterAll(() => rmSync(work, { recursive: true, force: true }));

describe("the modules a bundle requires", () => {
  it("keycarrier.full.js requires SSD1306; keycarrier.js (LED-only boards) requires none", () => {
    expect(modulesFor(readFileSync(FULL, "latin1")).map((m) => m.name)).toEqual(["SSD1306"]);
    expect(modulesFor(readFileSync(LED_ONLY, "latin1"))).toEqual([]);
    expect(modulesFor("var s=require('SSD1306')").map((m) => m.name)).toEqual(["SSD1306"]);
  });
});

describe("keycarrier flash → an emulated nrf52840-oled with a bare REPL", () => {
  let emu: RunningEmulator;
  beforeAll(async () => {
    emu = await startEmulator({
      board: "nrf52840-oled", tcpPort: 0, pty: false, ptyPath: undefined, controlPort: 0, flashFile: undefined, seed: 11, virtualClock: false, banner: true,
    });
  });
  afterAll(async () => { await emu?.stop(); });

  it("uploads the board's bundle and the SSD1306 module to Storage, verifies both, and the rebooted carrier finds its screen", async () => {
    const lines: string[] = [];
    const r = await flashFirmware({ port: emu.tcp.url, log: (l) => lines.push(l) });
    expect(r.firmwareFile).toBe(FULL);
    expect(emu.board.storage.read("SSD1306")).toBe(SSD1306_MODULE_SOURCE);
    expect(r.modules).toEqual([{ name: "SSD1306", bytes: SSD1306_MODULE_SOURCE.length, crc32: crc32(new Uint8Array(Buffer.from(SSD1306_MODULE_SOURCE, "latin1"))) }]);
    expect(lines.some((l) => /verified: SSD1306 is \d+ bytes/.test(l))).toBe(true);
    expect(r.booted!.capabilities.display).toBe(true);
    // the idle screen, drawn by the firmware through the uploaded module over the virtual I2C bus
    expect(emu.board.display!.frame().flat().some((p) => p === 1)).toBe(true);
  }, 90_000);
});

describe("without the module on the board", () => {
  it("the same bundle boots without a screen: INFO has no 0x10, nothing is drawn (the LEDs still ask)", async () => {
    const board = new VirtualBoard({ board: "nrf52840-oled", seed: 12, displayModule: "storage" });
    try {
      board.storage.write(".bootcde", readFileSync(FULL, "latin1"));
      board.powerOn();
      board.runUntilIdle(2_000);
      expect(board.display!.frame().flat().some((p) => p === 1)).toBe(false);
    } finally {
      board.dispose();
    }
  });
});
