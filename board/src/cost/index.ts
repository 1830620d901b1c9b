// The cost model's public surface: instrumentation, the meter, calibration, JsVars, NFC budget.
export { instrument, countsFromHits, zeroCounts, COST_GLOBAL, type Site, type SiteCounts, type InstrumentOptions, type InstrumentResult, type FunctionSite } from "./instrument.ts";
export { CostMeter, estimateCounts, msRange, normaliseNativeKind, NATIVE_KINDS, type CostCounts, type CostEstimate, type CostBreakdown, type CostHooks, type FlashCounters, type NativeTally, type ScopeRecord, type FunctionRegistry, type FunctionInfo, type ScopeInfo } from "./meter.ts";
export { deriveUnitCosts, unitCostsFor, CPI_RANGE, JS_SCALE, NATIVE_INSTRUCTIONS, LEX_INSTRUCTIONS_PER_CHAR, FACTS_64MHZ_ROWS, REFERENCE_PROGRAMS, NRF52_FLASH, STM32F4_FLASH, type CalibrationRows, type UnitCosts, type ProfileLike, type FlashTiming } from "./calibration.ts";
export { codeVars, nameVars, stringVars, flatVars, functionVars, sizeRulesFor, varLayout, getSizeOf, estimateVars, enforceMemoryLimit, raiseOutOfMemory, globalNames, OutOfMemory, OUT_OF_MEMORY_FLAG, CODE_FROM_STORAGE_POINTS, type VarEstimate, type RuntimeRoot, type VarProfile, type EstimateVarsOptions } from "./vars.ts";
export { nfcFrameBudget, nfcFrameVerdict, NfcFrameBudgetExceeded, NFC_FRAME_BUDGET_MS, NFC_LABEL, type NfcFrameResult } from "./nfc-budget.ts";
export { runMetered, type MeteredRun } from "./sandbox.ts";
export { builtinVars, BUILTIN_GLOBAL_VARS, PROTOTYPE_VARS } from "./builtins.ts";
