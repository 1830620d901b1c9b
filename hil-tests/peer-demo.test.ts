// `npm start -- --peer` (host/src/peer/demo.ts): two virtual carriers and the platform through a
// whole peer payment with the `keycarrier peer request|pay|status` CLI over tcp:// ports; settled
// once (a duplicate instruction gets the same settlement); no temporary directory left behind.
import { spawn } from "node:child_process";
import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";

function runPeerDemo(home: string): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ["--import", "tsx", join(process.cwd(), "host/src/demo.ts"), "--peer"], {
      cwd: process.cwd(), env: { ...process.env, KEYCARRIER_HOME: home }, stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    child.stdout.on("data", (d: Buffer) => { out += d.toString(); });
    child.stderr.on("data", (d: Buffer) => { out += d.toString(); });
    const timer = setTimeout(() => { child.kill("SIGKILL"); reject(new Error(`npm start -- --peer did not finish within 60 s:\n${out}`)); }, 60_000);
    child.on("exit", (code) => { clearTimeout(timer); resolve({ code, out }); });
  });
}

describe("npm start -- --peer", () => {
  it("requests, pays and settles a peer payment once between two virtual carriers through the CLI", async () => {
    const home = mkdtempSync(join(tmpdir(), "kc-peer-demo-home-"));
    const before = new Set(readdirSync(tmpdir()).filter((n) => n.startsWith("keycarrier-demo-")));
    const r = await runPeerDemo(home).finally(() => rmSync(home, { recursive: true, force: true }));
    expect(r.code, r.out).toBe(0);
    for (let n = 1; n <= 6; n++) expect(r.out).toContain(`[${n}/6]`);
    expect(r.out).toMatch(/\$ keycarrier peer request --port tcp:\/\/127\.0\.0\.1:\d+ --amount 1250/);
    expect(r.out).toMatch(/\$ keycarrier peer pay --port tcp:\/\/127\.0\.0\.1:\d+ --request [0-9a-f]+/);
    expect(r.out).toMatch(/SETTLED 12\.50 EUR from [0-9a-f]{16} to [0-9a-f]{16}: settlement [0-9a-f]{16}, payer ATC 1/);
    expect(r.out).toMatch(/is settled/);
    expect(r.out).toContain("the same one: settled exactly once");
    expect(r.out).toContain("peer settlements in the ledger: 1");
    const after = readdirSync(tmpdir()).filter((n) => n.startsWith("keycarrier-demo-") && !before.has(n));
    expect(after).toEqual([]);
  }, 70_000);
});
