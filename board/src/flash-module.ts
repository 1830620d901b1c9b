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
import { NorFlash } from "./flash.ts";

export interface FlashArea { addr: number; length: number }

export interface FlashModuleOptions {
  /** absolute address of flash offset 0 (the profile's storage.baseAddress) */
  base: number;
  /**
   * What `getFree()` lists (absolute addresses, whole pages, inside the modelled flash). The
   * virtual board models no flash outside Storage, so profiles list nothing: on a board the list
   * depends on the build (jshFlashGetFree, targets/nrf5x/jshardware.c:2409-2446: the pages between
   * the firmware's end and Storage; targets/stm32/jshardware.c jshFlashGetFree: on the Pico the
   * 128 KB sector at 0x08060000 that ST does not document). KeyCarrier does not use it.
   */
  free?: FlashArea[];
}

function hex(n: number): string {
  return "0x" + (n >>> 0).toString(16).padStart(8, "0");
}

export class FlashModule {
  readonly flash: NorFlash;
  readonly base: number;
  private readonly free: FlashArea[];

  constructor(flash: NorFlash, opts: FlashModuleOptions) {
    this.flash = flash;
    this.base = opts.base;
    this.free = (opts.free ?? []).map((a) => ({ addr: a.addr, length: a.length }));
    const ps = flash.geometry.pageSize;
    for (const a of this.free)
      if ((a.addr - this.base) % ps !== 0 || a.length % ps !== 0 || a.addr < this.base || a.addr + a.length > this.base + flash.geometry.size)
        throw new Error(`Flash free area ${hex(a.addr)}+${a.length} must be whole pages inside the modelled flash`);
  }

  /** jswrap_flash_getPage → jshFlashGetPage: the page holding addr, or undefined (no page there). */
  getPage(addr: number): FlashArea | undefined {
    this.assertInt("getPage", addr);
    const off = addr - this.base;
    if (off < 0 || off >= this.flash.geometry.size) return undefined;
    const ps = this.flash.geometry.pageSize;
    return { addr: this.base + off - (off % ps), length: ps };
  }

  /** jswrap_flash_getFree → jshFlashGetFree */
  getFree(): FlashArea[] {
    return this.free.map((a) => ({ addr: a.addr, length: a.length }));
  }

  /** jswrap_flash_erasePage → jshFlashErasePage: erases the page containing addr. */
  erasePage(addr: unknown): void {
    if (typeof addr !== "number" || !Number.isInteger(addr)) throw new Error(`Address should be an integer, got ${typeof addr}`);
    const off = this.offset("erasePage", addr, 1);
    const ps = this.flash.geometry.pageSize;
    this.flash.erasePage(off - (off % ps));
  }

  /** jswrap_flash_write(data, addr), strict about alignment (see the module comment). */
  write(data: Uint8Array, addr: number): void {
    this.assertInt("write", addr);
    const w = this.flash.geometry.wordSize;
    if (addr % w !== 0 || data.length % w !== 0)
      throw new Error(
        `Flash.write of ${data.length} B at ${hex(addr)}: address and length must be multiples of ${w} (whole flash words); ` +
          `Espruino would pad by rewriting the neighbouring bytes of the word, which this board refuses: write whole words`,
      );
    if (data.length === 0) return;
    this.flash.write(this.offset("write", addr, data.length), data);
  }

  /** jswrap_flash_read(length, addr) → a Uint8Array copy (length ≤ 0: undefined, as on the board). */
  read(length: number, addr: number): Uint8Array | undefined {
    this.assertInt("read", addr);
    if (!(length > 0)) return undefined;
    return this.flash.read(this.offset("read", addr, length), length);
  }

  private offset(op: string, addr: number, len: number): number {
    const off = addr - this.base;
    if (off < 0 || off + len > this.flash.geometry.size)
      throw new Error(
        `Flash.${op} at ${hex(addr)} (${len} B) is outside the modelled flash ${hex(this.base)}..${hex(this.base + this.flash.geometry.size)}: ` +
          `on a board that is Espruino's own firmware or bootloader`,
      );
    return off;
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
