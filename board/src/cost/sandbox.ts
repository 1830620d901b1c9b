// A minimal metered sandbox: evaluate ES5 source, instrumented, in a fresh node:vm context with the
// cost hooks installed. The virtual board has its own runtime; this exists for benchmarks, the
// calibration check and tests that want cost figures for a snippet without a whole board.
import vm from "node:vm";
import { CostMeter } from "./meter.ts";

export interface MeteredRun { meter: CostMeter; context: vm.Context; result: unknown }

export function runMetered(source: string, opts: { meter?: CostMeter; globals?: Record<string, unknown>; context?: vm.Context; filename?: string } = {}): MeteredRun {
  const meter = opts.meter ?? new CostMeter();
  let context = opts.context;
  if (!context) {
    context = vm.createContext({ ...(opts.globals ?? {}) });
    meter.install(context);
  }
  const code = meter.instrument(source);
  const result = vm.runInContext(code, context, { filename: opts.filename ?? "metered.js" });
  return { meter, context, result };
}
