// What the store needs from the board, injected so the same code runs on Espruino (platform.ts
// passes require("Storage") and E.CRC32) and under vitest (EspruinoStorage over NorFlash).
// Byte strings (chars 0-255) are the currency, as on a board.

export interface StorageStatsLike {
  totalBytes: number;
  freeBytes: number;
  trashBytes: number;
}

export interface StoragePort {
  read(name: string, offset?: number, length?: number): string | undefined;
  write(name: string, data: string, offset?: number, size?: number): boolean;
  erase(name: string): void;
  list(filter?: string | RegExp): string[];
  getFree(): number;
  getStats(): StorageStatsLike;
  compact(): void;
}

export interface StoreEnv {
  storage: StoragePort;
  // CRC-32 (IEEE) of a byte string, as E.CRC32 computes it.
  crc32(data: string): number;
  // Erase unit of the Storage area (4096 on nRF52, 16384 on the Pico). Files are never created
  // with their Espruino header in the last page: a torn header there makes the boot check wipe all.
  pageBytes: number;
  // Clears `length` bytes of file `name` from `offset` to 0x00 in place (1→0 through require("Flash");
  // offset and length whole words): a secret in a Storage file is gone before Storage.erase, which
  // only clears the header's name, leaves its bytes as trash that nothing compacts any more.
  // Absent (tests over a bare Storage model): nothing is cleared.
  zeroise?(name: string, offset: number, length: number): void;
}

// Thrown (as a plain object: Espruino has no reliable `instanceof Error`, facts §1) when a write
// would need more Storage than is free without letting Espruino auto-compact.
export interface StoreFull { storeFull: true; reason: string }

export function storeFull(reason: string): never {
  const e: StoreFull = { storeFull: true, reason: reason };
  throw e;
}

export function isStoreFull(e: unknown): e is StoreFull {
  // No `typeof e === "object"` (the ES5 pipeline makes it a helper call); a thrown primitive has no
  // storeFull property, and Espruino reads a missing one with `.` as undefined (facts §1).
  return e !== null && e !== undefined && (e as StoreFull).storeFull === true;
}
