// The carrier's page store as a flash dump shows it (STORAGE.md §1): kc.st's data pages, located in
// the virtual board's Storage, then the areas Flash.getFree() lists, opened read-only from Node with
// the firmware's own pages.ts. For tests that read what a thief with a dump (or a debugger) reads.
import type { VirtualBoard } from "../../../board/src/virtual-board.ts";
import { crc32, stringToBytes } from "../../../board/src/storage.ts";
import { openPageStore, type FlashPort, type PageStore } from "../../src/store/pages.ts";
import { STORE_FILE } from "../../src/store/reserve.ts";

function latin1(b: Uint8Array): string {
  return Buffer.from(b.buffer, b.byteOffset, b.length).toString("latin1");
}

/** The page store of the board's flash, or null when kc.st was never reserved. Writes throw. */
export function boardPageStore(board: VirtualBoard): PageStore | null {
  const mapped = board.storage.readMapped(STORE_FILE);
  if (mapped === undefined) return null;
  const api = board.flashApi;
  const port: FlashPort = {
    read: (addr, len) => latin1(api.memoryArea(addr, len)),
    write: () => { throw new Error("boardPageStore is read-only"); },
    erase: () => { throw new Error("boardPageStore is read-only"); },
    crc32: (s) => crc32(stringToBytes(s, "crc input")),
  };
  const pages: number[] = [];
  const sizes: number[] = [];
  const base = board.profile.storage.baseAddress + mapped.flashOffset;
  const unit = api.getPage(base)!.length;
  for (let a = base; a < base + mapped.data.length; a += unit) { pages.push(a); sizes.push(unit); }
  for (const f of api.getFree()) {
    const u = api.getPage(f.addr)!.length;
    for (let a = f.addr; a < f.addr + f.length; a += u) { pages.push(a); sizes.push(u); }
  }
  return openPageStore(port, pages, sizes);
}

/** Every flash byte of the board (Storage and the getFree() areas) as one latin1 string per region. */
export function boardFlashImages(board: VirtualBoard): Buffer[] {
  return [Buffer.from(board.flash.snapshot()), ...board.freeFlash.map((f) => Buffer.from(f.flash.snapshot()))];
}
