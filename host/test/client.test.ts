import { describe, it, expect } from "vitest";
import { KeyCarrier, parseInfo, MAX_PING_BYTES } from "../src/client.ts";
import { decodeCbor, type CborMap } from "../src/codec.ts";
import { encodeFrame } from "../src/link.ts";
import {
  KeyCarrierError, RequestRejectedError, UnsupportedVersionError, ArgumentError, TimeoutError, TransportError,
  PinError, StorageError, ChannelError, PaymentError, VendorError, DeviceError, BusyError,
} from "../src/errors.ts";
import { TestDevice, MemoryTransport, INFO_BODY_HEX, serveDevice } from "./helpers/device.ts";
import type { Transport } from "../src/transport/types.ts";
import { SerialTransport } from "../src/transport/index.ts";
import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const unhex = (h: string): Uint8Array => Uint8Array.from(Buffer.from(h, "hex"));

async function openMemory(device = new TestDevice(), opts: Parameters<typeof KeyCarrier.open>[1] = {}): Promise<KeyCarrier> {
  return KeyCarrier.open(new MemoryTransport(device), { timeoutMs: 200, ...opts });
}

/** A transport whose device answers every request with one fixed status and body. */
function fixedAnswer(status: number, body: Uint8Array): Transport {
  const data: ((c: Uint8Array) => void)[] = [];
  return {
    description: "fixed-answer",
    isOpen: true,
    open: async () => {},
    close: async () => {},
    write: async (bytes) => {
      setImmediate(() => data.forEach((l) => l(encodeFrame({ version: 1, type: 1, seq: bytes[4]!, code: status, body }))));
    },
    onData: (l) => data.push(l),
    onClose: () => {},
    onError: () => {},
  };
}

