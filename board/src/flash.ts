/**
 * NOR flash model for the virtual board.
 *
 * Mirrors the rules the nRF52 NVMC (and Espruino's `jshFlashWrite` / `jshFlashErasePage` in
 * targets/nrf5x/jshardware.c) impose: erased = 0xFF, a write can only clear bits (AND),
 * whole-page erase, and programming in 32-bit words. Where real hardware would silently AND
 * a 0→1 attempt into corrupt data, this model THROWS instead ("stricter than hardware where
 * that protects users"): every such attempt is a bug in the layer above.
 *
 * Wear: each page has an erase counter. The erase that would exceed `endurance` marks the page
 * worn and throws `FlashWornOut`; a worn page then refuses writes and erases (reads still work).
 * We chose "throw" over "stuck bits" so wear bugs fail loudly and deterministically in tests.
 *
 * Fault injection (deterministic, seeded):
 *  - `cutPowerAfterWordWrites(n, partial)`: the (n+1)th word write is cut. "none" = nothing of
 *    that word lands; "some-bits" = a seeded subset of the bits that should clear do clear.
 *  - `cutPowerAfterPageErases(n, partial)`: the (n+1)th page erase is cut. "none" = the page is
 *    untouched; "some-words" = a seeded subset of its words read 0xFF, the others keep old data.
 * When a cut fires, `PowerCut` is thrown and the flash refuses writes/erases until `powerOn()`.
 */

export interface FlashGeometry {
  /** total bytes */
  size: number;
  /** erase unit in bytes */
  pageSize: number;
  /** programming unit in bytes (4 on nRF52) */
  wordSize: number;
  /** erase cycles a page survives (10,000 on nRF52) */
  endurance: number;
}

export type WordCutMode = "none" | "some-bits";
export type EraseCutMode = "none" | "some-words";

export class PowerCut extends Error {
  constructor(message: string) {
    super(message);
    this.name = "PowerCut";
  }
}

export class FlashWornOut extends Error {
  constructor(message: string) {
    super(message);
    this.name = "FlashWornOut";
  }
}

export const ERASED_BYTE = 0xff;

/** Geometries of the boards we model (facts §5). Storage regions are described separately. */
export const NRF52_FLASH: FlashGeometry = { size: 40 * 1024, pageSize: 4096, wordSize: 4, endurance: 10_000 };

interface ArmedCut<M> {
  remaining: number;
  mode: M;
}

function hex(n: number): string {
  return "0x" + n.toString(16).padStart(8, "0");
}

/** mulberry32: tiny, deterministic, good enough to pick bits. */
function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  };
}

function assertGeometry(g: FlashGeometry): void {
  const isPosInt = (n: number) => Number.isInteger(n) && n > 0;
  if (!isPosInt(g.wordSize) || (g.wordSize & (g.wordSize - 1)) !== 0)
    throw new Error(`FlashGeometry.wordSize must be a power of two (got ${g.wordSize}); nRF52 uses 4`);
  if (!isPosInt(g.pageSize) || g.pageSize % g.wordSize !== 0)
    throw new Error(`FlashGeometry.pageSize must be a positive multiple of wordSize (got ${g.pageSize})`);
  if (!isPosInt(g.size) || g.size % g.pageSize !== 0)
    throw new Error(`FlashGeometry.size must be a positive multiple of pageSize (got ${g.size} / ${g.pageSize})`);
  if (!isPosInt(g.endurance))
    throw new Error(`FlashGeometry.endurance must be a positive integer of erase cycles (got ${g.endurance})`);
}

export class NorFlash {
  readonly geometry: Readonly<FlashGeometry>;
  private readonly bytes: Uint8Array;
  private readonly pageErases: number[];
  private readonly pageWorn: boolean[];
  private readonly seed: number;
  private wordWriteCount = 0;
  private byteWriteCount = 0;
  private totalErases = 0;
  private powered = true;
  private wordCut: ArmedCut<WordCutMode> | null = null;
  private eraseCut: ArmedCut<EraseCutMode> | null = null;
  /** how many cuts have fired, mixed into the PRNG so repeated cuts differ */
  private cutsFired = 0;

