/** `keycarrier pos …` in-process: init from the platform, revocations, pay over tcp:// to a SOFTWARE CARRIER DOUBLE, upload, log. */
import { describe, it, expect, beforeAll, afterAll } from "vitest";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { main } from "../../src/cli/main.ts";
import { startPlatformServer, type RunningPlatform } from "../../src/platform/http.ts";
import { PlatformClient } from "../../src/platform/client.ts";
import { TEST_AUTHORITY_LEVELS, TEST_CARRIER_LEVELS } from "../offline/fixtures.ts";
import { SoftCarrier, serveSoftCarrier } from "../offline/soft-carrier.ts";

let running: RunningPlatform;
let dir: string;
let apiKey: string;
beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "kc-pos-cli-"));
  running = await startPlatformServer({ dbFile: join(dir, "ledger.sqlite"), port: 0, offline: { authorityLevels: TEST_AUTHORITY_LEVELS } });
  const admin = new PlatformClient(running.url, { apiKey: running.platform.createdAdminKey });
  apiKey = (await admin.registerMerchant({ name: "CLI shop" })).apiKey!;
});
afterAll(async () => {
  await running.close();
  rmSync(dir, { recursive: true, force: true });
});

async function run(args: string[], env: NodeJS.ProcessEnv = {}) {
  let stdout = "";
  let stderr = "";
  const code = await main(args, { stdout: (t) => (stdout += t), stderr: (t) => (stderr += t), env: { KEYCARRIER_NO_PCSC: "1", ...env } });
  return { code, stdout, stderr };
}

describe("keycarrier pos", () => {
  it("init, revocations, pay, upload and log", async () => {
    const log = join(dir, "pos.sqlite");
    const init = await run(["pos", "init", "--log", log, "--platform", running.url, "--terminal-id", "0102030405060708", "--json"]);
    expect(init.code, init.stderr + init.stdout).toBe(0);
    expect(JSON.parse(init.stdout)).toMatchObject({ terminalId: "0102030405060708", revocationList: 1 });
    expect((await run(["pos", "revocations", "--log", log, "--platform", running.url])).stdout).toMatch(/revocation list 1 verified and stored: 0 revoked/);

    const carrier = running.platform.issueCarrier();
    const issued = running.platform.offline.issueOfflineKey(carrier.carrierId, TEST_CARRIER_LEVELS, { currency: "EUR", perTransactionLimit: 5000, cumulativeLimit: 10000 });
    const served = await serveSoftCarrier(new SoftCarrier({ license: issued.license, privateState: issued.privateState }));
    try {
      const pay = await run(["pos", "pay", "--log", log, "--port", `tcp://127.0.0.1:${served.port}`, "--amount", "12.50", "--currency", "EUR"]);
      expect(pay.code, pay.stderr).toBe(0);
      expect(pay.stdout).toMatch(new RegExp(`paid 12\\.50 EUR offline: carrier ${carrier.carrierId}, ATC 1, one-time key 0`));
      const over = await run(["pos", "pay", "--log", log, "--port", `tcp://127.0.0.1:${served.port}`, "--amount", "60.00", "--currency", "EUR"]);
      expect(over.code).toBe(1);
      expect(over.stderr).toMatch(/per-transaction offline limit 5000.*\[over-transaction-limit\]/);
    } finally {
      await served.stop();
    }
    const noKey = await run(["pos", "upload", "--log", log, "--platform", running.url]);
    expect(noKey.code).toBe(2);
    const up = await run(["pos", "upload", "--log", log, "--platform", running.url], { KEYCARRIER_API_KEY: apiKey });
    expect(up.stdout).toMatch(/uploaded 1 record\(s\): 1 cleared, 0 already cleared, 0 refused/);
    const shown = JSON.parse((await run(["pos", "log", "--log", log, "--json"])).stdout);
    expect(shown.payments).toEqual([expect.objectContaining({ atc: 1, amount: 1250, clearing: "cleared" })]);
    expect(shown.refusals.map((r: { reason: string }) => r.reason)).toEqual(["over-transaction-limit"]);
  });

  it("refuses unknown subcommands and options, and an uninitialised log", async () => {
    expect((await run(["pos", "frobnicate"])).code).toBe(2);
    expect((await run(["pos", "log", "--log", join(dir, "x.sqlite"), "--bogus", "1"])).code).toBe(2);
    const r = await run(["pos", "log", "--log", join(dir, "never-initialised.sqlite")]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/not an initialised terminal log/);
  });
});
