import { describe, it, expect, afterEach } from "vitest";
import { createServer, type Server } from "node:net";
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parsePort, parsePortSpec, TcpTransport, ExecTransport, SerialTransport, type Transport } from "../src/transport/index.ts";
import { TransportError, openFailure } from "../src/errors.ts";

const allBytes = new Uint8Array(256).map((_, i) => i);

/** Writes `bytes` and collects what comes back until `bytes.length` bytes arrived. */
async function roundTrip(t: Transport, bytes: Uint8Array, timeoutMs = 5000): Promise<Uint8Array> {
  const got: number[] = [];
  const done = new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`echo timed out after ${got.length}/${bytes.length} bytes`)), timeoutMs);
    t.onData((chunk) => {
      got.push(...chunk);
      if (got.length >= bytes.length) {
        clearTimeout(timer);
        resolve();
      }
    });
  });
  await t.write(bytes);
  await done;
  return Uint8Array.from(got);
}

describe("parsePortSpec", () => {
  it("recognises tcp, exec, serial and baud suffixes", () => {
    expect(parsePortSpec("tcp://127.0.0.1:4000")).toEqual({ kind: "tcp", host: "127.0.0.1", port: 4000 });
    expect(parsePortSpec("tcp://[::1]:9")).toEqual({ kind: "tcp", host: "::1", port: 9 });
    expect(parsePortSpec("exec:node x.js --stdio")).toEqual({ kind: "exec", command: "node x.js --stdio" });
    expect(parsePortSpec("/dev/ttyACM0")).toEqual({ kind: "serial", path: "/dev/ttyACM0", baudRate: 115200 });
    expect(parsePortSpec("serial:/dev/pts/7@9600")).toEqual({ kind: "serial", path: "/dev/pts/7", baudRate: 9600 });
    expect(parsePortSpec("/dev/ttyUSB1", { baudRate: 57600 })).toEqual({ kind: "serial", path: "/dev/ttyUSB1", baudRate: 57600 });
  });
  it("rejects malformed specs with a message that shows the right form", () => {
    expect(() => parsePortSpec("tcp://localhost")).toThrow(/tcp:\/\/host:port/);
    expect(() => parsePortSpec("exec:")).toThrow(/exec:<command>/);
    expect(() => parsePortSpec("  ")).toThrow(/--port/);
    expect(() => parsePort("tcp://h:70000")).toThrow(/1–65535/);
  });
});

describe("open-failure messages", () => {
  it("map OS error codes to advice a person can act on", () => {
    expect(openFailure("serial", "/dev/ttyX", new Error("Error: No such file or directory, cannot open /dev/ttyX")).message).toMatch(/no such port: \/dev\/ttyX/);
    const eacces = openFailure("serial", "/dev/ttyACM0", new Error("Error: Permission denied, cannot open /dev/ttyACM0"));
    expect(eacces.code).toBe("EACCES");
    expect(eacces.message).toMatch(/dialout/);
    expect(eacces.message).toMatch(/udev/);
    expect(openFailure("tcp", "tcp://x:1", Object.assign(new Error("connect ECONNREFUSED"), { code: "ECONNREFUSED" })).message).toMatch(/keycarrier emulate. running/);
  });
});

