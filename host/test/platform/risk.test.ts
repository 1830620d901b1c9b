import { describe, expect, it } from "vitest";
import { checkAuthorizationRisk, DEFAULT_RISK_POLICY as P } from "../../src/platform/risk.ts";
import { RefusalAudit } from "../../src/platform/refusal-audit.ts";
import { Platform } from "../../src/platform/service.ts";
import { reasonOf } from "./helpers.ts";

const carrier = { limitMinor: 100_000, currency: "EUR", lastAtc: 40 };
const quiet = { count: 0, amount: 0 };
const reason = (v: ReturnType<typeof checkAuthorizationRisk>) => v.refusal?.reason ?? "ok";

describe("risk rules (risk.ts)", () => {
  it("limit and currency: at the limit passes, one minor unit over does not; only the carrier's currency", () => {
    expect(reason(checkAuthorizationRisk(carrier, { amount: 100_000, currency: "EUR" }, 41, quiet, P))).toBe("ok");
    expect(reason(checkAuthorizationRisk(carrier, { amount: 100_001, currency: "EUR" }, 41, quiet, P))).toBe("over-carrier-limit");
    expect(reason(checkAuthorizationRisk(carrier, { amount: 1, currency: "USD" }, 41, quiet, P))).toBe("currency-not-allowed");
  });

  it("carriers without a recorded limit get the policy's default limit and currency", () => {
    const legacy = { limitMinor: null, currency: null, lastAtc: 0 };
    expect(reason(checkAuthorizationRisk(legacy, { amount: P.defaultLimitMinor, currency: P.defaultCurrency }, 1, quiet, P))).toBe("ok");
    expect(reason(checkAuthorizationRisk(legacy, { amount: P.defaultLimitMinor + 1, currency: P.defaultCurrency }, 1, quiet, P))).toBe("over-carrier-limit");
  });

  it("ATC window edges, and the gap it reports", () => {
    const at = (atc: number) => checkAuthorizationRisk(carrier, { amount: 1, currency: "EUR" }, atc, quiet, P);
    expect(reason(at(40 + P.atcAhead))).toBe("ok");
    expect(reason(at(41 + P.atcAhead))).toBe("atc-out-of-window");
    expect(reason(at(40 - P.atcBehind))).toBe("ok");
    expect(reason(at(39 - P.atcBehind))).toBe("atc-out-of-window");
    expect(at(41).gap).toBe(0);
    expect(at(45).gap).toBe(4);
    expect(at(12).gap).toBe(0);
  });

  it("velocity: count and amount per window", () => {
    const o = { amount: 50_000, currency: "EUR" };
    expect(reason(checkAuthorizationRisk(carrier, o, 41, { count: P.maxPerWindow - 1, amount: 0 }, P))).toBe("ok");
    expect(reason(checkAuthorizationRisk(carrier, o, 41, { count: P.maxPerWindow, amount: 0 }, P))).toBe("velocity-count");
    expect(reason(checkAuthorizationRisk(carrier, o, 41, { count: 1, amount: 950_000 }, P))).toBe("ok");
    expect(reason(checkAuthorizationRisk(carrier, o, 41, { count: 1, amount: 950_001 }, P))).toBe("velocity-amount");
    expect(reason(checkAuthorizationRisk(carrier, o, 41, { count: 1, amount: 950_001 }, { ...P, maxAmountPerWindow: 10_000_000 }))).toBe("ok");
  });

  it("issueCarrier validates and records the limit and currency", async () => {
    const p = await Platform.open({});
    try {
      expect(p.issueCarrier({ limit: 5000, currency: "CHF" })).toMatchObject({ limit: 5000, currency: "CHF" });
      expect(p.issueCarrier()).toMatchObject({ limit: P.defaultLimitMinor, currency: P.defaultCurrency });
      expect(reasonOf(() => p.issueCarrier({ limit: 0 }))).toBe("bad-request");
      expect(reasonOf(() => p.issueCarrier({ limit: 1.5 }))).toBe("bad-request");
      expect(reasonOf(() => p.issueCarrier({ currency: "eur" }))).toBe("bad-request");
    } finally {
      p.close();
    }
  });
});

describe("refusal audit (refusal-audit.ts)", () => {
  it("is due only after the interval and only with counts; take() resets; restore() puts counts back", () => {
    let now = 1000;
    const a = new RefusalAudit(() => now, { flushIntervalMs: 60_000, maxSamples: 2 });
    expect(a.due()).toBe(false);
    a.count("http", "unauthenticated", "POST /v1/merchants");
    a.count("http", "unauthenticated", "POST /v1/carriers");
    a.count("http", "unauthenticated", "GET /v1/audit");
    expect(a.due()).toBe(false);
    now += 60_000;
    expect(a.due()).toBe(true);
    const taken = a.take()!;
    expect(taken.total).toBe(3);
    expect(taken.counts).toEqual([{ entity: "http", reason: "unauthenticated", count: 3, firstAt: 1000, lastAt: 1000, samples: ["POST /v1/merchants", "POST /v1/carriers"] }]);
    expect(a.pending).toBe(0);
    expect(a.take()).toBeUndefined();
    a.restore(taken);
    expect(a.pending).toBe(3);
  });
});
