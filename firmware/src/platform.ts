// The only firmware module that touches Espruino globals. Everything else is plain TypeScript.
// Each function guards for boards that lack a peripheral (e.g. Puck.js has no USB).
import type { LinkDeps } from "./link.ts";
import { CAP_AES, CAP_NFC, CAP_SHA256, CAP_USB } from "./protocol.ts";

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

export function crc32(bytes: string): number {
  return E.CRC32(bytes) >>> 0;
}

export function storageFree(): number {
  try {
    return require("Storage").getFree();
  } catch (e) {
    return 0;
  }
}

export function capabilities(): number {
  let caps = 0;
  if (hasUsb()) caps |= CAP_USB;
  if (typeof NRF !== "undefined" && typeof (NRF as unknown as { nfcStart?: unknown }).nfcStart === "function") caps |= CAP_NFC;
  try {
    // require("crypto") throws on builds without the module (facts §3: NRF52840DK, Pixl.js SHA1 only).
    const crypto = require("crypto") as { SHA256?: unknown; AES?: unknown };
    if (typeof crypto.SHA256 === "function") caps |= CAP_SHA256;
    if (typeof crypto.AES === "object" && crypto.AES !== null) caps |= CAP_AES;
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
export function startUsbLink(onData: (chunk: string) => void): boolean {
  if (!hasUsb()) return false;
  E.setConsole(null, { force: true });
  USB.on("data", onData);
  return true;
}

export function usbLinkDeps(handle: LinkDeps["handle"]): LinkDeps {
  return { write: usbWrite, crc32: crc32, setTimer: setTimer, clearTimer: clearTimer, handle: handle };
}