  constructor(geometry: FlashGeometry, opts: { seed?: number } = {}) {
    assertGeometry(geometry);
    this.geometry = Object.freeze({ ...geometry });
    this.bytes = new Uint8Array(geometry.size).fill(ERASED_BYTE);
    const pages = geometry.size / geometry.pageSize;
    this.pageErases = new Array<number>(pages).fill(0);
    this.pageWorn = new Array<boolean>(pages).fill(false);
    this.seed = (opts.seed ?? 1) >>> 0;
  }

  get pageCount(): number {
    return this.pageErases.length;
  }

  read(addr: number, len: number): Uint8Array {
    this.assertRange("read", addr, len);
    return this.bytes.slice(addr, addr + len);
  }

  /** Program whole words with AND semantics. Checks everything before programming anything. */
  write(addr: number, data: Uint8Array): void {
    const w = this.geometry.wordSize;
    this.assertPowered("write");
    if (!Number.isInteger(addr) || addr % w !== 0)
      throw new Error(`NOR write at ${hex(addr)} is not ${w}-byte aligned; pad to whole words (read-modify-write) in the caller`);
    if (data.length % w !== 0)
      throw new Error(`NOR write of ${data.length} bytes at ${hex(addr)} is not a whole number of ${w}-byte words; pad the tail with 0xFF`);
    this.assertRange("write", addr, data.length);
    for (let p = this.pageIndex(addr); data.length > 0 && p <= this.pageIndex(addr + data.length - 1); p++)
      if (this.pageWorn[p]) throw new FlashWornOut(`NOR write at ${hex(addr)}: page ${p} is worn out (erased ${this.pageErases[p]} times); it refuses writes`);
    for (let i = 0; i < data.length; i++) {
      const old = this.bytes[addr + i]!;
      const nu = data[i]!;
      if ((old & nu) !== nu) {
        const wordAddr = addr + i - ((addr + i) % w);
        throw new Error(
          `illegal NOR write at ${hex(wordAddr)}: would set bits 0→1 (byte ${hex(addr + i)} holds 0x${old.toString(16).padStart(2, "0")}, ` +
            `write wants 0x${nu.toString(16).padStart(2, "0")}); erase the page first`,
        );
      }
    }
    for (let off = 0; off < data.length; off += w) {
      const cut = this.wordCut;
      if (cut) {
        if (cut.remaining === 0) {
          this.wordCut = null;
          if (cut.mode === "some-bits") this.programPartialWord(addr + off, data.subarray(off, off + w));
          this.powered = false;
          this.cutsFired++;
          throw new PowerCut(`power cut during word write at ${hex(addr + off)} (${cut.mode} of it landed)`);
        }
        cut.remaining--;
      }
      for (let i = 0; i < w; i++) this.bytes[addr + off + i]! &= data[off + i]!;
      this.wordWriteCount++;
      this.byteWriteCount += w;
    }
  }

  /** Erase the page starting at `addr` (must be a page start). */
  erasePage(addr: number): void {
    const ps = this.geometry.pageSize;
    this.assertPowered("erase");
    if (!Number.isInteger(addr) || addr % ps !== 0)
      throw new Error(`erasePage(${hex(addr)}): not a page start; pages are ${ps} bytes`);
    this.assertRange("erase", addr, ps);
    const p = this.pageIndex(addr);
    if (this.pageWorn[p]) throw new FlashWornOut(`erasePage(${hex(addr)}): page ${p} is worn out; it refuses erases`);
    if (this.pageErases[p]! >= this.geometry.endurance) {
      this.pageWorn[p] = true;
      throw new FlashWornOut(
        `erasePage(${hex(addr)}): page ${p} has reached its endurance of ${this.geometry.endurance} erase cycles and is now worn; spread writes (wear levelling) or use fewer erases`,
      );
    }
    const cut = this.eraseCut;
    if (cut) {
      if (cut.remaining === 0) {
        this.eraseCut = null;
        if (cut.mode === "some-words") {
          const rand = mulberry32(this.seed ^ Math.imul(addr + 1, 0x9e3779b1) ^ Math.imul(this.cutsFired + 1, 0x85ebca6b));
          const w = this.geometry.wordSize;
          for (let off = 0; off < ps; off += w) if (rand() & 1) this.bytes.fill(ERASED_BYTE, addr + off, addr + off + w);
          this.pageErases[p]!++;
          this.totalErases++;
        }
        this.powered = false;
        this.cutsFired++;
        throw new PowerCut(`power cut during erase of page ${p} at ${hex(addr)} (${cut.mode} erased)`);
      }
      cut.remaining--;
    }
    this.bytes.fill(ERASED_BYTE, addr, addr + ps);
    this.pageErases[p]!++;
    this.totalErases++;
  }

