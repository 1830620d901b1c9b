// The user's path end to end: `keycarrier emulate` runs the release bundle as a separate process,
// and `keycarrier info --json` reads it over each transport a person would use: TCP, a PTY opened
// by `serialport` like /dev/ttyACM0, and `exec:` (the emulator speaking over its stdin/stdout).
import { spawn, execFile, type ChildProcess } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { compile } from "../firmware/build/pipeline.ts";
import { findSocat } from "../board/src/expose/pty.ts";

const run = promisify(execFile);
const BIN = join(process.cwd(), "host/bin/keycarrier.mjs");
const work = mkdtempSync(join(tmpdir(), "kc-cli-"));
const firmware = join(work, "keycarrier.js");
const children: ChildProcess[] = [];

beforeAll(async () => {
  writeFileSync(firmware, (await compile({ entry: "firmware/src/main.ts", minify: true })).code);
}, 60_000);

afterAll(() => {
  for (const c of children) c.kill("SIGTERM");
});

/** Starts `keycarrier emulate` and resolves with its machine-readable start line. */
function startEmulator(args: string[]): Promise<Record<string, string>> {
  const child = spawn(process.execPath, [BIN, "emulate", "--firmware", firmware, "--no-banner", ...args], {
    env: { ...process.env, KEYCARRIER_HOME: work },
    stdio: ["ignore", "pipe", "pipe"],
  });
  children.push(child);
  return new Promise((resolve, reject) => {
    let out = "";
    const timer = setTimeout(() => reject(new Error(`emulator did not start: ${out}`)), 30_000);
    child.stdout!.on("data", (chunk: Buffer) => {
      out += chunk.toString();
      const line = out.split("\n").find((l) => l.startsWith("keycarrier-emulate:"));
      if (!line) return;
      clearTimeout(timer);
      resolve(Object.fromEntries(line.split(" ").slice(1).map((kv) => kv.split("=") as [string, string])));
    });
    child.once("exit", (code) => reject(new Error(`emulator exited with ${code}: ${out}`)));
  });
}

async function infoJson(port: string): Promise<Record<string, unknown>> {
  const { stdout } = await run(process.execPath, [BIN, "--port", port, "--timeout", "3000", "info", "--json"], {
    env: { ...process.env, KEYCARRIER_HOME: work },
    timeout: 45_000,
  });
  return JSON.parse(stdout) as Record<string, unknown>;
}

describe("keycarrier info --json against keycarrier emulate", () => {
  it("over tcp://", async () => {
    const emu = await startEmulator(["--board", "nrf52840"]);
    const info = await infoJson(`tcp://${emu["tcp"]}`);
    expect(info).toMatchObject({ board: "NRF52840DK", stateName: "BLANK", protocolVersion: { major: 1 } });
    expect(info["firmwareVersion"]).toMatch(/^\d+\.\d+\.\d+$/);
  }, 60_000);

  it("over a PTY path opened with serialport", async (ctx) => {
    const socat = findSocat();
    if ("missing" in socat) {
      console.log(`skipped: no PTY without socat (${socat.missing}); scripts/install-system-deps.sh installs it`);
      ctx.skip();
    }
    const path = join(work, "ttyKC0");
    const emu = await startEmulator(["--board", "pico", "--pty", path]);
    expect(emu["pty"]).toBe(path);
    const info = await infoJson(path);
    expect(info).toMatchObject({ board: "PICO_R1_3", stateName: "BLANK" });
  }, 60_000);

  it("over exec: (the emulator on stdin/stdout)", async () => {
    const info = await infoJson(`exec:${process.execPath} ${BIN} emulate --board nrf52840 --firmware ${firmware} --no-banner --stdio`);
    expect(info).toMatchObject({ board: "NRF52840DK", stateName: "BLANK" });
  }, 60_000);
});
