// The durability point over HTTP: no reply leaves before the commits it may reveal are fsynced,
// and concurrent requests share fsyncs (group commit). docs/PLATFORM.md §Durability.
import { describe, it, expect, afterEach } from "vitest";
import { fsync, fsyncSync } from "node:fs";
import { startPlatformServer, type RunningPlatform } from "../../src/platform/http.ts";
import { PlatformClient, PlatformRequestError } from "../../src/platform/client.ts";
import { carrierAuthorization, setupOrder, tempDir, TEST_PIN_OPTIONS } from "./helpers.ts";

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function serve(): Promise<{ running: RunningPlatform; client: PlatformClient }> {
  const t = tempDir();
  cleanups.push(t.cleanup);
  const running = await startPlatformServer({ dbFile: t.file, port: 0, pin: TEST_PIN_OPTIONS });
  cleanups.push(() => running.close());
  // the admin key: registering a merchant and reading the audit trail are admin routes
  return { running, client: new PlatformClient(running.url, { apiKey: running.platform.createdAdminKey }) };
}

const settledWithin = (p: Promise<unknown>, ms: number) => Promise.race([p.then(() => true, () => true), new Promise((r) => setTimeout(() => r(false), ms))]);

describe("group commit over HTTP", () => {
  it("a reply — even a read of the new state — is held until the fsync covering its commit completes", async () => {
    const { running, client } = await serve();
    const held: Array<() => void> = [];
    running.platform.ledger.setSyncIo({ fsync: (fd, done) => held.push(() => fsync(fd, done)), fsyncSync });
    const registering = client.registerMerchant({ name: "Held" });
    const merchants = () => running.platform.ledger.all("SELECT name FROM merchants");
    for (let waited = 0; merchants().length === 0 && waited < 10_000; waited += 10) await new Promise((r) => setTimeout(r, 10));
    expect(merchants()).toEqual([{ name: "Held" }]); // committed in the ledger …
    expect(await settledWithin(registering, 150)).toBe(false); // … not acknowledged while its fsync is held
    const reading = client.request("GET", "/v1/audit?after=0");
    expect(await settledWithin(reading, 50)).toBe(false); // would reveal the unsynced commit
    expect(held.length).toBe(1);
    held.shift()!();
    expect(await registering).toMatchObject({ merchantId: 1, name: "Held" });
    expect(((await reading) as { rows: unknown[] }).rows.length).toBeGreaterThan(0);
  });

  it("concurrent authorizations share fsyncs: fewer fsyncs than requests, every one settled once", async () => {
    const { running, client } = await serve();
    const p = running.platform;
    const n = 48;
    // one merchant (names are unique), a carrier per order, each order's PIN verified online first
    const { merchant } = setupOrder(p, 100);
    const auths = Array.from({ length: n }, () => {
      const carrier = p.issueCarrier();
      const order = p.createOrder({ code: p.issuePaymentCode({ merchantId: merchant.merchantId, amount: 100, currency: "EUR" }).code });
      return carrierAuthorization(p, carrier.carrierId, order, 1);
    });
    await p.ledger.durable();
    const before = { ...p.ledger.stats };
    const settled = await Promise.all(auths.map((a) => client.authorize(a)));
    const commits = p.ledger.stats.commits - before.commits;
    const syncs = p.ledger.stats.syncs - before.syncs;
    expect(new Set(settled.map((s) => s.orderId)).size).toBe(n);
    expect(commits).toBe(2 * n); // verify+record, settle
    expect(syncs).toBeGreaterThan(0);
    expect(syncs).toBeLessThan(n); // requests of one event-loop turn joined one fsync
    expect(Number(p.ledger.get("SELECT count(*) AS n FROM settlements")!.n)).toBe(n);
  });

  it("a failed fsync answers 503 ledger-unavailable instead of the success it cannot vouch for, and the platform refuses further work", async () => {
    const { running, client } = await serve();
    running.platform.ledger.setSyncIo({ fsync: (_fd, done) => done(Object.assign(new Error("EIO: i/o error, fsync"), { code: "EIO" })), fsyncSync });
    const err = await client.registerMerchant({ name: "Lost" }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PlatformRequestError);
    expect([(err as PlatformRequestError).httpStatus, (err as PlatformRequestError).reason]).toEqual([503, "ledger-unavailable"]);
    const next = await client.health().catch((e: unknown) => e);
    expect((next as PlatformRequestError).reason).toBe("ledger-unavailable");
  });
});
