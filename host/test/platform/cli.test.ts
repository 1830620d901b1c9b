import { describe, it, expect, beforeAll, afterAll } from "vitest";
import { spawn } from "node:child_process";
import { join } from "node:path";
import { writeFileSync, existsSync, readFileSync, statSync } from "node:fs";
import { main, type CliIo } from "../../src/cli/main.ts";
import { startPlatformServer, type RunningPlatform } from "../../src/platform/http.ts";
import { renderQrPng } from "../../src/qr/image.ts";
import { decodeBase45, encodeBase45 } from "../../src/qr/base45.ts";
import { tempDir } from "./helpers.ts";

const repo = new URL("../../../", import.meta.url).pathname;
let running: RunningPlatform;
let dir: string;
let cleanup: () => void;
let clock = Date.now();

/** `merchant register` with the admin key file the platform wrote next to its ledger. */
const register = (...args: string[]) => cli(["merchant", "register", "--api-key-file", `${running.platform.ledger.file}.admin-key`, ...args]);

async function cli(argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = "";
  let err = "";
  const io: CliIo = { stdout: (t) => void (out += t), stderr: (t) => void (err += t), env: { KEYCARRIER_PLATFORM: running.url, KEYCARRIER_HOME: dir } };
  const code = await main(argv, io);
  return { code, out, err };
}

beforeAll(async () => {
  const t = tempDir();
  dir = t.dir;
  cleanup = t.cleanup;
  running = await startPlatformServer({ dbFile: t.file, now: () => clock });
});
afterAll(async () => {
  await running.close();
  cleanup();
});

