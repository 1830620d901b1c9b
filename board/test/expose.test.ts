// TCP/PTY exposure and the control port, against the sandbox console host (no VirtualBoard needed).
import net from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { SandboxBoard, realClock } from "../src/console/sandbox-host.ts";
import { PacketReader, PacketType, encodePacket } from "../src/console.ts";
import { serveTcp, type TcpExposure } from "../src/expose/tcp.ts";
import { findSocat, exposePty } from "../src/expose/pty.ts";
import { ControlClient, serveControl, type ControlTarget } from "../src/expose/control.ts";

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

function bootedBoard(): SandboxBoard {
  const b = new SandboxBoard({ clock: realClock });
  b.console.softInit({ banner: false });
  b.console.idle();
  b.take();
  return b;
}

async function expose(b: SandboxBoard): Promise<TcpExposure> {
  const t = await serveTcp(b.usb);
  cleanups.push(() => t.close());
  return t;
}

function connect(port: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, "127.0.0.1", () => resolve(s));
    s.once("error", reject);
    cleanups.push(() => { s.destroy(); });
  });
}

/** Collect bytes from a socket until `done(text)` holds (latin1 = one char per byte). */
function readUntil(s: net.Socket, done: (text: string) => boolean, ms = 3000): Promise<string> {
  return new Promise((resolve, reject) => {
    let text = "";
    const timer = setTimeout(() => { s.off("data", onData); reject(new Error(`timeout; got ${JSON.stringify(text)}`)); }, ms);
    const onData = (d: Buffer): void => {
      text += d.toString("latin1");
      if (done(text)) { clearTimeout(timer); s.off("data", onData); resolve(text); }
    };
    s.on("data", onData);
  });
}

describe("serveTcp", () => {
  it("carries the REPL both ways on a loopback port", async () => {
    const b = bootedBoard();
    const t = await expose(b);
    expect(t.url).toBe(`tcp://127.0.0.1:${t.port}`);
    const s = await connect(t.port);
    const reply = readUntil(s, (x) => x.endsWith("=3\r\n>"));
    s.write("1+2\r");
    expect(await reply).toBe("1+2\r\n=3\r\n>");
  });

  it("passes all 256 byte values unchanged in both directions", async () => {
    const b = bootedBoard();
    const t = await expose(b);
    const s = await connect(t.port);
    let all = "";
    for (let i = 0; i < 256; i++) all += String.fromCharCode(i);
    const acks = readUntil(s, (x) => x === "\x06\x06");
    s.write(Buffer.from(encodePacket(PacketType.FILE_SEND, "{fn:\"bin\",s:256}") + encodePacket(PacketType.DATA, all), "latin1"));
    await acks;
    expect(b.storage.read("bin")).toBe(all);
    const back = readUntil(s, (x) => x.endsWith("\x10\x01\x80\x00"));
    s.write(Buffer.from(encodePacket(PacketType.FILE_RECV, "{fn:\"bin\"}"), "latin1"));
    const r = new PacketReader();
    r.push(await back);
    expect(r.acks).toEqual(["\x06"]);
    expect(r.packets[0]!.payload).toBe(all);
  });

  it("serves one client at a time and takes the next after a disconnect", async () => {
    const b = bootedBoard();
    const t = await expose(b);
    const first = await connect(t.port);
    await new Promise((r) => setTimeout(r, 20));
    const second = await connect(t.port);
    const closed = new Promise<void>((r) => second.once("close", () => r()));
    await closed;
    expect(t.connected()).toBe(true);
    first.destroy();
    await new Promise((r) => setTimeout(r, 50));
    expect(t.connected()).toBe(false);
    const third = await connect(t.port);
    const reply = readUntil(third, (x) => x.endsWith(">"));
    third.write("\r");
    expect(await reply).toBe("\r\n>");
  });

  it("reports a busy port with what to do", async () => {
    const b = bootedBoard();
    const t = await expose(b);
    await expect(serveTcp(b.usb, { port: t.port })).rejects.toThrow(/pick another --tcp port/);
  });
});

describe("exposePty", () => {
  const socat = findSocat();
  it.skipIf("missing" in socat)("lets serialport open the board like /dev/ttyACM0", async () => {
    const { SerialPort } = await import("serialport");
    const b = bootedBoard();
    const t = await expose(b);
    const path = `/tmp/keycarrier-test-${process.pid}`;
    const pty = await exposePty({ tcpPort: t.port, path });
    cleanups.push(() => pty.close());
    const port = new SerialPort({ path, baudRate: 115200 });
    await new Promise<void>((resolve, reject) => port.once("open", () => resolve()).once("error", reject));
    cleanups.push(() => new Promise<void>((r) => port.close(() => r())));
    let text = "";
    const got = new Promise<void>((resolve) => port.on("data", (d: Buffer) => {
      text += d.toString("latin1");
      if (text.includes("=42\r\n>")) resolve();
    }));
    // socat connects to TCP once it notices the slave is open (about a second)
    const started = Date.now();
    while (!t.connected() && Date.now() - started < 5000) await new Promise((r) => setTimeout(r, 50));
    port.write("6*7\r");
    await got;
    expect(text).toBe("6*7\r\n=42\r\n>");
  }, 15000);
});

describe("control port", () => {
  function fakeTarget(): ControlTarget & { log: string[] } {
    const log: string[] = [];
    const lit = [false, false];
    return {
      log,
      pressButton: (n) => { log.push(`press ${n}`); lit[0] = true; },
      releaseButton: (n) => { log.push(`release ${n}`); lit[0] = false; },
      leds: () => lit.slice(),
      powerOn: () => { log.push("on"); },
      powerCut: () => { log.push("off"); },
      reset: () => { log.push("reset"); },
      nfc: {
        fieldOn: () => { log.push("field on"); },
        fieldOff: () => { log.push("field off"); },
        transceive: async (frame) => Uint8Array.from([...frame].reverse()),
      },
      advance: (ms) => { log.push(`advance ${ms}`); },
    };
  }

  it("drives buttons, LEDs, power, NFC and the clock, one JSON line per request", async () => {
    const target = fakeTarget();
    const ctl = await serveControl(target, { board: "nrf52840", clock: "virtual" });
    cleanups.push(() => ctl.close());
    const c = await ControlClient.connect(ctl.port);
    cleanups.push(() => c.close());
    expect(await c.request("status")).toMatchObject({ ok: true, board: "nrf52840", clock: "virtual" });
    await c.request("press", { button: 1 });
    expect((await c.request("leds"))["leds"]).toEqual([true, false]);
    await c.request("release", { button: 1 });
    await c.request("power-cycle");
    await c.request("nfc-field", { on: true });
    expect((await c.request("nfc-send", { hex: "30 04" }))["hex"]).toBe("0430");
    await c.request("advance", { ms: 250 });
    expect(target.log).toEqual(["press 1", "release 1", "off", "on", "field on", "advance 250"]);
  });

  it("answers bad requests with an error that says what to do", async () => {
    const target = fakeTarget();
    const ctl = await serveControl(target, { board: "nrf52840", clock: "real" });
    cleanups.push(() => ctl.close());
    const c = await ControlClient.connect(ctl.port);
    cleanups.push(() => c.close());
    await expect(c.request("advance", { ms: 5 })).rejects.toThrow(/--virtual-clock/);
    await expect(c.request("press", { button: 0 })).rejects.toThrow(/positive integer/);
    await expect(c.request("nfc-send", { hex: "xyz" })).rejects.toThrow(/not hex/);
    await expect(c.request("fly")).rejects.toThrow(/unknown command "fly"; known:/);
    expect(target.log).toEqual([]);
  });
});
