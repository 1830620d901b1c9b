// Attack (issue 11, item 7): start a second platform process on a ledger file that a running
// platform is writing. With the sql.js engine each process held its own copy of the database and
// rewrote the whole file on every commit, so the two silently overwrote each other's settlements.
// Now the file's SQLite lock (EXCLUSIVE locking mode, taken at open) refuses the second process
// with a clear error, a foreign SQLite writer gets "database is locked", and the lock dies with its
// holder, so a platform killed with SIGKILL is replaced at once with nothing acknowledged lost.
import { describe, it, expect, afterEach } from "vitest";
import Database from "better-sqlite3";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PlatformClient } from "../../host/src/platform/client.ts";
import { Ledger } from "../../host/src/platform/ledger.ts";
import type { AuthorizationRequest } from "../../host/src/platform/service.ts";
import { killHard, platformProcessOutcome, prepareOrders, startPlatformProcess, type PlatformProcess } from "../platform-process.ts";

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

function ledgerFile(): string {
  const dir = mkdtempSync(join(tmpdir(), "kc-second-writer-"));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  return join(dir, "ledger.sqlite");
}

async function running(file: string): Promise<PlatformProcess> {
  const p = await startPlatformProcess(file);
  cleanups.push(async () => {
    if (p.child.exitCode === null && p.child.signalCode === null) await killHard(p);
  });
  return p;
}

async function settleAll(url: string, auths: AuthorizationRequest[]): Promise<Map<string, string>> {
  const client = new PlatformClient(url);
  const settled = await Promise.all(auths.map((a) => client.authorize(a)));
  return new Map(settled.map((s) => [s.orderId, s.settlementId]));
}

async function settlementsOnDisk(file: string): Promise<Map<string, string>> {
  const ledger = await Ledger.open(file);
  try {
    return new Map(ledger.all("SELECT order_id, settlement_id FROM settlements").map((r) => [String(r.order_id), String(r.settlement_id)]));
  } finally {
    ledger.close();
  }
}

describe("attack: a second writer on the platform's ledger", () => {
  it("a second `platform serve` on the same --db refuses to start with a clear error, even under load, and loses nothing", async () => {
    const file = ledgerFile();
    const auths = (await prepareOrders(file, 2, 12)).flat();
    const first = await running(file);
    const acked = await settleAll(first.url, auths.slice(0, 12));

    const [second, more] = await Promise.all([platformProcessOutcome(file), settleAll(first.url, auths.slice(12))]);
    expect(second.code).toBe(1);
    expect(second.stdout).not.toMatch(/"url"/); // it never listened
    expect(JSON.parse(second.stdout)).toMatchObject({ ok: false, error: { type: "LedgerError" } });
    expect(second.stdout).toMatch(/ledger .*ledger\.sqlite is in use by another process .*one platform process per ledger file/);
    for (const [k, v] of more) acked.set(k, v);

    first.child.kill("SIGTERM");
    expect((await first.exited).code).toBe(0);
    const onDisk = await settlementsOnDisk(file);
    expect(acked.size).toBe(24);
    expect(onDisk).toEqual(acked); // every acknowledged settlement, and no other
  });

  it("a foreign SQLite writer in another process gets 'database is locked' and changes nothing", async () => {
    const file = ledgerFile();
    const auths = (await prepareOrders(file, 1, 2)).flat();
    const first = await running(file);
    const acked = await settleAll(first.url, auths.slice(0, 1));
    const foreign = new Database(file, { timeout: 200 });
    try {
      expect(() => foreign.prepare("INSERT INTO audit (at, entity, entity_id, action, detail) VALUES (0, 'x', 'x', 'forged', '{}')").run()).toThrow(/database is locked/);
      expect(() => foreign.prepare("SELECT count(*) FROM settlements").get()).toThrow(/database is locked/);
    } finally {
      foreign.close();
    }
    for (const [k, v] of await settleAll(first.url, auths.slice(1))) acked.set(k, v);
    first.child.kill("SIGTERM");
    await first.exited;
    const ledger = await Ledger.open(file);
    expect(ledger.all("SELECT * FROM audit WHERE action = 'forged'")).toEqual([]);
    ledger.close();
    expect(await settlementsOnDisk(file)).toEqual(acked);
  });

  it("the lock dies with its holder: after SIGKILL a new platform starts on the file at once, with every acknowledged settlement", async () => {
    const file = ledgerFile();
    const auths = (await prepareOrders(file, 1, 8)).flat();
    const first = await running(file);
    const acked = await settleAll(first.url, auths);
    await killHard(first);
    const second = await running(file); // no stale lock to clear by hand
    second.child.kill("SIGTERM");
    expect((await second.exited).code).toBe(0);
    expect(await settlementsOnDisk(file)).toEqual(acked);
  });
});
