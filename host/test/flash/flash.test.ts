// `keycarrier flash` against `keycarrier emulate` (no --firmware: a board with a bare REPL) over TCP:
// the real EspruinoTools library uploads, the board's Storage then holds exactly the bundle, the
// board reboots into it and answers INFO; a second flash is refused with a reason, and a
// personalisation-free check of the packet helpers.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { compile } from "../../../firmware/build/pipeline.ts";
import { startEmulator, type RunningEmulator } from "../../src/cli/emulate.ts";
import { ControlClient } from "../../../board/src/expose/control.ts";
import { findSocat } from "../../../board/src/expose/pty.ts";
import { main } from "../../src/cli/main.ts";
import { crc32 } from "../../src/crc32.ts";
import { FlashError, bundleForBoard, flashFirmware, readFirmware } from "../../src/flash/flash.ts";
import { encodeEvalPacket, parseEvalReply } from "../../src/flash/console-wire.ts";

const work = mkdtempSync(join(tmpdir(), "kc-flash-"));
const firmware = join(work, "keycarrier.js");
let bundle = "";

async function emulator(): Promise<RunningEmulator> {
  return startEmulator({
    board: "nrf52840", tcpPort: 0, pty: false, ptyPath: undefined, controlPort: 0,
    flashFile: undefined, seed: 7, virtualClock: false, banner: true,
  });
}

afterAll(() => rmSync(work, { recursive: true, force: true }));

beforeAll(async () => {
  process.env.KEYCARRIER_HOME = work; // keep the emulator registry out of ~
  bundle = (await compile({ entry: "firmware/src/main.ts", minify: true })).code;
  writeFileSync(firmware, bundle);
}, 60_000);

describe("EVAL packets (facts §6: 10 01 HH LL payload; reply 06 then a RESPONSE packet)", () => {
  it("frames an expression with type 0x2000 and its length", () => {
    expect(Array.from(encodeEvalPacket("1+2"))).toEqual([0x10, 0x01, 0x20, 0x03, 0x31, 0x2b, 0x32]);
  });
  it("finds the RESPONSE after the ACK, skipping console text; NAK is an error", () => {
    const reply = [..."junk>"].map((c) => c.charCodeAt(0)).concat([0x06, 0x10, 0x01, 0x00, 0x02, 0x34, 0x32]);
    expect(parseEvalReply(reply)).toEqual({ kind: "value", text: "42" });
    expect(parseEvalReply(reply.slice(0, -1))).toBeUndefined();
    expect(parseEvalReply([0x15, 0x45])).toEqual({ kind: "error", text: "E" });
  });
});

