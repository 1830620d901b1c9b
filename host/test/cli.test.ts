import { describe, it, expect, beforeAll, afterAll } from "vitest";
import { mkdtempSync, readdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { main, type CliIo } from "../src/cli/main.ts";
import { parseArgs } from "../src/cli/args.ts";
import { registerEmulator, listEmulators } from "../src/registry.ts";
import { serveDevice } from "./helpers/device.ts";

const run = promisify(execFile);
const repo = new URL("../../", import.meta.url).pathname;

async function cli(argv: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number; out: string; err: string }> {
  let out = "";
  let err = "";
  const io: CliIo = { stdout: (t) => void (out += t), stderr: (t) => void (err += t), env };
  const code = await main(argv, io);
  return { code, out, err };
}

let server: Awaited<ReturnType<typeof serveDevice>>;
let port: string;
beforeAll(async () => {
  server = await serveDevice();
  port = `tcp://127.0.0.1:${server.port}`;
});
afterAll(() => server.stop());

describe("keycarrier CLI (in-process, against the firmware link over TCP)", () => {
  it("info --json prints one JSON object on stdout and nothing on stderr", async () => {
    const r = await cli(["info", "--json", "--port", port]);
    expect(r).toMatchObject({ code: 0, err: "" });
    expect(r.out.endsWith("\n")).toBe(true);
    expect(JSON.parse(r.out)).toEqual({
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
  });

  it("info without --json prints aligned human-readable lines; KEYCARRIER_PORT works as the default port", async () => {
    const r = await cli(["info"], { KEYCARRIER_PORT: port });
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^firmware\s+KeyCarrier 0\.1\.0 \(protocol 1\.0\)$/m);
    expect(r.out).toMatch(/^board\s+PUCKJS, serial \S+$/m);
    expect(r.out).toMatch(/^state\s+BLANK \(0\)$/m);
  });

  it("ping --size 500 --json reports ok, size and a round-trip time", async () => {
    const r = await cli(["--json", "ping", "--size=500", "-p", port]);
    expect(r.code).toBe(0);
    const j = JSON.parse(r.out) as { ok: boolean; size: number; rttMs: number };
    expect(j).toMatchObject({ ok: true, size: 500 });
    expect(j.rttMs).toBeGreaterThan(0);
  });

  it("--verbose traces frames on stderr and keeps stdout machine-readable", async () => {
    const r = await cli(["ping", "--size", "4", "--json", "--verbose", "--port", port]);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.out)).toMatchObject({ ok: true, size: 4 });
    expect(r.err).toMatch(/^→ v1 req seq 0x[0-9a-f]{2} cmd INFO len 1 body a0$/m);
    expect(r.err).toMatch(/^← v1 rsp seq 0x[0-9a-f]{2} status OK len 7 body a10144[0-9a-f]{8}$/m);
  });

  it("exit code 2 and a pointer to --help for usage mistakes", async () => {
    for (const argv of [["info"], ["frobnicate"], ["ping", "--size", "x", "-p", port], ["ping", "--size", "501", "-p", port], ["--timeout", "0", "info"], ["info", "--colour"], []]) {
      const r = await cli(argv);
      expect(r.code, argv.join(" ")).toBe(2);
      expect(r.out).toBe("");
      expect(r.err.length).toBeGreaterThan(0);
    }
    expect((await cli(["info"])).err).toMatch(/no device given: pass --port/);
    expect((await cli(["ping", "--size", "501", "-p", port])).err).toMatch(/over PING's limit of 500/);
  });

  it("exit code 1 with actionable messages for transport failures, as text or JSON", async () => {
    const refused = await cli(["info", "--port", "tcp://127.0.0.1:1"]);
    expect(refused).toMatchObject({ code: 1, out: "" });
    expect(refused.err).toMatch(/is `keycarrier emulate` running\?/);
    const missing = await cli(["info", "--json", "--port", "/dev/ttyKEYCARRIER-none"]);
    expect(missing.code).toBe(1);
    expect(JSON.parse(missing.out)).toEqual({
      ok: false,
      error: { type: "TransportError", status: 0x100, statusName: "TRANSPORT", message: expect.stringMatching(/^no such port: \/dev\/ttyKEYCARRIER-none/) },
    });
  });

  it("exit code 1 and a TIMEOUT error when the port has no firmware answering", async () => {
    const mute = await serveDevice({ mute: true });
    try {
      const r = await cli(["info", "--json", "--timeout", "30", "--retries", "1", "--port", `tcp://127.0.0.1:${mute.port}`]);
      expect(r.code).toBe(1);
      expect(JSON.parse(r.out).error).toMatchObject({ type: "TimeoutError", statusName: "TIMEOUT" });
      expect(mute.devices[0]!.received).toHaveLength(2);
    } finally {
      await mute.stop();
    }
  });

  it("--help works globally and per command, on stdout with exit 0", async () => {
    const top = await cli(["--help"]);
    expect(top.code).toBe(0);
    for (const c of ["devices", "info", "ping", "emulate"]) expect(top.out).toContain(c);
    const ping = await cli(["ping", "--help"]);
    expect(ping).toMatchObject({ code: 0, err: "" });
    expect(ping.out).toMatch(/--size <N>/);
    expect((await cli(["help", "devices"])).out).toMatch(/udev/);
  });

  it("devices --json lists registered emulators and prunes stale entries", async () => {
    const home = mkdtempSync(join(tmpdir(), "kc-home-"));
    const dir = join(home, "emulators");
    registerEmulator({ pid: process.pid, tcp: port, pty: null, board: "puckjs" }, dir);
    registerEmulator({ pid: 2 ** 22 + 12345, tcp: "tcp://127.0.0.1:9", pty: null, board: "pico" }, dir); // no such pid
    const r = await cli(["devices", "--json"], { KEYCARRIER_HOME: home });
    expect(r.code).toBe(0);
    const j = JSON.parse(r.out) as { devices: { port: string; source: string; accessible: boolean; description: string }[]; notes: string[] };
    expect(j.devices.filter((d) => d.source === "emulator")).toEqual([
      { port, source: "emulator", description: `virtual puckjs, pid ${process.pid}`, accessible: true },
    ]);
    expect(Array.isArray(j.notes)).toBe(true);
    expect(readdirSync(dir)).toEqual([`${process.pid}.json`]);
    expect(listEmulators(dir)).toHaveLength(1);
  });

  it("devices lists ttyACM*/ttyUSB* from the device directory and nothing else", async () => {
    const { listDevices } = await import("../src/devices.ts");
    const dev = mkdtempSync(join(tmpdir(), "kc-dev-"));
    for (const name of ["ttyACM0", "ttyUSB3", "ttyS0", "tty1", "ttyACMx"]) writeFileSync(join(dev, name), "");
    const listing = await listDevices({ devDir: dev, registry: join(dev, "no-registry") });
    expect(listing.devices.map((d) => d.port).filter((p) => p.startsWith(dev))).toEqual([join(dev, "ttyACM0"), join(dev, "ttyUSB3")]);
    expect(listing.devices.find((d) => d.port === join(dev, "ttyACM0"))).toMatchObject({ source: "serial", description: "USB CDC-ACM serial", accessible: true });
  });

  it("emulate passes everything after it to the emulator module untouched", () => {
    const p = parseArgs(["--json", "emulate", "--port", "4000", "--board", "puckjs", "-v"]);
    expect(p.command).toBe("emulate");
    expect(p.rest).toEqual(["--port", "4000", "--board", "puckjs", "-v"]);
    expect(p.globals.json).toBe(true);
  });
});

describe("host/bin/keycarrier.mjs", () => {
  it("runs the TypeScript CLI through tsx (node and npx)", async () => {
    const viaNode = await run(process.execPath, ["host/bin/keycarrier.mjs", "--help"], { cwd: repo });
    expect(viaNode.stdout).toMatch(/^keycarrier — talk to a KeyCarrier/);
    const viaNpx = await run("npx", ["--no-install", "keycarrier", "ping", "--help"], { cwd: repo });
    expect(viaNpx.stdout).toMatch(/Usage: keycarrier ping/);
    const bad = await run(process.execPath, ["host/bin/keycarrier.mjs", "nope"], { cwd: repo }).catch((e: { code: number; stderr: string }) => e);
    expect(bad).toMatchObject({ code: 2 });
    expect((bad as { stderr: string }).stderr).toMatch(/unknown command "nope"/);
  });
});
