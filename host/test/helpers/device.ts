// A device for host tests: the REAL firmware link, dispatcher, INFO and PING (firmware/src/)
// running in Node, plus fault injection on the device → host direction.
// It shares no code with the host link, so host and firmware framing are checked against each other.
import { readFileSync } from "node:fs";
import { crc32 as zlibCrc32 } from "node:zlib";
import { createServer, type Server, type Socket } from "node:net";
import { createDeviceLink, type DeviceLink, type HandlerReply } from "../../../firmware/src/link.ts";
import { createDispatcher } from "../../../firmware/src/dispatch.ts";
import { createInfoCommand } from "../../../firmware/src/commands/info.ts";
import { createPingCommand } from "../../../firmware/src/commands/ping.ts";
import type { Transport } from "../../src/transport/types.ts";

const frames = JSON.parse(readFileSync(new URL("../../../firmware/vectors/frames.json", import.meta.url), "utf8")) as {
  valid: { name: string; hex: string; bodyHex: string; seq: number; code: number; type: number; version: number }[];
};
/** The INFO response body of PROTOCOL.md §7.1 (firmware/vectors/frames.json). */
export const INFO_BODY_HEX = frames.valid.find((v) => v.name.startsWith("INFO response"))!.bodyHex;

const toLatin1 = (b: Uint8Array): string => Buffer.from(b).toString("latin1");
const fromLatin1 = (s: string): Uint8Array => Uint8Array.from(Buffer.from(s, "latin1"));

/** The firmware's own dispatcher with INFO and PING, fed the identity of the §7.1 worked example. */
function firmwareHandler(): (command: number, body: string) => HandlerReply {
  const info = createInfoCommand({
    firmwareVersion: "0.1.0",
    board: () => "PUCKJS",
    serial: () => "c0ffee00-12345678",
    state: () => 0,
    capabilities: () => 0x0e,
    storageFree: () => 32768,
  });
  return createDispatcher([info, createPingCommand()], () => 0);
}

export interface Faults {
  /** Drop this many whole responses (the device executed, the bytes were lost). */
  dropResponses?: number;
  /** Send this before every response (banner / console noise). */
  noiseBefore?: Uint8Array;
  /** Deliver output in chunks of this many bytes. */
  chunkSize?: number;
  /** Also send back everything the host sends (an echoing console). */
  echo?: boolean;
  /** Swallow everything (a port with no firmware on it). */
  mute?: boolean;
}

export class TestDevice {
  readonly link: DeviceLink;
  faults: Faults;
  private out: (bytes: Uint8Array) => void = () => {};
  readonly received: Uint8Array[] = [];

  constructor(faults: Faults = {}) {
    this.faults = faults;
    this.link = createDeviceLink({
      write: (s) => this.emit(fromLatin1(s)),
      crc32: (s) => zlibCrc32(Buffer.from(s, "latin1")) >>> 0,
      setTimer: (fn, ms) => setTimeout(fn, ms),
      clearTimer: (h) => clearTimeout(h as ReturnType<typeof setTimeout>),
      handle: firmwareHandler(),
    });
  }

  connect(out: (bytes: Uint8Array) => void): void {
    this.out = out;
  }

  /** Host → device bytes. */
  input(bytes: Uint8Array): void {
    this.received.push(new Uint8Array(bytes));
    if (this.faults.echo) this.out(new Uint8Array(bytes));
    this.link.onData(toLatin1(bytes));
  }

  private emit(frame: Uint8Array): void {
    const f = this.faults;
    if (f.mute) return;
    if (f.dropResponses && f.dropResponses > 0) {
      f.dropResponses--;
      return;
    }
    const all = f.noiseBefore ? Buffer.concat([f.noiseBefore, frame]) : Buffer.from(frame);
    const step = f.chunkSize ?? all.length;
    for (let i = 0; i < all.length; i += step) this.out(new Uint8Array(all.subarray(i, i + step)));
  }
}

/** An in-memory Transport wired to a TestDevice; output is delivered asynchronously like a real pipe. */
export class MemoryTransport implements Transport {
  readonly description = "memory test-device";
  isOpen = false;
  private data: ((c: Uint8Array) => void)[] = [];
  private closeListeners: ((cause?: Error) => void)[] = [];
  constructor(readonly device: TestDevice) {
    device.connect((bytes) => setImmediate(() => this.data.forEach((l) => l(bytes))));
  }
  async open(): Promise<void> {
    this.isOpen = true;
  }
  async close(): Promise<void> {
    if (!this.isOpen) return;
    this.isOpen = false;
    this.closeListeners.forEach((l) => l());
  }
  /** Simulates the cable being pulled. */
  unplug(): void {
    this.isOpen = false;
    this.closeListeners.forEach((l) => l(new Error("device unplugged")));
  }
  async write(bytes: Uint8Array): Promise<void> {
    if (!this.isOpen) throw new Error("closed");
    const copy = new Uint8Array(bytes);
    setImmediate(() => this.device.input(copy));
  }
  onData(l: (c: Uint8Array) => void): void {
    this.data.push(l);
  }
  onClose(l: (cause?: Error) => void): void {
    this.closeListeners.push(l);
  }
  onError(): void {}
}

/** Serves a fresh TestDevice per TCP connection; resolves with the port and a stop function. */
export async function serveDevice(faults: Faults = {}): Promise<{ port: number; devices: TestDevice[]; stop: () => Promise<void> }> {
  const devices: TestDevice[] = [];
  const sockets = new Set<Socket>();
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
    const device = new TestDevice({ ...faults });
    devices.push(device);
    device.connect((bytes) => socket.write(bytes));
    socket.on("data", (chunk) => device.input(new Uint8Array(chunk)));
    socket.on("error", () => {});
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const port = (server.address() as { port: number }).port;
  return {
    port,
    devices,
    stop: () =>
      new Promise<void>((r) => {
        for (const s of sockets) s.destroy();
        server.close(() => r());
      }),
  };
}
