/**
 * `keycarrier flash`: put a firmware bundle into a board's `.bootcde` the way real boards are
 * flashed — with EspruinoTools over the board's REPL — then prove it landed and boot it.
 *
 *   1. preflight  EVAL `process.env.VERSION` over the packet protocol: is there a REPL at all?
 *                 (a carrier running KeyCarrier has moved its console off USB; a personalised one
 *                 refuses, see FlashError reasons)
 *   2. modules    the Espruino modules the bundle requires (modules.ts: SSD1306 for a display
 *                 bundle), each uploaded to the Storage file require() finds, and verified as in 4
 *   3. upload     EspruinoTools as a library in a child process (espruino-driver.cjs), progress
 *                 reported as bytes handed to the port / bytes to send
 *   4. verify     length and E.CRC32 of `.bootcde` read on the board == the local file's
 *   5. reboot     E.reboot() (a hardware reset on boards), then INFO until the firmware answers
 */
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { listProfiles, loadProfile } from "../../../board/src/profiles.ts";
import { crc32 } from "../crc32.ts";
import { KeyCarrier, type DeviceInfo } from "../client.ts";
import { ConsoleWire, encodeEvalPacket } from "./console-wire.ts";
import { modulesFor } from "./modules.ts";
import { chunkFiles, type BundleSpec } from "../../../firmware/build/bundles.ts";

/** The USB-only bundle (NFC link compiled out): boards without NFC (pico) and USB-only use. */
export const DEFAULT_FIRMWARE_FILE = "firmware/dist/keycarrier.js";
/** The bundle with the NFC link (PROTOCOL.md §10): what boards with NFC take (nrf52840 for NFC, puckjs). */
export const NFC_FIRMWARE_FILE = "firmware/dist/keycarrier.nfc.js";
/** The repository's build output, wherever the CLI is run from. */
export const DEFAULT_FIRMWARE_PATH = fileURLToPath(new URL("../../../firmware/dist/keycarrier.js", import.meta.url));
export const NFC_FIRMWARE_PATH = fileURLToPath(new URL("../../../firmware/dist/keycarrier.nfc.js", import.meta.url));
export const BOOT_FILE = ".bootcde";
const DRIVER = fileURLToPath(new URL("./espruino-driver.cjs", import.meta.url));

export type FlashFailure =
  | "firmware-file"     // the local bundle is missing or not uploadable
  | "console-locked"    // a personalised carrier (or a password-locked REPL)
  | "firmware-running"  // a BLANK carrier running KeyCarrier: its console is off USB
  | "no-repl"           // nothing Espruino-like answered
  | "upload-failed"     // EspruinoTools failed or timed out
  | "verify-mismatch"   // .bootcde on the board differs from the local file
  | "no-boot";          // the rebooted board did not answer INFO

/** A refusal or failure of `flash`; `reason` is stable for scripts (`--json`). */
export class FlashError extends Error {
  constructor(readonly reason: FlashFailure, message: string) {
    super(message);
    this.name = "FlashError";
  }
}

export const CONSOLE_LOCKED_MESSAGE =
  "console locked: this carrier is personalised; only a BLANK carrier or BTN1-at-boot recovery accepts new firmware";

export interface FlashOptions {
  /** Port spec: a serial path or tcp://host:port (exec: has no REPL to upload to). */
  port: string;
  /**
   * The bundle to upload. Absent: the bundle the board's profile names (board/boards/*.json
   * "firmware"), found by the board's `process.env.BOARD` read at preflight.
   */
  firmwareFile?: string;
  baudRate?: number;
  /** Bytes handed to the port so far, of the total EspruinoTools will send. */
  onProgress?: (sent: number, total: number) => void;
  /** Step lines and EspruinoTools' own output (verbose). */
  log?: (line: string) => void;
  /** Reboot after verifying and wait for the firmware's INFO (default true). */
  reboot?: boolean;
  /**
   * "bootcde" (default): write .bootcde, verify it, reboot into it. "ram": send the code to RAM the
   * way EspruinoTools' plain upload does — it runs at once and is lost at the next reset; verified
   * by the firmware answering INFO (a bundle too big to leave Storage room for the carrier's store).
   */
  target?: "bootcde" | "ram";
  /** Whole-upload limit in ms (default 120,000). */
  uploadTimeoutMs?: number;
  /**
   * Which build the file is, for the chunk files it loads (firmware/build/bundles.ts). Absent: the
   * shipped bundle of that file name (none of which has chunks today).
   */
  bundle?: BundleSpec;
}

