/**
 * Espruino's `require("Flash")` (src/jswrap_flash.c) over the NOR flash model, plus the address
 * side of memory-mapped Storage reads (`E.getAddressOf(require("Storage").read(f), true)`).
 *
 * Addresses are the board's absolute addresses: the virtual board models only the Storage area,
 * mapped at the profile's `storage.baseAddress` (nRF52: jshFlashGetMemMapAddress passes flash
 * addresses through, targets/nrf5x/jshardware.c:2723; the Pico's internal flash is mapped too).
 *
 * Where Espruino is lenient and the leniency would hide a bug in the layer above, this model throws
 * (the board's rule "stricter than hardware where that protects users"):
 *  - `write` demands a word-aligned address and a whole number of words. Espruino's
 *    jswrap_flash_write goes through jshFlashWriteAligned, which pads by rewriting the neighbouring
 *    bytes of the shared word; a store that owns its pages has no reason to depend on that.
 *  - a write that would set any bit 0→1 throws before programming anything (NorFlash). On a
 *    board the NVMC silently ANDs, corrupting the word.
 *  - an address outside the modelled flash throws (a board would read/erase the firmware or
 *    the bootloader there, or refuse silently: jshFlashWriteProtect, jshardware.c:2370-2383).
 * Everything else is as on the board: `read(length, addr)` and `write(data, addr)` take their
 * arguments in that order (jswrap_flash.c), `getPage` returns `{addr, length}` or undefined,
 * `erasePage(addr)` erases the page containing addr and throws unless addr is an integer.
 */
import { NorFlash, type WordCutMode, type EraseCutMode } from "./flash.ts";

export interface FlashArea { addr: number; length: number }

/** One stretch of modelled flash at an absolute address: Storage, or an area getFree() lists. */
export interface FlashRegion { base: number; flash: NorFlash }

function hex(n: number): string {
  return "0x" + (n >>> 0).toString(16).padStart(8, "0");
}

/**
 * `regions[0]` is the Storage area (the profile's storage.baseAddress); the others are what
 * `getFree()` lists — the profile's `flashFree` areas, each its own NorFlash with its own erase
 * unit (the Pico's undocumented 128 KB sector: targets/stm32/jshardware.c jshFlashGetFree). No
 * other flash is modelled: on a board the rest is Espruino's firmware and bootloader, and the list
 * depends on the build (targets/nrf5x/jshardware.c:2409-2446 lists the pages between the firmware's
 * end and Storage, which a stock Puck.js build leaves none of that this model could vouch for).
 *
 * Power cuts at the n-th word write / page erase made *through this module*, counted across all
 * regions (the Storage API writes the first region directly and is cut through NorFlash itself).
 */
export class FlashModule {
  readonly regions: FlashRegion[];
  private words = 0;
  private erases = 0;
  private cutWord: { at: number; mode: WordCutMode } | null = null;
  private cutErase: { at: number; mode: EraseCutMode } | null = null;

  constructor(regions: FlashRegion[]) {
    this.regions = regions;
  }

  /** word writes and page erases made through require("Flash") so far */
  counts(): { words: number; erases: number } {
    return { words: this.words, erases: this.erases };
  }
  /** Cut power during the n-th (0-based, from now) word write made through this module. */
  cutAfterWords(n: number, mode: WordCutMode): void {
    this.cutWord = { at: this.words + n, mode };
  }
  /** Cut power during the n-th (0-based, from now) page erase made through this module. */
  cutAfterErases(n: number, mode: EraseCutMode): void {
    this.cutErase = { at: this.erases + n, mode };
  }
  cancelCuts(): void {
    this.cutWord = null;
    this.cutErase = null;
    for (const r of this.regions) r.flash.cancelPowerCuts();
  }

  /** jswrap_flash_getPage → jshFlashGetPage: the page holding addr, or undefined (no page there). */
  getPage(addr: number): FlashArea | undefined {
    this.assertInt("getPage", addr);
    const r = this.find(addr, 1);
    if (!r) return undefined;
    const ps = r.region.flash.geometry.pageSize;
    return { addr: r.region.base + r.off - (r.off % ps), length: ps };
  }

  /** jswrap_flash_getFree → jshFlashGetFree */
  getFree(): FlashArea[] {
    return this.regions.slice(1).map((r) => ({ addr: r.base, length: r.flash.geometry.size }));
  }

