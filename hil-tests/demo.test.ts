// `npm start` (host/src/demo.ts) as a newcomer runs it: a child process that must finish within a
// minute, exit 0, show every step, the carrier's own screen at the confirmation step (the default
// board has one), a settled payment and a verified carrier log, and leave no temporary directory behind.
import { spawn } from "node:child_process";
import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";

const ROOT = process.cwd();

function runDemo(home: string): Promise<{ code: number | null; out: string; ms: number }> {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const child = spawn(process.execPath, ["--import", "tsx", join(ROOT, "host/src/demo.ts")], {
      cwd: ROOT, env: { ...process.env, KEYCARRIER_HOME: home }, stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    child.stdout.on("data", (d: Buffer) => { out += d.toString(); });
    child.stderr.on("data", (d: Buffer) => { out += d.toString(); });
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`npm start did not finish within 60 s; output so far:\n${out}`));
    }, 60_000);
    child.on("exit", (code) => {
      clearTimeout(timer);
      resolve({ code, out, ms: Date.now() - started });
    });
  });
}

describe("npm start", () => {
  it("flashes, personalises, pays and prints the settlement and a verified log within a minute", async () => {
    const home = mkdtempSync(join(tmpdir(), "kc-demo-home-"));
    const before = new Set(readdirSync(tmpdir()).filter((n) => n.startsWith("keycarrier-demo-")));
    const r = await runDemo(home).finally(() => rmSync(home, { recursive: true, force: true }));
    expect(r.code, r.out).toBe(0);
    expect(r.ms).toBeLessThan(60_000);
    for (let n = 1; n <= 8; n++) expect(r.out).toContain(`[${n}/8]`);
    expect(r.out).toMatch(/running KeyCarrier \d+\.\d+\.\d+, state BLANK/);
    expect(r.out).toMatch(/carrier [0-9a-f]{16} is PERSONALISED/);
    // the dev transport key is an explicit choice, said on screen; the PIN goes to the platform only
    expect(r.out).toContain("DEV FLAG: this platform accepts the public development transport key");
    expect(r.out).toMatch(/PIN enrolled at the platform \(encrypted to it; the carrier holds no PIN material\)/);
    expect(r.out).toMatch(/PIN encrypted to the platform and checked there: right/);
    expect(r.out).toMatch(/SETTLED 12\.50 EUR to Corner Café: settlement [0-9a-f]+, carrier [0-9a-f]{16}, ATC 1/);
    expect(r.out).toMatch(/ATC +1 +authorized +12\.50 EUR/);
    expect(r.out).toContain("log verified: the hash chain folds to the head the carrier returned with the cryptogram");
    // the default board has a screen (nrf52840-oled): flash uploads the SSD1306 module with the bundle,
    // and at the confirmation step the demo prints the carrier's own screen (issue 18)
    expect(r.out).toMatch(/board profile nrf52840-oled/);
    expect(r.out).toMatch(/verified: SSD1306 is \d+ bytes/);
    expect(r.out).toMatch(/check the carrier's own screen, not this host/);
    expect(r.out).toContain("the carrier's own screen now (what it will sign;");
    const screen = r.out.slice(r.out.indexOf("the carrier's own screen now"));
    expect(screen).toMatch(/┌─{128}┐/); // the 128-pixel-wide frame, drawn
    expect(screen).toMatch(/[▀▄█]/);
    // cleaned up: its temp dir is gone
    const after = readdirSync(tmpdir()).filter((n) => n.startsWith("keycarrier-demo-") && !before.has(n));
    expect(after).toEqual([]);
  }, 70_000);
});
