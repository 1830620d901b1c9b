// Store v1 → v2 (STORAGE.md §9). A carrier personalised by store v1 firmware keeps its records in
// A/B files of Espruino Storage (kc.log.*, kc.ctr.*, kc.pay.*) and has no kc.st. Reserving pages
// behind them would need a Storage compaction with its secrets present (not power-safe), so v2 does
// not migrate them: it answers LOCKED ("store v1: WIPE + PERSONALISE needed") until a WIPE with the
// button erases them, and then runs BLANK. Only the file names are needed for that.
import type { StoreEnv } from "./ports.ts";

// Store v1's files and the offline applet's (whose key a v1 carrier may hold), by name: one regex
// with top-level alternatives only (the gate's rule for Espruino's regex engine).
export const STORE_V1_WIPED = /^kc\.log\.|^kc\.ctr\.|^kc\.pay\.|^kc\.ol/;

// Erases every store v1 file and the offline applet's, then compacts Storage so their bytes are
// physically gone and the reservation finds no trash. A cut in that compaction is v1's known
// residual (the boot check may erase all of Storage, firmware included): there is no other way out
// of v1's files.
export function wipeStoreV1(env: StoreEnv): void {
  const names = env.storage.list(STORE_V1_WIPED);
  for (let i = 0; i < names.length; i++) env.storage.erase(names[i]!);
  env.storage.compact();
}
