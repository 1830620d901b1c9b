// The real EspruinoTools CLI (node_modules/espruino 0.1.67) uploads a program to a virtual board's
// .bootcde over TCP; after a power cycle the board runs it. Toolchain facts: the CLI needs
// --no-ble, `--board file.json` skips board detection offline, and it hangs when the whole upload
// fits one 512-char block — so the program below is larger than that.
import { spawn } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import net from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startEmulator, type RunningEmulator } from "../host/src/cli/emulate.ts";
import { ControlClient } from "../board/src/expose/control.ts";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const CLI = join(ROOT, "node_modules", "espruino", "bin", "espruino-cli.js");
const MARK = "KC-BOOT-OK";

const PROGRAM = `// uploaded by hil-tests/espruino-tools.test.ts
var greeting = "${MARK}";
function pad(s, n) { while (s.length < n) s = s + "."; return s; }
var rows = [
  "the quick brown fox jumps over the lazy dog, the quick brown fox jumps",
  "over the lazy dog, the quick brown fox jumps over the lazy dog, the qu",
  "ick brown fox jumps over the lazy dog, the quick brown fox jumps over ",
  "the lazy dog, the quick brown fox jumps over the lazy dog, the quick b",
  "rown fox jumps over the lazy dog, the quick brown fox jumps over the l",
  "azy dog, the quick brown fox jumps over the lazy dog, the quick brown "
];
var accent = "é"; // --storage embeds the code as an escaped string: one byte (0xE9) on the board
var total = 0;
for (var i = 0; i < rows.length; i++) total += rows[i].length;
print(pad(greeting, 12) + total + " " + accent.length);
`;

interface CliRun { code: number | null; out: string }

/** Run the EspruinoTools CLI; kill it (and fail) if it takes longer than `ms`. */
function runCli(args: string[], cwd: string, ms: number): Promise<CliRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], { cwd, stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    child.stdout.on("data", (d: Buffer) => { out += d.toString("latin1"); });
    child.stderr.on("data", (d: Buffer) => { out += d.toString("latin1"); });
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`espruino CLI did not finish within ${ms} ms; output so far:\n${out}`));
    }, ms);
    child.on("exit", (code) => { clearTimeout(timer); resolve({ code, out }); });
  });
}

describe("EspruinoTools CLI → virtual board over TCP", () => {
  let emu: RunningEmulator;
  let dir: string;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "kc-espruino-tools-"));
    process.env.KEYCARRIER_HOME = dir; // keep the emulator registry out of ~
    emu = await startEmulator({
      board: "nrf52840", tcpPort: 0, pty: false, ptyPath: undefined, controlPort: 0,
      flashFile: undefined, seed: 1, virtualClock: true, banner: true,
    });
  });
  afterAll(async () => { await emu?.stop(); });

  it("uploads to .bootcde with --storage and the program runs after a power cycle", async () => {
    expect(PROGRAM.length).toBeGreaterThan(512);
    writeFileSync(join(dir, "prog.js"), PROGRAM);
    // Offline board description: the CLI reads it instead of asking the board.
    writeFileSync(join(dir, "board.json"), JSON.stringify({
      info: { name: "KeyCarrier virtual nRF52840", binary_version: "2v29", builtin_modules: ["Storage"] },
    }));
    const run = await runCli(
      ["-p", emu.tcp.url, "--no-ble", "--board", join(dir, "board.json"), "--storage", ".bootcde:-", "prog.js"],
      dir, 30_000,
    );
    expect(run.code, run.out).toBe(0);
    expect(run.out).toContain("Upload Complete");
    // the CLI ends with load(".bootcde"), so the program already ran once
    expect(run.out).toContain(`${MARK}..${6 * 70} 1`);
    // Not UTF-8: the CLI escapes the file into a Storage.write string literal ("é" → one byte).
    expect(emu.board.storage.read(".bootcde")).toBe(PROGRAM);

    // Power-cycle through the control port and watch the USB console over TCP.
    const socket = await new Promise<net.Socket>((resolve, reject) => {
      const s = net.connect(emu.tcp.port, "127.0.0.1", () => resolve(s));
      s.once("error", reject);
    });
    let seen = "";
    const booted = new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no boot output within 5 s: ${JSON.stringify(seen)}`)), 5000);
      socket.on("data", (d: Buffer) => {
        seen += d.toString("latin1");
        if (seen.endsWith(">")) { clearTimeout(timer); resolve(); }
      });
    });
    const control = await ControlClient.connect(emu.control.port);
    try {
      await control.request("power-cycle");
      await booted;
    } finally {
      control.close();
      socket.destroy();
    }
    // As 2v29 prints it (measured, Linux build): the first output erases the (empty) input line, the
    // boot code's output follows, and jsiSemiInit shows no banner after autoloading .bootcde — then
    // the newline and the prompt.
    expect(seen.startsWith(`\r\x1b[J${MARK}..420 1\r\n`)).toBe(true);
    expect(seen).not.toContain(" 2v29 (c) ");
    expect(seen.endsWith("\r\n>")).toBe(true);
  }, 45_000);
});
