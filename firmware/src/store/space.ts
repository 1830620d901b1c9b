// Preflight for file creation. Espruino's Storage auto-compacts when no hole fits, and a power cut
// during compaction wipes a multi-page store at the next boot (STORAGE.md §5). So nothing in a
// command may ever create a file that does not fit in the free space after the last file.
import { storeFull, type StoreEnv } from "./ports.ts";

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

// Names Espruino lists after a power cut tore one of our files' header or delete mark:
//  - a torn header: every byte has at least the bits of our name (bits only clear while
//    programming) and some byte is still 0xFF;
//  - a torn delete mark (erase clears the first 4 name bytes in one word write): those 4 bytes hold
//    a subset of our bits, the rest is our name. (If one of them reached 0 the name is cut short and
//    cannot be erased through the Storage API at all: STORAGE.md §6 lists that residual.)
export function isTorn(listed: string, ours: string): boolean {
  if (listed === ours || listed.length < ours.length) return false;
  let header = listed.indexOf("\xff") >= 0;
  let mark = listed.length === ours.length && listed.substr(4) === ours.substr(4);
  for (let i = 0; i < ours.length; i++) {
    const c = listed.charCodeAt(i);
    const t = ours.charCodeAt(i);
    if ((c & t) !== t) header = false;
    if (i < 4 && (c & t) !== c) mark = false;
  }
  return header || mark;
}

// ours: the A/B pair of names
export function eraseTornVariants(env: StoreEnv, ours: string[]): void {
  const names = env.storage.list();
  for (let i = 0; i < names.length; i++) if (isTorn(names[i]!, ours[0]!) || isTorn(names[i]!, ours[1]!)) env.storage.erase(names[i]!);
}

export function isListed(env: StoreEnv, name: string): boolean {
  return env.storage.list(name).indexOf(name) >= 0;
}

// Erases every name of the pair except the current file (-1: all of them).
export function eraseOthers(env: StoreEnv, names: string[], current: number): void {
  for (let i = 0; i < names.length; i++) if (i !== current && isListed(env, names[i]!)) env.storage.erase(names[i]!);
}

// The one way a log or counter file is replaced (STORAGE.md §3): the other name of the pair is
// created with `data` in its single creating write — the commit — and only then is the current
// file erased. Refused (StoreFull, nothing changed but a stale other file) when canCreate says no.
export function createOther(env: StoreEnv, names: string[], current: number, size: number, data: string): void {
  const target = names[current === 0 ? 1 : 0]!;
  if (isListed(env, target)) env.storage.erase(target);
  if (!canCreate(env, size)) storeFull("no room for " + target);
  env.storage.write(target, data, 0, size);
  if (current >= 0) env.storage.erase(names[current]!);
}