export interface FlashResult {
  /** The bundle uploaded (the one given, or the board's own). */
  firmwareFile: string;
  bytes: number;
  crc32: number;
  espruinoVersion: string;
  uploadMs: number;
  target: "bootcde" | "ram";
  /** The bundle's chunk files uploaded and verified before it (Storage name, bytes, CRC-32); none for most bundles. */
  chunks: { storageName: string; bytes: number; crc32: number }[];
  /** INFO from the rebooted board, when reboot was asked for (always for "ram"). */
  booted?: DeviceInfo;
  /** The modules uploaded with the bundle (Storage file name, bytes), verified like it. */
  modules: { name: string; bytes: number; crc32: number }[];
}

/**
 * The release bundle a board takes, by its Espruino build name (`process.env.BOARD`, a profile's
 * "espruinoBoard"): the profile's "firmware" in firmware/dist. An Espruino board no profile
 * describes is refused: the firmware has not been sized or tested for it.
 */
export function bundleForBoard(espruinoBoard: string): string {
  const profiles = listProfiles().map((id) => loadProfile(id));
  const match = profiles.find((p) => p.espruinoBoard === espruinoBoard);
  if (!match) {
    throw new FlashError("firmware-file",
      `the board says it is ${JSON.stringify(espruinoBoard)}, which no board profile describes (known: ${profiles.map((p) => `${p.espruinoBoard} = ${p.id}`).join(", ")}); ` +
      "pass --firmware FILE to upload a bundle anyway");
  }
  return fileURLToPath(new URL(`../../../firmware/dist/${match.firmware}`, import.meta.url));
}

/** Reads and checks the bundle: EspruinoTools' code writer turns control bytes and chars > 255 into "?". */
export function readFirmware(file: string): { code: Buffer; crc32: number } {
  if (!existsSync(file)) {
    throw new FlashError("firmware-file", `no firmware at ${file} — run \`npm run build\` to produce firmware/dist/keycarrier.js (and keycarrier.nfc.js for NFC boards), or pass --firmware FILE`);
  }
  const code = readFileSync(file);
  if (code.length === 0) throw new FlashError("firmware-file", `${file} is empty — rebuild it with \`npm run build\``);
  for (let i = 0; i < code.length; i++) {
    const b = code[i]!;
    if (b < 0x20 && b !== 0x09 && b !== 0x0a && b !== 0x0d) {
      throw new FlashError("firmware-file", `${file} has control byte 0x${b.toString(16).padStart(2, "0")} at offset ${i}; EspruinoTools would upload it as "?" — escape it in the source`);
    }
  }
  return { code, crc32: crc32(code) };
}

/** Decodes E.toJS output for the simple values flash asks for (numbers, strings, arrays of them). */
function parseToJs(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    throw new FlashError("no-repl", `the board answered ${JSON.stringify(text.slice(0, 80))}, which is not a value flash understands`);
  }
}

/** Works out why the REPL did not answer: locked, KeyCarrier firmware running, or nothing at all. */
async function diagnoseSilence(port: string, consoleText: string, baudRate: number | undefined): Promise<FlashError> {
  if (/password>|Invalid password/.test(consoleText)) return new FlashError("console-locked", CONSOLE_LOCKED_MESSAGE);
  let info: DeviceInfo | undefined;
  try {
    const kc = await KeyCarrier.open(port, { timeoutMs: 800, retries: 1, ...(baudRate !== undefined ? { baudRate } : {}) });
    info = kc.handshakeInfo;
    await kc.close();
  } catch {
    info = undefined;
  }
  if (info && info.stateName !== "BLANK") return new FlashError("console-locked", `${CONSOLE_LOCKED_MESSAGE} (INFO says ${info.stateName})`);
  if (info) {
    return new FlashError("firmware-running",
      `the carrier on ${port} runs KeyCarrier ${info.firmwareVersion} (BLANK), which has moved the console off USB; ` +
      "power it on with BTN1 held (Espruino's recovery: boot code skipped, REPL kept) and run flash again " +
      "(virtual board: control port `press`, `power-cycle`, `release`)");
  }
  return new FlashError("no-repl",
    `no Espruino REPL answered on ${port} within the preflight timeout — check the port, that the board runs Espruino, ` +
    "and that no other program (terminal, IDE) holds the port");
}

