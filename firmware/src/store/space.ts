// Preflight for the few Storage files the firmware still creates (.boot0, kc.tk, the offline applet's
// kc.olk / kc.olic). Espruino's Storage auto-compacts when no hole fits, and a power cut during
// compaction can make the boot check erase all of Storage, firmware included (STORAGE.md §1). So no
// command ever creates a file that does not fit in the free space after the last file.
import type { StoreEnv } from "./ports.ts";

export const ESPRUINO_HEADER_BYTES = 32;

export function creationBytes(size: number): number {
  return ESPRUINO_HEADER_BYTES + ((size + 3) & ~3);
}

// Whether a file of `size` data bytes can be created right now without compaction, and without
// its Espruino header landing in the last page (where a torn header fails the boot check).
export function canCreate(env: StoreEnv, size: number): boolean {
  const stats = env.storage.getStats();
  const headerAt = stats.totalBytes - stats.freeBytes;
  if (stats.freeBytes < creationBytes(size)) return false;
  if (headerAt === 0) return true; // empty store: a torn first header wipes nothing of value
  return headerAt < stats.totalBytes - env.pageBytes;
}