describe("tcp transport", () => {
  let server: Server | undefined;
  afterEach(() => new Promise<void>((r) => (server ? server.close(() => r()) : r())));

  it("round-trips all 256 byte values through an echo server and reports peer close", async () => {
    server = createServer((s) => s.pipe(s));
    await new Promise<void>((r) => server!.listen(0, "127.0.0.1", r));
    const port = (server.address() as { port: number }).port;
    const t = parsePort(`tcp://127.0.0.1:${port}`);
    expect(t).toBeInstanceOf(TcpTransport);
    expect(t.description).toBe(`tcp 127.0.0.1:${port}`);
    await t.open();
    expect(t.isOpen).toBe(true);
    expect(await roundTrip(t, allBytes)).toEqual(allBytes);
    const closed = new Promise<Error | undefined>((r) => t.onClose(r));
    await t.close();
    expect(await closed).toBeUndefined();
    expect(t.isOpen).toBe(false);
    await expect(t.write(new Uint8Array([1]))).rejects.toThrow(/not open/);
  });

  it("says `is keycarrier emulate running?` when nothing listens", async () => {
    const probe = createServer();
    await new Promise<void>((r) => probe.listen(0, "127.0.0.1", r));
    const port = (probe.address() as { port: number }).port;
    await new Promise<void>((r) => probe.close(() => r()));
    const err = await parsePort(`tcp://127.0.0.1:${port}`).open().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TransportError);
    expect((err as TransportError).code).toBe("ECONNREFUSED");
    expect((err as Error).message).toMatch(/is `keycarrier emulate` running\?/);
  });
});

describe("exec transport", () => {
  it("speaks over a child's stdin/stdout and passes stderr through", async () => {
    const stderr: string[] = [];
    const script = `process.stderr.write("hello-stderr\\n"); process.stdin.pipe(process.stdout)`;
    const t = parsePort(`exec:${JSON.stringify(process.execPath)} -e ${JSON.stringify(script)}`, { stderr: (s) => stderr.push(s) });
    expect(t).toBeInstanceOf(ExecTransport);
    await t.open();
    expect(await roundTrip(t, allBytes)).toEqual(allBytes);
    await t.close();
    expect(stderr.join("")).toContain("hello-stderr");
  });

  it("reports a missing command as not found", async () => {
    const err = await new ExecTransport("keycarrier-no-such-command-xyz").open().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TransportError);
    expect((err as Error).message).toMatch(/command not found/);
  });

  it("fires onClose with a cause when the child dies", async () => {
    const t = new ExecTransport(`${JSON.stringify(process.execPath)} -e "setTimeout(() => process.exit(3), 100)"`);
    await t.open();
    const cause = await new Promise<Error | undefined>((r) => t.onClose(r));
    expect(cause?.message).toMatch(/code 3/);
  });
});

describe("serial transport", () => {
  it("says `no such port` for a missing path", async () => {
    const err = await parsePort("/dev/ttyKEYCARRIER-missing").open().catch((e: unknown) => e);
    expect((err as TransportError).code).toBe("ENOENT");
    expect((err as Error).message).toMatch(/no such port: \/dev\/ttyKEYCARRIER-missing/);
  });
});

const socatMissing = spawnSync("sh", ["-c", "command -v socat"]).status !== 0;
if (socatMissing) console.log("serial transport test skipped: socat is not installed (apt-get install socat)");

describe.skipIf(socatMissing)("serial transport over a socat PTY pair", () => {
  let socat: ChildProcess | undefined;
  afterEach(() => {
    socat?.kill("SIGTERM");
    socat = undefined;
  });

  it("opens a PTY path that SerialPort.list() would never report and passes all bytes", async () => {
    const dir = mkdtempSync(join(tmpdir(), "kc-pty-"));
    const a = join(dir, "a");
    const b = join(dir, "b");
    socat = spawn("socat", [`pty,raw,echo=0,link=${a}`, `pty,raw,echo=0,link=${b}`], { stdio: "ignore" });
    for (let i = 0; i < 100 && !(existsSync(a) && existsSync(b)); i++) await new Promise((r) => setTimeout(r, 20));
    const left = parsePort(a);
    const right = parsePort(`serial:${b}@9600`);
    expect(left).toBeInstanceOf(SerialTransport);
    expect(right.description).toBe(`serial ${b} @9600`);
    await left.open();
    await right.open();
    const got: number[] = [];
    right.onData((c) => got.push(...c));
    await left.write(allBytes);
    for (let i = 0; i < 200 && got.length < 256; i++) await new Promise((r) => setTimeout(r, 10));
    expect(Uint8Array.from(got)).toEqual(allBytes);
    await left.close();
    await right.close();
  });
});