/** Runs espruino-driver.cjs and relays its progress. */
function upload(opts: FlashOptions, version: string, storageFile: string | null = opts.target === "ram" ? null : BOOT_FILE): Promise<void> {
  return new Promise((resolve, reject) => {
    const job = JSON.stringify({ port: opts.port, file: opts.firmwareFile, storageFile, version, ...(opts.baudRate ? { baud: opts.baudRate } : {}) });
    const child = spawn(process.execPath, [DRIVER, job], { stdio: ["ignore", "pipe", "pipe", "pipe"] });
    let done = false;
    let failure: string | undefined;
    let tail = "";
    const keep = (d: Buffer): void => {
      const text = d.toString("latin1");
      tail = (tail + text).slice(-2000);
      if (opts.log) for (const line of text.split("\n")) if (line.trim() && !line.startsWith("serial: Sending")) opts.log(`espruino: ${line}`);
    };
    child.stdout!.on("data", keep);
    child.stderr!.on("data", keep);
    let buffered = "";
    (child.stdio[3] as NodeJS.ReadableStream).on("data", (d: Buffer) => {
      buffered += d.toString("utf8");
      let nl: number;
      while ((nl = buffered.indexOf("\n")) >= 0) {
        const line = buffered.slice(0, nl);
        buffered = buffered.slice(nl + 1);
        let ev: { event?: string; sent?: number; total?: number; message?: string };
        try {
          ev = JSON.parse(line) as typeof ev;
        } catch {
          continue;
        }
        if (ev.event === "progress" && typeof ev.sent === "number" && typeof ev.total === "number") opts.onProgress?.(ev.sent, ev.total);
        else if (ev.event === "done") done = true;
        else if (ev.event === "error") failure = ev.message;
      }
    });
    const limit = opts.uploadTimeoutMs ?? 120_000;
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      failure = `EspruinoTools did not finish within ${limit} ms`;
    }, limit);
    child.on("exit", (code) => {
      clearTimeout(timer);
      if (done && code === 0) resolve();
      else reject(new FlashError("upload-failed", `upload failed: ${failure ?? `EspruinoTools exited with ${code}`}${tail ? `; last output:\n${tail.trim().split("\n").slice(-5).join("\n")}` : ""}`));
    });
  });
}

/** Asks the board for INFO until it answers (the firmware starts its link at boot). */
async function waitForFirmware(port: string, baudRate: number | undefined, withinMs: number): Promise<DeviceInfo> {
  const deadline = Date.now() + withinMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const kc = await KeyCarrier.open(port, { timeoutMs: 1000, retries: 2, ...(baudRate !== undefined ? { baudRate } : {}) });
      const info = kc.handshakeInfo!;
      await kc.close();
      return info;
    } catch (e) {
      last = e;
      await new Promise((r) => setTimeout(r, 300)); // a rebooting USB board re-enumerates
    }
  }
  throw new FlashError("no-boot", `the board was flashed and verified but did not answer INFO within ${withinMs} ms after the reboot (${(last as Error)?.message ?? "no answer"}) — is the bundle a KeyCarrier build?`);
}

