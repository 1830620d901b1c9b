// Where the page store's pages come from (STORAGE.md §1): whole erase units of Storage, behind
// one Storage file ("kc.st") whose 32 B Espruino header is the last 32 B of the page before them, so
// its data starts and ends on page boundaries. Espruino's boot check (src/jsflash.c
// jsfIsBankStorageValid) walks file headers by their size words and never reads file data, so
// whatever the store keeps in those pages — erased, half-erased, half-written — cannot make it wipe
// Storage; the file's own header is written once, by Espruino, before the store has any secret.
// A pad file ("kc.pad") moves that header to the right place. The arithmetic, and storePages, which
// makes the reservation through the Storage and require("Flash") objects platform.ts passes in, and
// checks the result with E.getAddressOf (a wrong guess is refused, not used).
import { storeFull, type StoragePort } from "./ports.ts";
import { raise } from "../raise.ts";

export const STORE_FILE = "kc.st";
export const PAD_FILE = "kc.pad";
export const FILE_HEADER_BYTES = 32;
// the smallest pad file: its header and one word of data
export const MIN_PAD_BYTES = FILE_HEADER_BYTES + 4;

// How many Storage pages the store takes on a board: a fifth of Storage, at least 2 and at most 8
// (puckjs 2 × 4 KB, nrf52840 8 × 4 KB). On 16 KB pages (the Pico) one page, which the store pairs
// with the erase unit Flash.getFree() lists (a store needs at least two erase units: STORAGE.md §1).
export function storagePagesForStore(storageBytes: number, pageBytes: number): number {
  if (pageBytes >= 16384) return 1;
  const fifth = Math.floor(storageBytes / pageBytes / 5);
  return fifth < 2 ? 2 : fifth > 8 ? 8 : fifth;
}

// Where kc.st's data starts: the first page boundary after the files so far (`used` bytes from the
// start of Storage) with room for kc.st's header and, when the gap is not exactly that header, a pad
// file; and with `pages` whole pages of Storage from there. As early as possible, not at the end of
// Storage: the files created after personalisation (the offline applet's, full bundle) go after
// kc.st. Returns the offset from the start of Storage, or -1 when the pages do not fit.
export function storeStartFor(storageBytes: number, pageBytes: number, used: number, pages: number): number {
  let b = Math.ceil((used + FILE_HEADER_BYTES) / pageBytes) * pageBytes;
  const gap = b - FILE_HEADER_BYTES - used;
  if (gap !== 0 && (gap < MIN_PAD_BYTES || (gap & 3) !== 0)) b += pageBytes;
  return b + pages * pageBytes <= storageBytes ? b : -1;
}

// What storePages needs of Espruino's require("Flash") (src/jswrap_flash.c).
export interface FlashArea { addr: number; length: number }
export interface FlashApi {
  write(data: string, addr: number): void;
  erasePage(addr: number): void;
  getPage(addr: number): FlashArea | undefined;
  getFree(): FlashArea[];
}

// Every erase unit of an area, appended to pages/sizes; erased first when `erase` (the reservation).
function addArea(flash: FlashApi, pages: number[], sizes: number[], addr: number, length: number, erase: boolean): void {
  const unit = flash.getPage(addr)!.length;
  for (let a = addr; a < addr + length; a += unit) {
    if (erase) flash.erasePage(a);
    pages.push(a);
    sizes.push(unit);
  }
}

// The store's pages: kc.st's data pages, then what Flash.getFree() lists (the Pico's sector), as
// [addresses, sizes]. With `create`, the one-time reservation when kc.st does not exist yet: every
// page the store will own is erased BEFORE kc.st exists (a getFree() sector survives Storage.eraseAll
// and a re-flash: a store of an earlier life must never come back), then a pad file puts kc.st's
// header in the 32 B before a page boundary. A cut before kc.st lands repeats all of it. null: no
// kc.st and not `create`. Refuses (StoreFull) a layout it cannot make, and (Error) a kc.st that is
// not page aligned. addressOf: E.getAddressOf(s, true) of a memory-mapped Storage read; memory:
// E.memoryArea. Files are read 1 byte long, only for their address: a board maps Storage.read into
// flash, but a whole-file read is a copy wherever it is not (and on the virtual board's var model).
export function storePages(storage: StoragePort, flash: FlashApi, addressOf: (s: string) => number, memory: (addr: number, len: number) => string, create: boolean): number[][] | null {
  let s = storage.read(STORE_FILE, 0, 1);
  if (s === undefined) {
    if (!create) return null;
    // Trash before kc.st would let a later Storage compaction move it; and without trash the first
    // listed file is the first in flash, its header at the start of Storage. Trash here only comes
    // from a cut in an earlier PERSONALISE (a torn .boot0 replaced): compacting now, with no store
    // and no secret yet, risks only a second cut during it (STORAGE.md §7).
    if (storage.getStats().trashBytes !== 0) storage.compact();
    const st = storage.getStats();
    const first = storage.list()[0];
    if (first === undefined) storeFull("store: no file before it");
    const start = addressOf(storage.read(first!, 0, 1)!) - FILE_HEADER_BYTES;
    const pageBytes = flash.getPage(start)!.length;
    const n = storagePagesForStore(st.totalBytes, pageBytes);
    const used = st.totalBytes - st.freeBytes;
    const at = storeStartFor(st.totalBytes, pageBytes, used, n);
    if (at < 0) storeFull("store: " + n + " pages do not fit");
    const fresh: number[] = [];
    addArea(flash, fresh, [], start + at, n * pageBytes, true);
    const areas = flash.getFree();
    for (let i = 0; i < areas.length; i++) addArea(flash, fresh, [], areas[i]!.addr, areas[i]!.length, true);
    if (at - FILE_HEADER_BYTES > used) storage.write(PAD_FILE, "\0\0\0\0", 0, at - 2 * FILE_HEADER_BYTES - used);
    storage.write(STORE_FILE, "\xff\xff\xff\xff", 0, n * pageBytes);
    s = storage.read(STORE_FILE, 0, 1)!;
  }
  const addr = addressOf(s);
  // kc.st's size from its Espruino header (the 32 B before its data): size u32 LE, flags in the top byte
  const h = memory(addr - FILE_HEADER_BYTES, 4);
  const size = h.charCodeAt(0) | (h.charCodeAt(1) << 8) | (h.charCodeAt(2) << 16);
  const page = flash.getPage(addr);
  if (page === undefined || page.addr !== addr || size === 0 || size % page.length !== 0) raise("store: kc.st is not page aligned");
  const pages: number[] = [];
  const sizes: number[] = [];
  addArea(flash, pages, sizes, addr, size, false);
  const free = flash.getFree();
  for (let i = 0; i < free.length; i++) addArea(flash, pages, sizes, free[i]!.addr, free[i]!.length, false);
  return [pages, sizes];
}