describe("keycarrier flash → keycarrier emulate over tcp", () => {
  let emu: RunningEmulator;
  beforeAll(async () => { emu = await emulator(); });
  afterAll(async () => { await emu?.stop(); });

  it("uploads with EspruinoTools, verifies .bootcde by CRC-32, reboots into the firmware", async () => {
    const progress: [number, number][] = [];
    const result = await flashFirmware({ port: emu.tcp.url, firmwareFile: firmware, onProgress: (s, t) => progress.push([s, t]) });
    expect(emu.board.storage.read(".bootcde")).toBe(bundle);
    expect(result.bytes).toBe(bundle.length);
    expect(result.crc32).toBe(crc32(new Uint8Array(Buffer.from(bundle, "latin1"))));
    expect(result.espruinoVersion).toMatch(/^2v\d+/);
    // progress is monotonic and ends at the total, which covers the escaped bundle
    expect(progress.length).toBeGreaterThan(3);
    const [lastSent, lastTotal] = progress[progress.length - 1]!;
    expect(lastSent).toBe(lastTotal);
    expect(lastTotal).toBeGreaterThan(bundle.length);
    for (let i = 1; i < progress.length; i++) expect(progress[i]![0]).toBeGreaterThanOrEqual(progress[i - 1]![0]);
    expect(result.booted).toMatchObject({ stateName: "BLANK", board: "NRF52840DK", protocolVersion: { major: 1 } });
  }, 60_000);

  it("refuses a second flash with a reason: the firmware has moved the console off USB", async () => {
    const err = await flashFirmware({ port: emu.tcp.url, firmwareFile: firmware }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(FlashError);
    expect((err as FlashError).reason).toBe("firmware-running");
    expect((err as FlashError).message).toMatch(/BTN1/);
  }, 30_000);

  it("accepts new firmware after BTN1-at-boot recovery (CLI --ram --json; .bootcde is covered above)", async () => {
    const control = await ControlClient.connect(emu.control.port);
    try {
      await control.request("press", { button: 1 });
      await control.request("power-cycle");
      await control.request("release", { button: 1 });
    } finally {
      control.close();
    }
    const out: string[] = [];
    const err: string[] = [];
    const code = await main(["flash", "--port", emu.tcp.url, "--firmware", firmware, "--ram", "--json"], {
      stdout: (t) => out.push(t), stderr: (t) => err.push(t), env: { KEYCARRIER_HOME: work },
    });
    expect(code, err.join("")).toBe(0);
    const json = JSON.parse(out.join("")) as Record<string, unknown>;
    expect(json).toMatchObject({ ok: true, target: "ram", bytes: bundle.length, booted: { stateName: "BLANK" } });
    expect(err.join("")).toMatch(/uploading \[#+\] 100%/);
  }, 60_000);
});

describe("flash edge cases and refusals", () => {
  it("a program that fits one 512-byte write block still finishes (the CLI would hang: toolchain facts)", async () => {
    const emu = await emulator();
    try {
      const tiny = join(work, "tiny.js");
      const program = 'var kcTiny = "fits in one block";\n';
      writeFileSync(tiny, program);
      const r = await flashFirmware({ port: emu.tcp.url, firmwareFile: tiny, reboot: false, uploadTimeoutMs: 20_000 });
      expect(r.booted).toBeUndefined();
      expect(emu.board.storage.read(".bootcde")).toBe(program);
    } finally {
      await emu.stop();
    }
  }, 30_000);

  it("over a PTY path, which serialport.list() never reports (the driver adds it)", async (ctx) => {
    const socat = findSocat();
    if ("missing" in socat) {
      console.log(`skipped: no PTY without socat (${socat.missing})`);
      ctx.skip();
    }
    const path = join(work, "ttyKCflash");
    const emu = await startEmulator({
      board: "pico", tcpPort: 0, pty: true, ptyPath: path, controlPort: 0,
      flashFile: undefined, seed: 3, virtualClock: false, banner: true,
    });
    try {
      expect(emu.pty?.path).toBe(path);
      const r = await flashFirmware({ port: path, firmwareFile: firmware, target: "ram" });
      expect(r.booted).toMatchObject({ board: "PICO_R1_3", stateName: "BLANK" });
    } finally {
      await emu.stop();
    }
  }, 40_000);

  it("without --firmware the board's own bundle is uploaded, chosen by its process.env.BOARD", async () => {
    const emu = await startEmulator({
      board: "pico", tcpPort: 0, pty: false, ptyPath: undefined, controlPort: 0, flashFile: undefined, seed: 4, virtualClock: false, banner: true,
    });
    try {
      const r = await flashFirmware({ port: emu.tcp.url, target: "ram" });
      expect(r.firmwareFile).toMatch(/firmware\/dist\/keycarrier\.js$/);
      expect(r.booted).toMatchObject({ board: "PICO_R1_3", stateName: "BLANK" });
    } finally {
      await emu.stop();
    }
  }, 40_000);

  it("each profile's Espruino board maps to the bundle the profile names; an unknown board is refused with the known ones", () => {
    expect(bundleForBoard("PICO_R1_3")).toMatch(/firmware\/dist\/keycarrier\.js$/);
    expect(bundleForBoard("PUCKJS")).toMatch(/firmware\/dist\/keycarrier\.nfc\.js$/);
    expect(bundleForBoard("NRF52840DK")).toMatch(/firmware\/dist\/keycarrier\.full\.js$/);
    let err: unknown;
    try { bundleForBoard("ESPRUINOBOARD"); } catch (e) { err = e; }
    expect(err).toBeInstanceOf(FlashError);
    expect((err as FlashError).message).toMatch(/"ESPRUINOBOARD", which no board profile describes \(known: .*PUCKJS = puckjs.*\); pass --firmware FILE/);
  });

  it("a missing bundle says how to build it", () => {
    expect(() => readFirmware(join(work, "nope.js"))).toThrow(/npm run build/);
  });

  it("a board whose console is password-locked is refused as console-locked", async () => {
    const emu = await emulator();
    try {
      const out = emu.board.evaluate('E.setPassword("s3cret"), E.lockConsole()');
      expect(out.ok).toBe(true);
      const err = await flashFirmware({ port: emu.tcp.url, firmwareFile: firmware }).catch((e: unknown) => e);
      expect((err as FlashError).reason).toBe("console-locked");
      expect((err as FlashError).message).toContain("console locked: this carrier is personalised; only a BLANK carrier or BTN1-at-boot recovery accepts new firmware");
      expect(emu.board.storage.read(".bootcde")).toBeUndefined();
    } finally {
      await emu.stop();
    }
  }, 30_000);
});
