// NFC frame budget: a reply to an NFCrx frame must start within FRAMEDELAYMAX (facts §7).
// FRAMEDELAYMAX = 0xFFFF carrier cycles at 13.56 MHz = 4.833 ms; facts §7 rounds it to 4.8 ms and
// the budget uses 4.8 ms, keeping the rounding as margin.
import type { CostEstimate, CostMeter, ScopeRecord } from "./meter.ts";
import type { ProfileLike } from "./calibration.ts";

export const NFC_FRAME_BUDGET_MS = 4.8;
export const NFC_LABEL = "NFCrx";

export class NfcFrameBudgetExceeded extends Error {
  constructor(readonly estimate: CostEstimate, readonly budgetMs: number) {
    const b = estimate.breakdown;
    const parts = Object.entries({ statements: b.statements, loops: b.loops, ops: b.ops, props: b.props, elems: b.elems, calls: b.calls, native: b.native, flash: b.flash })
      .filter(([, ms]) => ms > 0).sort((x, y) => y[1] - x[1]).map(([k, ms]) => `${k} ${ms.toFixed(2)} ms`).join(", ");
    super(`NFCrx handler estimated at ${estimate.ms.toFixed(2)} ms, over the ${budgetMs} ms frame delay (FRAMEDELAYMAX); ` +
      `biggest costs: ${parts}. Move byte loops into native calls (E.toString, crypto) or answer with a short ACK and finish later.`);
    this.name = "NfcFrameBudgetExceeded";
  }
}

export interface NfcFrameResult<T> { result: T; ms: number; estimate: CostEstimate; record: ScopeRecord }

/**
 * Runs one NFCrx handler invocation under the meter and throws NfcFrameBudgetExceeded when its
 * estimated board time on `profile` exceeds the frame budget. The handler's own exceptions pass through.
 */
export function nfcFrameBudget<T>(meter: CostMeter, profile: ProfileLike | null | undefined, handler: () => T, budgetMs = NFC_FRAME_BUDGET_MS): NfcFrameResult<T> {
  const { result, record } = meter.measure(NFC_LABEL, handler);
  const estimate = meter.estimate(profile, record.counts);
  if (estimate.ms > budgetMs) throw new NfcFrameBudgetExceeded(estimate, budgetMs);
  return { result, ms: estimate.ms, estimate, record };
}

/**
 * For the runtime, which runs the handler itself (core.invoke inside meter.measure): the estimated
 * time of a finished NFCrx scope and whether its reply would have started in time. A late reply
 * should be treated like no reply (the reader gives up).
 */
export function nfcFrameVerdict(meter: Pick<CostMeter, "estimate">, profile: ProfileLike | null | undefined, record: ScopeRecord, budgetMs = NFC_FRAME_BUDGET_MS): { ms: number; inTime: boolean; estimate: CostEstimate } {
  const estimate = meter.estimate(profile, record.counts);
  return { ms: estimate.ms, inTime: estimate.ms <= budgetMs, estimate };
}
