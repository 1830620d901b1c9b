import { describe, it, expect } from "vitest";
import { defaultSizes, measurePlatformThroughput, measureVerifications } from "../../src/platform/bench.ts";
import { defaultPostgresSizes, measurePostgresThroughput } from "../../src/platform/bench-postgres.ts";
import { pgServerUnavailable } from "../../src/platform/pg-server.ts";

describe("measurePlatformThroughput", () => {
  it("settles real authorizations over HTTP, in-process and in memory, at a given ledger size, and reports rates that match its counts", async () => {
    const r = await measurePlatformThroughput({ httpBudgetMs: 300, durableBudgetMs: 150, memoryBudgetMs: 100, orders: 60, clients: 8, batch: 8, sizes: [300, 200], sizeOrders: 10, sizeRounds: 2, verifyBudgetMs: 20 });
    for (const run of [r.http, r.batched, r.each, r.memory, ...r.sizes]) {
      expect(run.settled).toBeGreaterThan(0);
      expect(run.settled).toBeLessThanOrEqual(60);
      // seconds is rounded to the millisecond: the rate must lie within what that rounding allows
      expect(run.perSecond).toBeGreaterThanOrEqual(Math.floor(run.settled / (run.seconds + 0.0005)));
      expect(run.perSecond).toBeLessThanOrEqual(Math.ceil(run.settled / Math.max(run.seconds - 0.0005, 1e-9)));
      expect(run.ledgerBytes).toBeGreaterThan(4096);
    }
    expect(r.http.refused).toBe(0);
    expect(r.each.syncsPerSettlement).toBe(2); // one fsync per commit, two commits per settlement
    expect(r.batched.syncsPerSettlement).toBeLessThan(1); // a batch shares its fsync
    expect(r.each.commitMsPerCommit).toBeGreaterThan(0);
    expect(r.memory.syncsPerSettlement).toBe(0);
    expect(r.sizes.map((s) => s.settledRows)).toEqual([300, 200]);
    for (const s of r.sizes) {
      expect(s.settled).toBe(10); // two rounds of five
      expect(s.writeBackMsPerCommit).toBeGreaterThan(0); // each round ends with a checkpoint
    }
    expect(r.verifyPerSecond).toBeGreaterThan(0);
  });

  it("measureVerifications verifies real cryptograms (it throws if one does not verify)", () => {
    expect(measureVerifications(20)).toBeGreaterThan(0);
  });

  it("the ledger sizes default to 10³, 10⁵, 10⁶ and KC_BENCH_LEDGER_SIZES overrides them", () => {
    expect(defaultSizes({})).toEqual([1000, 100_000, 1_000_000]);
    expect(defaultSizes({ KC_BENCH_LEDGER_SIZES: "1000, 5000" })).toEqual([1000, 5000]);
  });

  // The seeded-size runs are left to `npm run bench` (another platform process to start: CI time).
  it("the PostgreSQL half settles real authorizations with 1 and 2 processes (its summary throws unless the ledger holds exactly what clients were told)", async (ctx) => {
    const why = pgServerUnavailable();
    if (why) {
      console.log(`SKIPPED (PostgreSQL bench): ${why}`);
      return ctx.skip();
    }
    const r = await measurePostgresThroughput({ clients: 8, rounds: 1, budgetMs: 400, slice: 24, sizes: [] });
    expect(r.skipped).toBeUndefined();
    expect(r.runs.map((x) => x.processes)).toEqual([1, 2]);
    for (const run of r.runs) {
      expect(run.settled).toBeGreaterThan(0);
      expect(run.refused).toBe(0);
      expect(run.platformCpuMsPerSettlement).toBeGreaterThan(0);
    }
    expect(r.sizes).toEqual([]);
    expect(r.speedup).toBeGreaterThan(0);
    expect(defaultPostgresSizes({})).toEqual([1000, 100_000]);
  }, 120_000);
});
