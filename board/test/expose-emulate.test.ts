// `keycarrier emulate` as a process: the announce line, the console over TCP, the control port's
// virtual clock, and flash persisted to --flash across runs.
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync } from "node:fs";
import net from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { ControlClient } from "../src/expose/control.ts";
import { defaultFirmwareFor, parseEmulateArgs, startEmulator } from "../../host/src/cli/emulate.ts";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const BIN = join(ROOT, "host", "bin", "keycarrier.mjs");

interface Started { child: ChildProcess; tcp: number; control: number; line: string }

function startEmulate(args: string[], home: string): Promise<Started> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, "emulate", ...args], {
      cwd: ROOT, env: { ...process.env, KEYCARRIER_HOME: home }, stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    let err = "";
    const timer = setTimeout(() => { child.kill("SIGKILL"); reject(new Error(`emulate did not announce within 20 s: ${out}${err}`)); }, 20_000);
    child.stderr!.on("data", (d: Buffer) => { err += d.toString(); });
    child.stdout!.on("data", (d: Buffer) => {
      out += d.toString();
      const m = /^keycarrier-emulate: tcp=127\.0\.0\.1:(\d+) control=127\.0\.0\.1:(\d+) pty=\S+ board=\S+ clock=\S+$/m.exec(out);
      if (m) { clearTimeout(timer); resolve({ child, tcp: Number(m[1]), control: Number(m[2]), line: m[0] }); }
    });
    child.on("exit", (code) => { clearTimeout(timer); reject(new Error(`emulate exited with ${code}: ${out}${err}`)); });
  });
}

function stop(child: ChildProcess): Promise<number | null> {
  return new Promise((resolve) => {
    child.removeAllListeners("exit");
    child.on("exit", (code) => resolve(code));
    child.kill("SIGTERM");
  });
}

/** Send one line to the REPL and wait for the prompt after its result. */
async function repl(port: number, line: string): Promise<string> {
  const s = await new Promise<net.Socket>((resolve, reject) => {
    const sock = net.connect(port, "127.0.0.1", () => resolve(sock));
    sock.once("error", reject);
  });
  try {
    return await new Promise<string>((resolve, reject) => {
      let text = "";
      const timer = setTimeout(() => reject(new Error(`no prompt: ${JSON.stringify(text)}`)), 5000);
      s.on("data", (d: Buffer) => {
        text += d.toString("latin1");
        if (/\r\n>$/.test(text)) { clearTimeout(timer); resolve(text); }
      });
      s.write(line + "\r");
    });
  } finally {
    s.destroy();
  }
}

describe("parseEmulateArgs", () => {
  it("reads every option and rejects bad ones with a reason", () => {
    expect(parseEmulateArgs(["--board", "puckjs", "--tcp", "4000", "--pty", "--control", "4001", "--seed", "9", "--virtual-clock"]))
      .toMatchObject({ board: "puckjs", tcpPort: 4000, pty: true, ptyPath: undefined, controlPort: 4001, seed: 9, virtualClock: true });
    expect(parseEmulateArgs(["--board", "pico", "--pty", "/tmp/x", "--flash", "f.bin"])).toMatchObject({ ptyPath: "/tmp/x", flashFile: "f.bin" });
    expect(() => parseEmulateArgs([])).toThrow(/--board is required/);
    expect(() => parseEmulateArgs(["--board", "pico", "--tcp", "99999"])).toThrow(/port number/);
    expect(() => parseEmulateArgs(["--board", "pico", "--bogus"])).toThrow(/unknown option "--bogus"/);
  });

  it("--firmware without a file takes the bundle the board's profile names (keycarrier.nfc.js with --nfc on a board whose bundle has no NFC link)", () => {
    expect(defaultFirmwareFor("puckjs", false)).toMatch(/firmware\/dist\/keycarrier\.nfc\.js$/);
    expect(defaultFirmwareFor("nrf52840", true)).toMatch(/firmware\/dist\/keycarrier\.full\.js$/);
    expect(defaultFirmwareFor("nrf52840", false)).toMatch(/firmware\/dist\/keycarrier\.full\.js$/);
    expect(defaultFirmwareFor("pico", true)).toMatch(/firmware\/dist\/keycarrier\.nfc\.js$/);
    expect(defaultFirmwareFor("pico", false)).toMatch(/firmware\/dist\/keycarrier\.js$/);
    expect(() => defaultFirmwareFor("nosuch", false)).toThrow(/unknown board profile/);
    // an explicit file is kept as given (the option is still parsed when the default is not built)
    expect(parseEmulateArgs(["--board", "pico", "--firmware", "package.json"]).firmwareFile).toBe("package.json");
  });
});

describe("keycarrier emulate", () => {
  it("serves the console, moves a virtual clock, and keeps flash in --flash across runs", async () => {
    const home = mkdtempSync(join(tmpdir(), "kc-emulate-"));
    const flash = join(home, "flash.bin");
    const args = ["--board", "nrf52840", "--virtual-clock", "--flash", flash, "--no-banner"];

    const first = await startEmulate(args, home);
    try {
      expect(first.line).toContain("board=nrf52840 clock=virtual");
      expect(existsSync(join(home, "emulators", `${first.child.pid}.json`))).toBe(true);
      expect(await repl(first.tcp, "require('Storage').write('note','kept')")).toBe("require('Storage').write('note','kept')\r\n=true\r\n>");
      expect(await repl(first.tcp, "t0=getTime()")).toMatch(/=0\r\n>$/);
      const c = await ControlClient.connect(first.control);
      await c.request("advance", { ms: 1500 });
      c.close();
      expect(await repl(first.tcp, "getTime()-t0")).toBe("getTime()-t0\r\n=1.5\r\n>");
    } finally {
      expect(await stop(first.child)).toBe(0);
    }
    expect(existsSync(flash)).toBe(true);
    expect(existsSync(join(home, "emulators", `${first.child.pid}.json`))).toBe(false);

    const second = await startEmulate(args, home);
    try {
      expect(await repl(second.tcp, "require('Storage').read('note')")).toBe("require('Storage').read('note')\r\n=\"kept\"\r\n>");
    } finally {
      await stop(second.child);
    }
  }, 60_000);
});

describe("startEmulator on a board without USB", () => {
  it("serves the Puck.js console (Serial1) on TCP and refuses NFC-less commands clearly", async () => {
    process.env.KEYCARRIER_HOME = mkdtempSync(join(tmpdir(), "kc-emulate-puck-"));
    const emu = await startEmulator({
      board: "puckjs", tcpPort: 0, pty: false, ptyPath: undefined, controlPort: 0,
      flashFile: undefined, seed: 3, virtualClock: true, banner: false,
    });
    try {
      // ENQ answers with the board id, then the "\r" that repl() sends is an empty line
      expect(await repl(emu.tcp.port, "\x05")).toBe("Espruino 2v29 PUCKJS\r\n\r\n>");
      expect(await repl(emu.tcp.port, "process.env.BOARD")).toBe("process.env.BOARD\r\n=\"PUCKJS\"\r\n>");
      const pico = await startEmulator({
        board: "pico", tcpPort: 0, pty: false, ptyPath: undefined, controlPort: 0,
        flashFile: undefined, seed: 3, virtualClock: true, banner: false,
      });
      try {
        const c = await ControlClient.connect(pico.control.port);
        await expect(c.request("nfc-field", { on: true })).rejects.toThrow(/has no NFC/);
        c.close();
      } finally {
        await pico.stop();
      }
    } finally {
      await emu.stop();
    }
  });
});
