import { describe, it, expect } from "vitest";
import { measurePlatformThroughput } from "../../src/platform/bench.ts";

describe("measurePlatformThroughput", () => {
  it("settles real authorizations on disk and in memory and reports rates that match its counts", async () => {
    const r = await measurePlatformThroughput({ durableBudgetMs: 150, memoryBudgetMs: 100, orders: 40 });
    for (const run of [r.durable, r.memory]) {
      expect(run.settled).toBeGreaterThan(0);
      expect(run.settled).toBeLessThanOrEqual(40);
      expect(Math.abs(run.perSecond - run.settled / run.seconds)).toBeLessThan(run.perSecond * 0.05 + 1);
      expect(run.ledgerBytes).toBeGreaterThan(4096);
    }
    expect(r.durable.persistMsPerCommit).toBeGreaterThan(0);
    expect(r.memory.persistMsPerCommit).toBe(0);
  });
});
