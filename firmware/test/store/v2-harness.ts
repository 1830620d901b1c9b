// A strict fake flash for store v2 (firmware/src/store/pages.ts): one board NorFlash per region
// (each with its own erase unit, so the Pico's 16 KB Storage page and 128 KB sector differ), behind
// a FlashPort that fails loudly on anything a store must never do — a write or erase outside the
// pages it owns, an erase not at a page start, a write that is not whole words or would set a bit
// 0→1 (NorFlash) — and that can cut power at the n-th word write or page erase across all regions.
import { NorFlash, PowerCut, type WordCutMode, type EraseCutMode } from "../../../board/src/flash.ts";
import { crc32, stringToBytes } from "../../../board/src/storage.ts";
import type { FlashPort } from "../../src/store/pages.ts";

export interface Region { base: number; bytes: number; pageBytes: number }

export class FlashBank {
  readonly regions: { base: number; flash: NorFlash }[];
  /** pages the store owns: start addresses and sizes */
  readonly pages: number[] = [];
  readonly sizes: number[] = [];
  words = 0;
  erases = 0;
  private cutWord: { at: number; mode: WordCutMode } | null = null;
  private cutErase: { at: number; mode: EraseCutMode } | null = null;

  constructor(regions: Region[], seed = 1) {
    this.regions = regions.map((r, i) => ({ base: r.base, flash: new NorFlash({ size: r.bytes, pageSize: r.pageBytes, wordSize: 4, endurance: 10_000_000 }, { seed: seed + i }) }));
    for (const r of regions) for (let a = 0; a < r.bytes; a += r.pageBytes) { this.pages.push(r.base + a); this.sizes.push(r.pageBytes); }
  }

  private locate(addr: number, len: number, op: string): { flash: NorFlash; off: number } {
    for (const r of this.regions) {
      const off = addr - r.base;
      if (off >= 0 && off + len <= r.flash.geometry.size) return { flash: r.flash, off };
    }
    throw new Error(`store ${op} of ${len} B at 0x${addr.toString(16)} is outside the pages it owns`);
  }

  readonly port: FlashPort = {
    read: (addr, len) => {
      const { flash, off } = this.locate(addr, len, "read");
      const b = flash.read(off, len);
      return Buffer.from(b.buffer, b.byteOffset, b.length).toString("latin1"); // bytesToString, faster
    },
    write: (addr, data) => {
      const { flash, off } = this.locate(addr, data.length, "write");
      const n = data.length >> 2;
      if (this.cutWord && this.cutWord.at < this.words + n) {
        flash.cutPowerAfterWordWrites(this.cutWord.at - this.words, this.cutWord.mode);
        this.cutWord = null;
      }
      flash.write(off, stringToBytes(data, "store write")); // throws on alignment / 0→1 / power
      this.words += n;
    },
    erase: (addr) => {
      const { flash, off } = this.locate(addr, 1, "erase");
      if (off % flash.geometry.pageSize !== 0) throw new Error(`store erase at 0x${addr.toString(16)}: not a page start`);
      if (this.cutErase && this.cutErase.at === this.erases) {
        flash.cutPowerAfterPageErases(0, this.cutErase.mode);
        this.cutErase = null;
      }
      flash.erasePage(off);
      this.erases++;
    },
    crc32: (s) => crc32(stringToBytes(s, "crc input")),
  };

  /** Cut power at the word write with global index `at` (0-based, counted from the start of the bank). */
  cutAtWord(at: number, mode: WordCutMode): void {
    this.cutWord = { at, mode };
  }
  cutAtErase(at: number, mode: EraseCutMode): void {
    this.cutErase = { at, mode };
  }
  cancelCuts(): void {
    this.cutWord = null;
    this.cutErase = null;
    for (const r of this.regions) r.flash.cancelPowerCuts();
  }
  powerOn(): void {
    this.cancelCuts();
    for (const r of this.regions) r.flash.powerOn();
  }
  snapshot(): { images: Uint8Array[]; words: number; erases: number } {
    return { images: this.regions.map((r) => r.flash.snapshot()), words: this.words, erases: this.erases };
  }
  restore(s: { images: Uint8Array[]; words: number; erases: number }): void {
    this.regions.forEach((r, i) => r.flash.restore(s.images[i]!));
    this.words = s.words;
    this.erases = s.erases;
  }
  /** erase count per owned page, in `pages` order */
  pageErases(): number[] {
    const out: number[] = [];
    for (const r of this.regions) out.push(...r.flash.eraseCounts());
    return out;
  }
}

export { PowerCut };

/**
 * The pages store v2 gets per profile (STORAGE.md §A1): the last Storage pages behind a page-aligned
 * file, plus, on the Pico, the 128 KB sector Espruino's Flash.getFree() lists at 0x08060000.
 */
export function profileBank(profile: "puckjs" | "pico" | "nrf52840", seed = 1): FlashBank {
  if (profile === "puckjs") return new FlashBank([{ base: 0x74000, bytes: 2 * 4096, pageBytes: 4096 }], seed);
  if (profile === "nrf52840") return new FlashBank([{ base: 0xee000, bytes: 8 * 4096, pageBytes: 4096 }], seed);
  return new FlashBank([{ base: 0x0800c000, bytes: 16384, pageBytes: 16384 }, { base: 0x08060000, bytes: 131072, pageBytes: 131072 }], seed);
}