describe("keycarrier merchant / pay against a running platform", () => {
  it("merchant register, merchant qr (terminal + PNG + JPEG), pay --qr prints the order", async () => {
    const reg = await register("--name", "Corner Café", "--json");
    expect(reg).toMatchObject({ code: 0, err: "" });
    const merchantId = JSON.parse(reg.out).merchantId as number;
    expect(JSON.parse(reg.out).keyFile).toBe(join(dir, `merchant-${merchantId}.key`));
    expect(statSync(join(dir, `merchant-${merchantId}.key`)).mode & 0o777).toBe(0o600);
    expect((await register("--name", "Second")).out).toBe(`merchant ${merchantId + 1} registered: Second\nits API key is in ${join(dir, `merchant-${merchantId + 1}.key`)} (mode 0600): \`merchant qr\` uses it\n`);
    const unkeyed = await cli(["merchant", "register", "--name", "Third"]);
    expect(unkeyed.code).toBe(2);
    expect(unkeyed.err).toMatch(/needs the admin API key .*: pass --api-key-file FILE or set KEYCARRIER_API_KEY/);
    const wrongKey = await cli(["merchant", "register", "--name", "Third", "--api-key-file", join(dir, `merchant-${merchantId}.key`)]);
    expect(wrongKey.code).toBe(1);
    expect(wrongKey.err).toMatch(/needs the admin API key \[forbidden\]/);

    const png = join(dir, "code.png");
    const qr = await cli(["merchant", "qr", "--merchant", String(merchantId), "--amount", "12.34", "--currency", "EUR", "--out", png]);
    expect(qr.code).toBe(0);
    expect(qr.out).toMatch(/[▀▄█]/);
    expect(qr.out).toContain(`merchant ${merchantId} asks 12.34 EUR`);
    expect(qr.out).toContain(`image written to ${png}`);
    expect(existsSync(png)).toBe(true);

    const pay = await cli(["pay", "--qr", png]);
    expect(pay).toMatchObject({ code: 0, err: "" });
    expect(pay.out).toContain("payment code valid: Corner Café");
    expect(pay.out).toMatch(/^order [0-9a-f]{24} created: 12\.34 EUR to Corner Café$/m);
    expect(pay.out).toMatch(/^the order is open \(state open\)/m);

    const jpg = join(dir, "code.jpg");
    const qrJson = JSON.parse((await cli(["merchant", "qr", "--merchant", String(merchantId), "--amount", "1500", "--currency", "JPY", "--out", jpg, "--json"])).out);
    expect(readFileSync(jpg).subarray(0, 2)).toEqual(Buffer.from([0xff, 0xd8]));
    const payJson = JSON.parse((await cli(["pay", "--qr", jpg, "--json"])).out);
    expect(payJson.order).toMatchObject({ amount: 1500, currency: "JPY", state: "open", orderRef: qrJson.orderRef });
  });

  it("pay refuses expired, forged, truncated and foreign codes with the reason, exit 1", async () => {
    const merchantId = JSON.parse((await register("--name", "Refusals", "--json")).out).merchantId as number;
    const issued = JSON.parse((await cli(["merchant", "qr", "--merchant", String(merchantId), "--amount", "5", "--currency", "EUR", "--ttl", "60", "--json"])).out);
    const bytes = decodeBase45(issued.code);
    const forged = bytes.slice();
    forged[20]! ^= 0x01; // amount's low byte
    const cases: Array<[string, string]> = [
      [encodeBase45(forged), "forged"],
      [encodeBase45(bytes.subarray(0, 30)), "truncated"],
      ["https://example.com/menu", "not-ours"],
    ];
    for (const [text, reason] of cases) {
      const file = join(dir, `${reason}.png`);
      writeFileSync(file, await renderQrPng(text));
      const r = await cli(["pay", "--qr", file, "--json"]);
      expect(r.code, reason).toBe(1);
      expect(JSON.parse(r.out).error.reason).toBe(reason);
    }
    clock += 61_000;
    const expired = await cli(["pay", "--code", issued.code]);
    expect(expired.code).toBe(1);
    expect(expired.err).toMatch(/expired at .* ask the merchant for a new one/);
  });

  it("usage errors exit 2 and name the fix", async () => {
    expect((await cli(["merchant", "qr", "--merchant", "1", "--amount", "1.234", "--currency", "EUR"])).err).toMatch(/3 decimals but EUR has 2/);
    expect((await cli(["merchant", "qr", "--merchant", "1", "--amount", "1"])).code).toBe(2);
    expect((await cli(["merchant", "frobnicate"])).code).toBe(2);
    expect((await cli(["pay"])).err).toMatch(/exactly one of --qr/);
    expect((await cli(["pay", "--qr", join(dir, "missing.png")])).err).toMatch(/cannot read .*ENOENT/);
    expect((await cli(["platform", "start"])).code).toBe(2);
    expect((await cli(["help", "pay"])).out).toContain("keycarrier pay --qr");
  });
});

describe("keycarrier platform serve (real process)", () => {
  it("listens on 127.0.0.1, answers, keeps the ledger, and stops cleanly on SIGTERM", async () => {
    const db = join(dir, "served.sqlite");
    const child = spawn(process.execPath, [join(repo, "host/bin/keycarrier.mjs"), "platform", "serve", "--port", "0", "--db", db, "--json"], {
      env: { ...process.env, KEYCARRIER_PLATFORM_KEY: "11".repeat(32) },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    let err = "";
    child.stderr.on("data", (c) => (err += c));
    const first = await new Promise<string>((resolve, reject) => {
      child.stdout.on("data", (c) => {
        out += c;
        if (out.includes("\n")) resolve(out.split("\n")[0]!);
      });
      child.on("exit", () => reject(new Error(`serve exited early: ${err}`)));
    });
    const info = JSON.parse(first);
    expect(info).toMatchObject({ db, schemaVersion: 6, keyProtection: "aes-256-gcm" });
    expect(info.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    const health = await (await fetch(`${info.url}/v1/health`)).json();
    expect(health).toEqual({ ok: true, schemaVersion: 6, keyProtection: "aes-256-gcm" });
    const exit = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
    child.kill("SIGTERM");
    expect(await exit).toBe(0);
    expect(err).toBe("");
    expect(existsSync(db)).toBe(true);
  }, 20_000);
});