  eraseCounts(): number[] {
    return this.pageErases.slice();
  }
  isWorn(pageIndex: number): boolean {
    return this.pageWorn[pageIndex] === true;
  }
  wordWrites(): number {
    return this.wordWriteCount;
  }
  bytesWritten(): number {
    return this.byteWriteCount;
  }
  erases(): number {
    return this.totalErases;
  }

  cutPowerAfterWordWrites(n: number, partial: WordCutMode = "none"): void {
    if (!Number.isInteger(n) || n < 0) throw new Error(`cutPowerAfterWordWrites(n): n must be an integer ≥ 0 (got ${n})`);
    this.wordCut = { remaining: n, mode: partial };
  }
  cutPowerAfterPageErases(n: number, partial: EraseCutMode = "some-words"): void {
    if (!Number.isInteger(n) || n < 0) throw new Error(`cutPowerAfterPageErases(n): n must be an integer ≥ 0 (got ${n})`);
    this.eraseCut = { remaining: n, mode: partial };
  }
  /** Disarm any pending (not yet fired) cut. */
  cancelPowerCuts(): void {
    this.wordCut = null;
    this.eraseCut = null;
  }
  /** Restore power after a cut; the flash accepts writes and erases again. */
  powerOn(): void {
    this.powered = true;
  }
  isPowered(): boolean {
    return this.powered;
  }

  /** Toggle one bit (retention loss / radiation), either direction. */
  flipBit(addr: number, bit: number): void {
    this.assertRange("flipBit", addr, 1);
    if (!Number.isInteger(bit) || bit < 0 || bit > 7) throw new Error(`flipBit: bit must be 0..7 (got ${bit})`);
    this.bytes[addr]! ^= 1 << bit;
  }

  /** A copy of the whole array (data only; erase counters are physical wear and are not part of an image). */
  snapshot(): Uint8Array {
    return this.bytes.slice();
  }
  restore(image: Uint8Array): void {
    if (image.length !== this.bytes.length)
      throw new Error(`restore: image is ${image.length} bytes but this flash is ${this.bytes.length}; use a snapshot of the same geometry`);
    this.bytes.set(image);
  }

  private programPartialWord(addr: number, target: Uint8Array): void {
    const rand = mulberry32(this.seed ^ Math.imul(addr + 1, 0x9e3779b1) ^ Math.imul(this.wordWriteCount + 1, 0xc2b2ae35));
    for (let i = 0; i < target.length; i++) {
      const old = this.bytes[addr + i]!;
      const toClear = old & ~target[i]! & 0xff;
      this.bytes[addr + i] = old & ~(rand() & toClear) & 0xff;
    }
  }

  private pageIndex(addr: number): number {
    return Math.floor(addr / this.geometry.pageSize);
  }

  private assertPowered(op: string): void {
    if (!this.powered) throw new PowerCut(`flash ${op} refused: power was cut; call powerOn() (reboot the board) first`);
  }

  private assertRange(op: string, addr: number, len: number): void {
    if (!Number.isInteger(addr) || !Number.isInteger(len) || addr < 0 || len < 0 || addr + len > this.bytes.length)
      throw new Error(`flash ${op} of ${len} bytes at ${hex(addr)} is outside the ${this.bytes.length}-byte array`);
  }
}
