// Where store v2's pages come from (STORAGE.md §A1): whole erase units at the end of Storage, behind
// one Storage file ("kc.st") whose 32 B Espruino header is the last 32 B of the page before them, so
// its data starts and ends on page boundaries. Espruino's boot check (src/jsflash.c
// jsfIsBankStorageValid) walks file headers by their size words and never reads file data, so
// whatever the store keeps in those pages — erased, half-erased, half-written — cannot make it wipe
// Storage; the file's own header is written once, by Espruino, before the store has any secret.
// A pad file ("kc.pad") moves that header to the right place. Pure arithmetic here; platform.ts
// creates the files and checks the result with E.getAddressOf (a wrong guess is refused, not used).

export const STORE_FILE = "kc.st";
export const PAD_FILE = "kc.pad";
export const FILE_HEADER_BYTES = 32;
// the smallest pad file: its header and one word of data
export const MIN_PAD_BYTES = FILE_HEADER_BYTES + 4;

// Data size of the pad file that puts kc.st's header at storageBytes − pages × pageBytes − 32, when
// the next file's header would go at `used` (bytes from the start of Storage: total − free on a
// Storage without trash). 0: no pad needed; -1: the pages do not fit.
export function padBytes(storageBytes: number, pageBytes: number, used: number, pages: number): number {
  const gap = storageBytes - pages * pageBytes - FILE_HEADER_BYTES - used;
  if (gap === 0) return 0;
  if (gap < MIN_PAD_BYTES || (gap & 3) !== 0) return -1;
  return gap - FILE_HEADER_BYTES;
}

// How many Storage pages the store takes on a board: a fifth of Storage, at least 2 and at most 8
// (puckjs 2 × 4 KB, nrf52840 8 × 4 KB). On 16 KB pages (the Pico) one page, which the store pairs
// with the erase unit Flash.getFree() lists (a store needs at least two erase units: STORAGE.md §A1).
export function storagePagesForStore(storageBytes: number, pageBytes: number): number {
  if (pageBytes >= 16384) return 1;
  const fifth = Math.floor(storageBytes / pageBytes / 5);
  return fifth < 2 ? 2 : fifth > 8 ? 8 : fifth;
}