describe("KeyCarrier client", () => {
  it("handshakes with INFO on open and decodes §7.1 fields", async () => {
    const kc = await openMemory();
    expect(kc.handshakeInfo).toEqual({
      firmwareVersion: "0.1.0",
      protocolVersion: { major: 1, minor: 0 },
      board: "PUCKJS",
      serial: "c0ffee00-12345678",
      state: 0,
      stateName: "BLANK",
      capabilities: { bits: 14, usb: false, nfc: true, nativeSha256: true, nativeAes: true, display: false },
      freeStorageBytes: 32768,
      maxBody: 512,
    });
    expect(await kc.info()).toEqual(kc.handshakeInfo);
    await kc.close();
  });

  it("ignores unknown INFO response keys (minor versions add them) but refuses missing ones", () => {
    const map = decodeCbor(unhex(INFO_BODY_HEX)) as CborMap;
    map.set(99, "future field");
    expect(parseInfo(map).board).toBe("PUCKJS");
    map.delete(3);
    expect(() => parseInfo(map)).toThrow(/field 3 \(board\)/);
  });

  it("pings 0, 1 and 500 bytes and refuses 501 without sending anything", async () => {
    const device = new TestDevice();
    const kc = await openMemory(device, { handshake: false });
    for (const n of [0, 1, MAX_PING_BYTES]) {
      const data = new Uint8Array(n).map((_, i) => (i * 37 + 5) & 0xff);
      expect(await kc.ping(data)).toEqual(data);
    }
    const sent = device.received.length;
    await expect(kc.ping(new Uint8Array(501))).rejects.toThrow(ArgumentError);
    expect(device.received.length).toBe(sent);
    await kc.close();
  });

  it("turns UNKNOWN_COMMAND into a RequestRejectedError carrying status, name and the device's detail", async () => {
    const kc = await openMemory(new TestDevice(), { handshake: false });
    const err = await kc.request(0x7e).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RequestRejectedError);
    expect(err).toBeInstanceOf(KeyCarrierError);
    expect(err).toMatchObject({ status: 0x03, statusName: "UNKNOWN_COMMAND", detail: "unknown command" });
    expect((err as Error).message).toBe(
      "command 0x7e failed: UNKNOWN_COMMAND (0x03): unknown command — the firmware does not know this command — update the firmware or use a matching host version",
    );
    await kc.close();
  });

  it("refuses to encode a float before anything is sent", async () => {
    const device = new TestDevice();
    const kc = await openMemory(device, { handshake: false });
    await expect(kc.request(0x02, new Map([[1, 1.5]]))).rejects.toThrow(/no floats/);
    expect(device.received).toHaveLength(0);
    await kc.close();
  });

  it("reads UNSUPPORTED_VERSION's supported majors (body from PROTOCOL.md §4)", async () => {
    const body = unhex("a201781a756e737570706f727465642070726f746f636f6c206d616a6f72028101");
    const kc = await KeyCarrier.open(fixedAnswer(0x09, body), { handshake: false });
    const err = await kc.info().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UnsupportedVersionError);
    expect((err as UnsupportedVersionError).supportedMajors).toEqual([1]);
    expect((err as Error).message).toMatch(/unsupported protocol major/);
  });

  it("maps each §6 status family to its error class", async () => {
    const cases: [number, new (...a: never[]) => DeviceError, string][] = [
      [0x07, BusyError, "BUSY"],
      [0x08, RequestRejectedError, "INTERNAL"],
      [0x12, PinError, "PIN_BAD_FORMAT"],
      [0x21, StorageError, "PRESENCE_REQUIRED"],
      [0x30, ChannelError, "CHANNEL_NOT_OPEN"],
      [0x5f, PaymentError, "STATUS_0x5f"],
      [0xf3, VendorError, "STATUS_0xf3"],
      [0x60, DeviceError, "STATUS_0x60"],
    ];
    for (const [status, cls, name] of cases) {
      const kc = await KeyCarrier.open(fixedAnswer(status, unhex("a10163626164")), { handshake: false });
      const err = await kc.info().catch((e: unknown) => e);
      expect(err, `status 0x${status.toString(16)}`).toBeInstanceOf(cls);
      expect(err).toMatchObject({ status, statusName: name, detail: "bad" });
    }
  });

  it("surfaces timeouts and transport failures as KeyCarrierErrors with host statuses", async () => {
    const err = await openMemory(new TestDevice({ mute: true }), { timeoutMs: 30, retries: 1 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TimeoutError);
    expect(err).toBeInstanceOf(KeyCarrierError);
    const refused = await KeyCarrier.open("tcp://127.0.0.1:1").catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(TransportError);
    expect(refused).toMatchObject({ statusName: "TRANSPORT" });
  });

  it("works over a real TCP socket (port spec string)", async () => {
    const server = await serveDevice({ chunkSize: 3 });
    try {
      const kc = await KeyCarrier.open(`tcp://127.0.0.1:${server.port}`, { timeoutMs: 500 });
      expect(kc.description).toBe(`tcp 127.0.0.1:${server.port}`);
      expect(await kc.ping(unhex("00f54b10ff"))).toEqual(unhex("00f54b10ff"));
      await kc.close();
    } finally {
      await server.stop();
    }
  });
});

describe("KeyCarrier over a serial PTY (socat pair; the far end runs the firmware link)", () => {
  const socat = spawnSync("sh", ["-c", "command -v socat"]).status === 0;
  if (!socat) console.log("serial end-to-end test skipped: socat is not installed (apt-get install socat)");
  it.skipIf(!socat)("opens the PTY path, handshakes and pings 500 bytes", async () => {
    const dir = mkdtempSync(join(tmpdir(), "kc-pty-"));
    const host = join(dir, "host");
    const dev = join(dir, "dev");
    const proc = spawn("socat", [`pty,raw,echo=0,link=${host}`, `pty,raw,echo=0,link=${dev}`], { stdio: "ignore" });
    try {
      for (let i = 0; i < 100 && !(existsSync(host) && existsSync(dev)); i++) await new Promise((r) => setTimeout(r, 20));
      const deviceSide = new SerialTransport(dev);
      await deviceSide.open();
      const device = new TestDevice({ noiseBefore: Uint8Array.from(Buffer.from("Espruino banner\r\n>")) });
      device.connect((bytes) => void deviceSide.write(bytes));
      deviceSide.onData((chunk) => device.input(chunk));
      const kc = await KeyCarrier.open(host, { timeoutMs: 1000 });
      expect(kc.description).toBe(`serial ${host} @115200`);
      expect(kc.handshakeInfo?.board).toBe("PUCKJS");
      const data = new Uint8Array(500).map((_, i) => 255 - (i & 0xff));
      expect(await kc.ping(data)).toEqual(data);
      await kc.close();
      await deviceSide.close();
    } finally {
      proc.kill("SIGTERM");
    }
  });
});