/** Preflight → upload → verify → reboot. Throws FlashError with a reason on every refusal. */
export async function flashFirmware(opts: FlashOptions): Promise<FlashResult> {
  if (/^exec:/i.test(opts.port)) throw new FlashError("no-repl", "flash needs a serial port or tcp://host:port; exec: ports carry no REPL EspruinoTools can upload to");
  const log = opts.log ?? (() => {});
  let firmware = opts.firmwareFile !== undefined ? readFirmware(opts.firmwareFile) : undefined;

  let wire = await ConsoleWire.open(opts.port, opts.baudRate);
  let version: string;
  let firmwareFile = opts.firmwareFile;
  try {
    const outcome = await wire.evaluate("[process.env.VERSION,process.env.BOARD]", 1500);
    if (outcome.kind !== "value") {
      let text = outcome.text;
      if (outcome.kind === "silent") {
        // A locked console swallows the packet and prompts only at the end of a line: one empty
        // password attempt (harmless) makes it say so; a firmware link discards the bytes.
        await wire.writeRaw(Uint8Array.of(0x0d, 0x0a));
        await new Promise((r) => setTimeout(r, 500));
        text += wire.pendingText;
      }
      await wire.close();
      throw outcome.kind === "error"
        ? new FlashError("no-repl", `the REPL refused a simple EVAL (${text.trim().slice(0, 120)})`)
        : await diagnoseSilence(opts.port, text, opts.baudRate);
    }
    const [v, board] = parseToJs(outcome.text) as [unknown, unknown];
    version = String(v);
    if (firmwareFile === undefined) {
      firmwareFile = bundleForBoard(String(board));
      log(`board ${String(board)}: its bundle is ${path.relative(process.cwd(), firmwareFile) || firmwareFile}`);
      firmware = readFirmware(firmwareFile);
    }
  } finally {
    await wire.close();
  }
  if (firmware === undefined || firmwareFile === undefined) throw new FlashError("firmware-file", "no firmware chosen"); // unreachable: both set above
  opts = { ...opts, firmwareFile };
  const toRam = opts.target === "ram";
  log(`Espruino ${version} REPL found on ${opts.port}; uploading ${firmware.code.length} bytes to ${toRam ? "RAM" : BOOT_FILE}`);

  const started = performance.now();
  // First the modules the bundle requires (they must be in Storage before it runs: a RAM upload runs at once).
  const modules: FlashResult["modules"] = [];
  for (const m of modulesFor(firmware.code.toString("latin1"))) {
    const dir = mkdtempSync(path.join(tmpdir(), "keycarrier-flash-"));
    try {
      const file = path.join(dir, `${m.name}.js`);
      writeFileSync(file, m.source, "latin1");
      log(`module ${m.name} (${Buffer.byteLength(m.source, "latin1")} bytes): uploading to the Storage file ${JSON.stringify(m.name)}, where require(${JSON.stringify(m.name)}) finds it`);
      const mod = await uploadStorageFile({ ...opts, onProgress: undefined }, version, m.name, file);
      log(`verified: ${m.name} is ${mod.bytes} bytes, CRC-32 ${hex8(mod.crc32)}`);
      modules.push({ name: m.name, ...mod });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
  // The bundle's chunk files (firmware/build/bundles.ts; keycarrier.nfc.js loads kc.chp when
  // PERSONALISE or PROVISION arrives) go into Storage first, each checked like .bootcde (length and
  // CRC-32 read back): a bundle must never boot without the files it loads. Always into Storage,
  // also with --ram: the core reads them from there.
  const chunks: FlashResult["chunks"] = [];
  for (const c of chunkFiles(path.dirname(firmwareFile), firmwareFile, opts.bundle)) {
    log(`uploading ${Buffer.byteLength(c.code, "latin1")} bytes of ${c.distFile} to ${c.storageName}`);
    chunks.push({ storageName: c.storageName, ...(await uploadStorageFile(opts, version, c.storageName, path.join(path.dirname(firmwareFile), c.distFile))) });
  }
  await upload(opts, version);
  const uploadMs = Math.round(performance.now() - started);
  if (toRam) {
    // The code ran as it arrived; the firmware's link now owns the wire.
    const booted = await waitForFirmware(opts.port, opts.baudRate, 10_000);
    log(`running from RAM: KeyCarrier ${booted.firmwareVersion} on ${booted.board}, state ${booted.stateName} (gone at the next reset)`);
    return { firmwareFile, bytes: firmware.code.length, crc32: firmware.crc32, espruinoVersion: version, uploadMs, booted, target: "ram", modules, chunks };
  }

  await verifyStorageFile(opts, BOOT_FILE, firmware, firmwareFile);
  log(`verified: ${BOOT_FILE} is ${firmware.code.length} bytes, CRC-32 ${hex8(firmware.crc32)}, identical to ${firmwareFile}`);
  wire = await ConsoleWire.open(opts.port, opts.baudRate);
  try {
    if (opts.reboot ?? true) {
      // A hardware reset on boards: no reply to wait for.
      await wire.writeRaw(encodeEvalPacket("E.reboot()"));
      await new Promise((r) => setTimeout(r, 100));
    }
  } finally {
    await wire.close();
  }
  const result: FlashResult = { firmwareFile, bytes: firmware.code.length, crc32: firmware.crc32, espruinoVersion: version, uploadMs, target: "bootcde", modules, chunks };
  if (opts.reboot ?? true) {
    result.booted = await waitForFirmware(opts.port, opts.baudRate, 10_000);
    log(`rebooted: KeyCarrier ${result.booted.firmwareVersion} on ${result.booted.board}, state ${result.booted.stateName}`);
  }
  return result;
}

/** Uploads a local file into the Storage file `storageName` and checks it there (verifyStorageFile). */
async function uploadStorageFile(opts: FlashOptions, version: string, storageName: string, file: string): Promise<{ bytes: number; crc32: number }> {
  const data = readFirmware(file);
  await upload({ ...opts, firmwareFile: file }, version, storageName);
  await verifyStorageFile(opts, storageName, data, file);
  return { bytes: data.code.length, crc32: data.crc32 };
}

/** Reads a Storage file's length and CRC-32 back from the board's REPL and compares them with the local file's. */
async function verifyStorageFile(opts: FlashOptions, storageFile: string, local: { code: Buffer; crc32: number }, localFile: string): Promise<void> {
  const wire = await ConsoleWire.open(opts.port, opts.baudRate);
  try {
    const expr = `(function(s){return s===undefined?[-1,0]:[s.length,E.CRC32(s)>>>0];})(require("Storage").read(${JSON.stringify(storageFile)}))`;
    const outcome = await wire.evaluate(expr, 5000);
    if (outcome.kind !== "value") throw new FlashError("verify-mismatch", `could not read ${storageFile} back after the upload (${outcome.text.trim().slice(0, 120) || "no answer"})`);
    const [length, crc] = parseToJs(outcome.text) as [number, number];
    if (length !== local.code.length || crc !== local.crc32) {
      throw new FlashError("verify-mismatch",
        `${storageFile} on the board is ${length < 0 ? "missing" : `${length} bytes, CRC-32 ${hex8(crc)}`} but ${localFile} is ${local.code.length} bytes, CRC-32 ${hex8(local.crc32)} — ` +
        "the upload was corrupted or Storage is full; run flash again (check free space with require(\"Storage\").getFree())");
    }
  } finally {
    await wire.close();
  }
}

function hex8(n: number): string {
  return (n >>> 0).toString(16).padStart(8, "0");
}

/** A one-line progress bar for a terminal (`\r`-redrawn) or a log (a line per 10 %). */
export function progressBar(write: (text: string) => void, isTty: boolean): { update(sent: number, total: number): void; finish(): void } {
  let lastDecile = -1;
  let drawn = false;
  return {
    update(sent, total) {
      const fraction = total > 0 ? Math.min(1, sent / total) : 0;
      const width = 30;
      const filled = Math.round(fraction * width);
      const line = `uploading [${"#".repeat(filled)}${" ".repeat(width - filled)}] ${String(Math.floor(fraction * 100)).padStart(3)}% ${sent}/${total} bytes`;
      if (isTty) {
        write(`\r${line}`);
        drawn = true;
      } else {
        const decile = Math.floor(fraction * 10);
        if (decile !== lastDecile) {
          lastDecile = decile;
          write(line + "\n");
        }
      }
    },
    finish() {
      if (drawn) write("\n");
    },
  };
}
