/**
 * The issuer's risk rules at authorization (docs/PLATFORM.md §"Risk rules"). A valid cryptogram
 * proves the carrier's key computed it, not that the carrier's owner wanted this payment: a clone
 * holding the key computes valid cryptograms too. These rules bound what any key holder can do:
 *
 * - limit and currency: the carrier's per-payment limit and its currency, recorded at issue (the same
 *   limit the carrier enforces itself since personalisation);
 * - ATC window: an ATC more than `atcAhead` above the highest accepted one is refused (a clone cannot
 *   burn the owner's future counters in bulk), as is one more than `atcBehind` below it; a gap (ATCs
 *   skipped, e.g. payments the user declined on the carrier) is accepted and flagged in the audit;
 * - velocity: at most `maxPerWindow` settled payments and `maxAmountPerWindow` minor units per carrier
 *   in any `windowMs` (sliding; amounts are summed per currency of the carrier).
 *
 * Pure functions: service.ts supplies the carrier's state and recent history and turns a refusal
 * into a PlatformError.
 */

export interface RiskPolicy {
  /** Highest ATC accepted = highest seen + atcAhead. */
  atcAhead: number;
  /** Lowest ATC accepted = highest seen − atcBehind (unused ATCs below the highest arrive late, e.g. retries). */
  atcBehind: number;
  /** Velocity window, ms. */
  windowMs: number;
  /** Settled payments per carrier per window. */
  maxPerWindow: number;
  /** Sum of settled amounts per carrier per window, minor units; undefined = 10 × the carrier's limit. */
  maxAmountPerWindow?: number;
  /** Limit for carriers issued before limits were recorded (schema < 004) or issued without one. */
  defaultLimitMinor: number;
  /** Currency for such carriers. */
  defaultCurrency: string;
}

export const DEFAULT_RISK_POLICY: RiskPolicy = {
  atcAhead: 32,
  atcBehind: 32,
  windowMs: 3_600_000,
  maxPerWindow: 30,
  defaultLimitMinor: 100_000,
  defaultCurrency: "EUR",
};

export interface CarrierRiskState {
  /** Per-payment limit, minor units (null: not recorded). */
  limitMinor: number | null;
  /** ISO 4217 code (null: not recorded). */
  currency: string | null;
  /** Highest ATC accepted so far (0: none). */
  lastAtc: number;
}

export interface RecentActivity {
  /** Settled payments of this carrier within the window. */
  count: number;
  /** Their amounts summed, minor units. */
  amount: number;
}

export interface RiskRefusal {
  httpStatus: number;
  reason: "over-carrier-limit" | "currency-not-allowed" | "atc-out-of-window" | "velocity-count" | "velocity-amount";
  message: string;
}

export interface RiskVerdict {
  refusal?: RiskRefusal;
  /** ATCs skipped between the highest seen and this one (0: none); flagged in the audit when accepted. */
  gap: number;
}

export function effectiveLimits(c: CarrierRiskState, policy: RiskPolicy): { limitMinor: number; currency: string } {
  return { limitMinor: c.limitMinor ?? policy.defaultLimitMinor, currency: c.currency ?? policy.defaultCurrency };
}

/** Checks that need no cryptogram: run before the (costlier) MAC check, and refuse without a ledger write. */
export function checkAuthorizationRisk(
  c: CarrierRiskState, order: { amount: number; currency: string }, atc: number, recent: RecentActivity, policy: RiskPolicy,
): RiskVerdict {
  const { limitMinor, currency } = effectiveLimits(c, policy);
  const gap = atc > c.lastAtc + 1 ? atc - c.lastAtc - 1 : 0;
  if (order.currency !== currency) {
    return { gap, refusal: { httpStatus: 422, reason: "currency-not-allowed", message: `this carrier pays in ${currency} only; the order is in ${order.currency}` } };
  }
  if (order.amount > limitMinor) {
    return { gap, refusal: { httpStatus: 422, reason: "over-carrier-limit", message: `the order (${order.amount} minor units) is over this carrier's per-payment limit of ${limitMinor} ${currency} minor units` } };
  }
  if (atc > c.lastAtc + policy.atcAhead || atc < c.lastAtc - policy.atcBehind) {
    return {
      gap,
      refusal: {
        httpStatus: 409, reason: "atc-out-of-window",
        message: `ATC ${atc} is outside this carrier's window ${Math.max(1, c.lastAtc - policy.atcBehind)} … ${c.lastAtc + policy.atcAhead} (highest accepted ${c.lastAtc}) — a cloned or tampered carrier, or one far out of sync; contact the issuer`,
      },
    };
  }
  if (recent.count + 1 > policy.maxPerWindow) {
    return { gap, refusal: { httpStatus: 429, reason: "velocity-count", message: `this carrier already made ${recent.count} payments in the last ${policy.windowMs / 60_000} min (limit ${policy.maxPerWindow}) — try again later or contact the issuer` } };
  }
  const maxAmount = policy.maxAmountPerWindow ?? 10 * limitMinor;
  if (recent.amount + order.amount > maxAmount) {
    return { gap, refusal: { httpStatus: 429, reason: "velocity-amount", message: `this payment would bring the carrier's total in the last ${policy.windowMs / 60_000} min to ${recent.amount + order.amount} ${currency} minor units, over ${maxAmount} — try again later or contact the issuer` } };
  }
  return { gap };
}
