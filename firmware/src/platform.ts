// The only firmware module that touches Espruino globals. Everything else is plain TypeScript.
// Each function guards for boards that lack a peripheral (e.g. Puck.js has no USB).
import type { LinkDeps } from "./link.ts";
import type { Dispatcher } from "./dispatch.ts";
import { CAP_AES, CAP_NFC, CAP_SHA256, CAP_USB } from "./protocol.ts";
import type { StoragePort, StoreEnv } from "./store/ports.ts";
import type { CryptoPort } from "./security/crypto-port.ts";
import type { CryptoPrimitives } from "./crypto/primitives.ts";
import { createEspruinoPrimitives, type EspruinoCryptoModule, type EspruinoE } from "./crypto/espruino.ts";
import { raise } from "./raise.ts";
import type { ScreenPort } from "./ui/display.ts";

// Board pins the @types/espruino snapshot does not declare (every supported board has them).
declare const LED1: Pin;
declare const LED2: Pin;
declare const BTN1: Pin;

export function boardSerial(): string {
  return String(getSerial());
}

export function boardId(): string {
  return String(process.env.BOARD || "UNKNOWN");
}

export function log(line: string): void {
  print(line);
}

export function hasUsb(): boolean {
  return typeof USB !== "undefined";
}

// Puck.js, Pixl.js, MDBT42Q and a custom nRF52840 build have the raw tag API (facts §7).
export function hasNfc(): boolean {
  return typeof NRF !== "undefined" && typeof (NRF as unknown as { nfcStart?: unknown }).nfcStart === "function";
}

export function crc32(bytes: string): number {
  return E.CRC32(bytes) >>> 0;
}

export function storageFree(): number {
  try {
    return require("Storage").getFree(); // not storageModule(): INFO calls this, a call costs ~0.5 ms
  } catch (e) {
    return 0;
  }
}

export function capabilities(): number {
  let caps = 0;
  if (hasUsb()) caps |= CAP_USB;
  if (hasNfc()) caps |= CAP_NFC;
  try {
    // require("crypto") throws on builds without the module (facts §3: NRF52840DK, Pixl.js SHA1 only).
    const crypto = require("crypto") as { SHA256?: unknown; AES?: unknown };
    if (typeof crypto.SHA256 === "function") caps |= CAP_SHA256;
    if (crypto.AES !== undefined && crypto.AES !== null) caps |= CAP_AES;
  } catch (e) {
    // no crypto module: no native crypto capabilities
  }
  return caps;
}

export function setTimer(fn: () => void, ms: number): unknown {
  return setTimeout(fn, ms);
}

// clearTimeout(undefined) throws and clearTimeout() clears every timer (facts §9), so only a real id
// is ever passed on.
export function clearTimer(handle: unknown): void {
  if (typeof handle === "number") clearTimeout(handle);
}

export function usbWrite(bytes: string): void {
  USB.write(bytes);
}

// Moves the console off USB, so the REPL stops echoing and interpreting bytes, then delivers raw
// USB chunks to onData (facts §6: USB.on('data') fires only when USB is not the console).
// The caller checks hasUsb() first (it builds the USB link only on a board with USB).
export function startUsbLink(onData: (chunk: string) => void): void {
  E.setConsole(null, { force: true });
  USB.on("data", onData);
}

// A link's ports: USB.write for USB, the mailbox's reply pages for NFC.
export function linkDeps(write: (bytes: string) => void, handle: Dispatcher): LinkDeps {
  return { write: write, crc32: crc32, setTimer: setTimer, clearTimer: clearTimer, handle: handle };
}

// ───────────── NFC (PROTOCOL.md §10): Espruino's raw Type 2 Tag API (facts §7)

interface NrfNfc {
  nfcStart(uid?: unknown): ArrayBuffer;
  nfcSend(reply?: string | number): void;
  on(event: string, fn: (data?: ArrayBuffer) => void): void;
}

export function bytesToString(bytes: Uint8Array): string {
  return (E as unknown as { toString(d: Uint8Array | ArrayBuffer): string }).toString(bytes);
}

// Starts the tag and delivers each reader frame to onFrame, whose answer (bytes, or a 4-bit
// ACK/NACK) is sent at once: the reply must start within the 4.8 ms frame delay, so the listener is
// one statement around onFrame; afterFrame runs once the answer is out. NFCon needs nothing: the
// mailbox is as the field left it. Returns the 10-byte UID header nfcStart gives (T2T pages 0-2
// without the lock bytes), or null on a board without the NFC API.
export function startNfc(onFrame: (frame: Uint8Array) => string | number, afterFrame: () => void, onFieldOff: () => void): string | null {
  if (!hasNfc()) return null;
  const nrf = NRF as unknown as NrfNfc;
  const tag = bytesToString(new Uint8Array(nrf.nfcStart()));
  nrf.on("NFCrx", function (ab) {
    // NOINLINE: terser would otherwise paste the single-use handlers in here as IIFEs, and Espruino
    // then creates (and lexes) a function instance on every reader frame: ~1.4 ms of the 4.8 ms.
    nrf.nfcSend(/*#__NOINLINE__*/ onFrame(new Uint8Array(ab!)));
    return /*#__NOINLINE__*/ afterFrame();
  });
  nrf.on("NFCoff", onFieldOff);
  return tag;
}

// ───────────── store, crypto, time (the carrier's ports)

// Storage erase unit: 16 KB flash pages on the Pico (STM32F401), 4 KB on the nRF52 boards.
export function storagePageBytes(): number {
  return boardId().indexOf("PICO") === 0 ? 16384 : 4096;
}