  /** jswrap_flash_erasePage → jshFlashErasePage: erases the page containing addr. */
  erasePage(addr: unknown): void {
    if (typeof addr !== "number" || !Number.isInteger(addr)) throw new Error(`Address should be an integer, got ${typeof addr}`);
    const { region, off } = this.locate("erasePage", addr, 1);
    const ps = region.flash.geometry.pageSize;
    if (this.cutErase && this.cutErase.at === this.erases) {
      region.flash.cutPowerAfterPageErases(0, this.cutErase.mode);
      this.cutErase = null;
    }
    region.flash.erasePage(off - (off % ps));
    this.erases++;
  }

  /** jswrap_flash_write(data, addr), strict about alignment (see the module comment). */
  write(data: Uint8Array, addr: number): void {
    this.assertInt("write", addr);
    if (addr % 4 !== 0 || data.length % 4 !== 0)
      throw new Error(
        `Flash.write of ${data.length} B at ${hex(addr)}: address and length must be multiples of 4 (whole flash words); ` +
          `Espruino would pad by rewriting the neighbouring bytes of the word, which this board refuses: write whole words`,
      );
    if (data.length === 0) return;
    const { region, off } = this.locate("write", addr, data.length);
    const n = data.length >> 2;
    if (this.cutWord && this.cutWord.at < this.words + n) {
      region.flash.cutPowerAfterWordWrites(this.cutWord.at - this.words, this.cutWord.mode);
      this.cutWord = null;
    }
    try {
      region.flash.write(off, data);
      this.words += n;
    } catch (e) {
      this.words += n; // a cut ends the count here anyway
      throw e;
    }
  }

  /** jswrap_flash_read(length, addr) → a Uint8Array copy (length ≤ 0: undefined, as on the board). */
  read(length: number, addr: number): Uint8Array | undefined {
    this.assertInt("read", addr);
    if (!(length > 0)) return undefined;
    const { region, off } = this.locate("read", addr, length);
    return region.flash.read(off, length);
  }

  /** E.memoryArea(addr, len): the bytes of memory-mapped flash, as a (native, on a board) string. */
  memoryArea(addr: number, length: number): Uint8Array {
    this.assertInt("memoryArea", addr);
    if (!(length > 0)) return new Uint8Array(0);
    const { region, off } = this.locate("memoryArea", addr, length);
    return region.flash.read(off, length);
  }

  private find(addr: number, len: number): { region: FlashRegion; off: number } | undefined {
    for (const region of this.regions) {
      const off = addr - region.base;
      if (off >= 0 && off + len <= region.flash.geometry.size) return { region, off };
    }
    return undefined;
  }

  private locate(op: string, addr: number, len: number): { region: FlashRegion; off: number } {
    const r = this.find(addr, len);
    if (r) return r;
    const known = this.regions.map((x) => `${hex(x.base)}..${hex(x.base + x.flash.geometry.size)}`).join(", ");
    throw new Error(`Flash.${op} at ${hex(addr)} (${len} B) is outside the modelled flash (${known}): on a board that is Espruino's own firmware or bootloader`);
  }

  private assertInt(op: string, addr: number): void {
    if (!Number.isInteger(addr)) throw new Error(`Flash.${op}: address must be an integer (got ${String(addr)})`);
  }
}

/**
 * The addresses of memory-mapped Storage reads. On nRF52 and STM32 boards `Storage.read` returns a
 * native string pointing into flash (jsfReadFile → jsvAddressToVar, src/jsflash.c:1043-1076), and
 * `E.getAddressOf(str, true)` returns that pointer (jsvGetDataPointer, src/jsvar.c:1766). Node
 * strings have no identity, so the board remembers the last few reads by value and answers with
 * their address while the flash there still holds exactly those bytes; any other string yields 0,
 * as a non-flat RAM string does on a board. Unlike the board's native string, the string the
 * firmware holds is a snapshot: it does not change when the flash under it is written — firmware
 * that re-reads after writing sees the same on both.
 */
export class MappedReads {
  private readonly recent: { value: string; addr: number }[] = [];
  constructor(private readonly flash: NorFlash, private readonly base: number, private readonly keep = 8) {}

  remember(value: string, flashOffset: number): void {
    if (value.length === 0) return;
    this.recent.unshift({ value, addr: this.base + flashOffset });
    if (this.recent.length > this.keep) this.recent.length = this.keep;
  }

  addressOf(value: unknown): number {
    if (typeof value !== "string") return 0;
    for (const r of this.recent) {
      if (r.value !== value) continue;
      const bytes = this.flash.read(r.addr - this.base, value.length);
      let same = true;
      for (let i = 0; i < bytes.length && same; i++) same = bytes[i] === value.charCodeAt(i);
      if (same) return r.addr;
    }
    return 0;
  }
}
