// The only place that lets Espruino compact Storage (STORAGE.md §5). Compaction erases pages from
// a RAM copy; a power cut during it makes the next boot wipe the whole store. It therefore runs
// only when the platform calls it while idle (at boot, before the link answers anything), and only
// when trash has grown enough that the next rotations would not fit — rarely, by the §7 math.
import type { StoreEnv } from "./ports.ts";

export interface MaintenanceResult { compacted: boolean }

// Free bytes a new file can use: canCreate() keeps new headers out of the last page.
export function usableFreeBytes(env: StoreEnv): number {
  const free = env.storage.getStats().freeBytes - env.pageBytes;
  return free > 0 ? free : 0;
}

export function needsCompaction(env: StoreEnv, reserveBytes: number): boolean {
  return env.storage.getStats().trashBytes > 0 && usableFreeBytes(env) < reserveBytes;
}

export function runMaintenance(env: StoreEnv, reserveBytes: number, force?: boolean): MaintenanceResult {
  const compacted = force === true ? env.storage.getStats().trashBytes > 0 : needsCompaction(env, reserveBytes);
  if (compacted) env.storage.compact();
  return { compacted: compacted };
}
