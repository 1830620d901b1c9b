// A device for host tests: the REAL firmware link (firmware/src/link.ts) and codec running in
// Node, with a tiny INFO/PING handler, plus fault injection on the device → host direction.
// It shares no code with the host link, so host and firmware framing are checked against each other.
import { readFileSync } from "node:fs";
import { crc32 as zlibCrc32 } from "node:zlib";
import { createServer, type Server, type Socket } from "node:net";
import { createDeviceLink, type DeviceLink, type HandlerReply } from "../../../firmware/src/link.ts";
import { decode, encode, isMap, text } from "../../../firmware/src/codec.ts";
import type { Transport } from "../../src/transport/types.ts";

const frames = JSON.parse(readFileSync(new URL("../../../firmware/vectors/frames.json", import.meta.url), "utf8")) as {
  valid: { name: string; hex: string; bodyHex: string; seq: number; code: number; type: number; version: number }[];
};
/** The INFO response body of PROTOCOL.md §7.1 (firmware/vectors/frames.json). */
export const INFO_BODY_HEX = frames.valid.find((v) => v.name.startsWith("INFO response"))!.bodyHex;

const toLatin1 = (b: Uint8Array): string => Buffer.from(b).toString("latin1");
const fromLatin1 = (s: string): Uint8Array => Uint8Array.from(Buffer.from(s, "latin1"));

function handle(command: number, body: string): HandlerReply {
  const fail = (status: number, why: string): HandlerReply => ({ status, body: encode({ 1: text(why) }) });
  if (command !== 0x01 && command !== 0x02) return fail(0x03, "unknown command");
  const r = decode(body);
  if (r.status !== 0) return fail(r.status, "reason" in r ? r.reason : "bad body");
  const value = (r as { value: unknown }).value as Parameters<typeof isMap>[0];
  if (!isMap(value)) return fail(0x05, "body is not a map");
  if (command === 0x01) return { status: 0, body: Buffer.from(INFO_BODY_HEX, "hex").toString("latin1") };
  const data = value[1];
  if (typeof data !== "string" || Object.keys(value).length !== 1) return fail(0x05, "field 1 must be a byte string");
  if (data.length > 500) return fail(0x06, "ping data over 500 bytes");
  return { status: 0, body: encode({ 1: data }) };
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
      handle,
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