// require stays inside try: esbuild then leaves Espruino's built-in module to the board.
function storageModule(): StoragePort {
  try {
    return require("Storage") as unknown as StoragePort;
  } catch (e) {
    raise("platform: no Storage");
  }
}

export function storeEnv(): StoreEnv {
  return { storage: storageModule(), crc32: crc32, pageBytes: storagePageBytes() };
}

export function nowMs(): number {
  return getTime() * 1000;
}

// The crypto module, or null on builds without it (facts §3: NRF52840DK has none). require stays
// inside try so esbuild leaves "crypto" to the board instead of bundling it.
function cryptoModule(): EspruinoCryptoModule | null {
  try {
    const c = require("crypto") as EspruinoCryptoModule;
    return typeof c.SHA256 === "function" && c.AES !== undefined ? c : null;
  } catch (e) {
    return null;
  }
}

export function cryptoPrimitives(): CryptoPrimitives | null {
  const c = cryptoModule();
  if (c === null) return null;
  try {
    return /*#__NOINLINE__*/ createEspruinoPrimitives(c, E as unknown as EspruinoE);
  } catch (e) {
    return null;
  }
}

/**
 * The offline signer's natives (firmware/src/offline/lms.ts): crypto.SHA256 over flat buffers,
 * E.toUint8Array to build each chain step's input, E.toString for the signature. Native functions
 * called detached: they are static (no `this`), as crypto.ts's sha/aes wrappers already rely on.
 */
export function lmsNatives(): { sha(d: unknown): unknown; flat(...p: unknown[]): unknown; str(...p: unknown[]): string } {
  const e = E as unknown as { toUint8Array(...p: unknown[]): unknown; toString(...p: unknown[]): string };
  return { sha: cryptoModule()!.SHA256 as (d: unknown) => unknown, flat: e.toUint8Array, str: e.toString };
}

/** The security module's crypto: AES-256-ECB both ways (ECB decrypt is right on boards, facts §3). */
export function carrierCrypto(prims: CryptoPrimitives): CryptoPort {
  const c = cryptoModule()!;
  const aes = c.AES as unknown as { decrypt(d: string, k: string, o: { mode: string }): ArrayBuffer };
  const e = E as unknown as EspruinoE;
  const ecb = { mode: "ECB" };
  return {
    sha256: prims.sha256,
    aesEncryptEcb: prims.aesEcb,
    aesDecryptEcb: function (key: string, data: string): string {
      return e.toString(aes.decrypt(data, key, ecb));
    },
    randomBytes: prims.random,
  };
}

/** The factory-installed transport key (PROTOCOL.md §7.4), or undefined. */
export function readTransportKeyFile(name: string): string | undefined {
  const s = storageModule().read(name);
  return typeof s === "string" && s.length === 32 ? s : undefined;
}

// PROVISION (PROTOCOL.md §7.4): the factory writes the carrier's transport key once.
export function writeTransportKeyFile(name: string, key: string): boolean {
  return storageModule().write(name, key) === true;
}

// ───────────── trusted UI and presence: LEDs and BTN1

export function setLed(led: number, on: boolean): void {
  digitalWrite(led === 1 ? LED1 : LED2, on ? 1 : 0);
}

// Both edges of BTN1, debounced by Espruino. Returns false on a board without BTN1.
export function watchButton(down: () => void, up: () => void): boolean {
  if (typeof BTN1 === "undefined") return false;
  setWatch(function (e: { state: boolean }) {
    if (e.state) down();
    else up();
  }, BTN1, { repeat: true, edge: "both", debounce: 25 });
  return true;
}

// ───────────── console lockdown (PROTOCOL.md §9.1, SECURITY.md §7)

// Takes the JavaScript console off every device (USB, Serial1, Bluetooth): nothing typed reaches
// the interpreter any more. Nothing in the firmware gives it back; BTN1 held at power-on (which
// skips the boot code) is the only way to a REPL.
export function lockConsole(): void {
  E.setConsole(null, { force: true });
  try {
    if (typeof NRF !== "undefined") (NRF as unknown as { setServices(s: object, o: object): void }).setServices({}, { uart: false });
  } catch (e) {
    // boards or builds without the BLE UART service: nothing to remove
  }
}

// ───────────── trusted display (KC_DISPLAY bundles only, docs/DISPLAY.md)

// The display board's wiring (board/boards/nrf52840-oled.json "screen"): a 128x64 SSD1306 at 0x3C on
// I2C1, SCL P0.27 / SDA P0.26 (the nRF52840 DK's Arduino-header I2C pins), at the 400 kHz the
// SSD1306 allows (Espruino's default is 100 kHz: 4x the bus time per frame).
export const SCREEN_I2C_BITRATE = 400000;

// The screen as a Graphics object whose flip() sends the buffer (EspruinoDocs SSD1306 module, which
// the upload carries: Modules.addCached), or null on a board without one: no I2C1/Graphics, or no
// SSD1306 module. The module sends its init commands 50 ms later from a timer; drawing before that
// is kept in the panel's RAM and appears when it switches on. require stays inside try so esbuild
// leaves the module to the board.
export function openScreen(): ScreenPort | null {
  try {
    if (typeof I2C1 === "undefined" || typeof (global as unknown as { Graphics?: unknown }).Graphics === "undefined") return null;
    const ssd1306 = require("SSD1306") as { connect(i2c: unknown, callback: unknown, options: object): ScreenPort };
    I2C1.setup({ scl: D27, sda: D26, bitrate: SCREEN_I2C_BITRATE });
    return ssd1306.connect(I2C1, undefined, { height: 64 });
  } catch (e) {
    return null;
  }
}
