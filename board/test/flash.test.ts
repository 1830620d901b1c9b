import { describe, expect, it } from "vitest";
import { FlashWornOut, NorFlash, PowerCut, type FlashGeometry } from "../src/flash.ts";

// nRF52 geometry (facts §5: 4 KB pages, 32-bit words; endurance per the nRF52832 spec: 10,000 cycles)
const NRF52: FlashGeometry = { size: 16 * 1024, pageSize: 4096, wordSize: 4, endurance: 10_000 };
const bytes = (...b: number[]) => Uint8Array.from(b);

describe("NorFlash rules", () => {
  it("starts erased (0xFF) and ANDs words in", () => {
    const f = new NorFlash(NRF52);
    expect([...f.read(0, 8)]).toEqual(new Array(8).fill(0xff));
    f.write(4, bytes(0xf0, 0x0f, 0xaa, 0x55));
    expect([...f.read(4, 4)]).toEqual([0xf0, 0x0f, 0xaa, 0x55]);
    f.write(4, bytes(0x30, 0x0f, 0x0a, 0x55)); // only clears bits: legal
    expect([...f.read(4, 4)]).toEqual([0x30, 0x0f, 0x0a, 0x55]);
    f.write(4, bytes(0x30, 0x0f, 0x0a, 0x55)); // same value: legal
    expect(f.wordWrites()).toBe(3);
    expect(f.bytesWritten()).toBe(12);
  });

  it("throws on a 0→1 attempt and loses nothing", () => {
    const f = new NorFlash(NRF52);
    f.write(8, bytes(0x00, 0xff, 0xff, 0xff));
    const before = f.snapshot();
    expect(() => f.write(4, bytes(0, 0, 0, 0, 0x01, 0xff, 0xff, 0xff))).toThrow(
      /illegal NOR write at 0x00000008: would set bits 0→1 .*erase the page first/,
    );
    expect(f.snapshot()).toEqual(before); // the legal first word was not programmed either
    expect(f.wordWrites()).toBe(1);
  });

  it("requires word-aligned address and length", () => {
    const f = new NorFlash(NRF52);
    expect(() => f.write(2, bytes(0, 0, 0, 0))).toThrow(/not 4-byte aligned/);
    expect(() => f.write(0, bytes(0, 0, 0))).toThrow(/not a whole number of 4-byte words/);
    expect(() => f.write(NRF52.size, bytes(0, 0, 0, 0))).toThrow(/outside/);
    expect(() => f.erasePage(100)).toThrow(/not a page start/);
  });

  it("erases whole pages and counts erases per page", () => {
    const f = new NorFlash(NRF52);
    f.write(4096, bytes(1, 2, 3, 4));
    f.write(0, bytes(1, 2, 3, 4));
    f.erasePage(4096);
    expect([...f.read(4096, 4)]).toEqual([0xff, 0xff, 0xff, 0xff]);
    expect([...f.read(0, 4)]).toEqual([1, 2, 3, 4]);
    f.erasePage(4096);
    expect(f.eraseCounts()).toEqual([0, 2, 0, 0]);
    expect(f.erases()).toBe(2);
  });

  it("marks a page worn when an erase would exceed its endurance, then refuses it", () => {
    const f = new NorFlash({ ...NRF52, endurance: 3 });
    for (let i = 0; i < 3; i++) f.erasePage(0);
    expect(f.isWorn(0)).toBe(false);
    expect(() => f.erasePage(0)).toThrow(FlashWornOut);
    expect(f.isWorn(0)).toBe(true);
    expect(() => f.write(0, bytes(0, 0, 0, 0))).toThrow(/worn out/);
    expect(() => f.erasePage(0)).toThrow(/worn out/);
    f.write(4096, bytes(0, 0, 0, 0)); // other pages are fine
    expect(f.eraseCounts()[0]).toBe(3);
  });
});

describe("NorFlash fault injection", () => {
  it("cuts the (n+1)th word write with nothing landing, then refuses writes until powerOn", () => {
    const f = new NorFlash(NRF52);
    f.cutPowerAfterWordWrites(1, "none");
    expect(() => f.write(0, new Uint8Array(12))).toThrow(PowerCut);
    expect([...f.read(0, 12)]).toEqual([0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]);
    expect(f.isPowered()).toBe(false);
    expect(() => f.write(16, new Uint8Array(4))).toThrow(/power was cut; call powerOn/);
    expect(() => f.erasePage(0)).toThrow(PowerCut);
    f.powerOn();
    f.write(16, new Uint8Array(4));
    expect(f.wordWrites()).toBe(2);
  });

  it("'some-bits' clears a deterministic subset of the bits the cut word should clear", () => {
    const results: number[][] = [];
    for (const seed of [7, 7, 8]) {
      const f = new NorFlash(NRF52, { seed });
      f.write(0, bytes(0xf0, 0xff, 0xff, 0xff));
      f.cutPowerAfterWordWrites(0, "some-bits");
      expect(() => f.write(0, bytes(0x00, 0x00, 0x00, 0x00))).toThrow(PowerCut);
      results.push([...f.read(0, 4)]);
    }
    expect(results[0]).toEqual(results[1]); // same seed, same outcome
    for (const r of results) expect(r[0]! & 0x0f).toBe(0); // bits already clear stay clear (no 0→1)
    expect(results[0]).not.toEqual([0xf0, 0xff, 0xff, 0xff]); // with this seed some bits did clear…
    expect(results[0]).not.toEqual([0, 0, 0, 0]); // …but not all of them
    // across many cut words, some land partially (neither old nor new)
    let partial = 0;
    for (let a = 0; a < 256; a += 4) {
      const f = new NorFlash(NRF52, { seed: 3 });
      f.cutPowerAfterWordWrites(0, "some-bits");
      expect(() => f.write(a, bytes(0, 0, 0, 0))).toThrow(PowerCut);
      const w = [...f.read(a, 4)];
      if (w.some((b) => b !== 0 && b !== 0xff)) partial++;
    }
    expect(partial).toBeGreaterThan(32);
  });

  it("cuts an erase: 'none' leaves the page, 'some-words' leaves a deterministic mix of 0xFF and old words", () => {
    const f = new NorFlash(NRF52, { seed: 11 });
    f.write(0, new Uint8Array(4096));
    f.cutPowerAfterPageErases(0, "none");
    expect(() => f.erasePage(0)).toThrow(PowerCut);
    expect(f.read(0, 4096).every((b) => b === 0)).toBe(true);
    f.powerOn();
    f.cutPowerAfterPageErases(1, "some-words");
    f.erasePage(4096); // the first erase goes through
    expect(() => f.erasePage(0)).toThrow(PowerCut);
    const page = f.read(0, 4096);
    let erasedWords = 0;
    for (let w = 0; w < 4096; w += 4) {
      const word = [...page.subarray(w, w + 4)];
      const isFF = word.every((b) => b === 0xff);
      expect(isFF || word.every((b) => b === 0)).toBe(true);
      if (isFF) erasedWords++;
    }
    expect(erasedWords).toBeGreaterThan(0);
    expect(erasedWords).toBeLessThan(1024);
  });

  it("flips bits either way and snapshots/restores data", () => {
    const f = new NorFlash(NRF52);
    f.write(0, bytes(0, 0, 0, 0));
    const snap = f.snapshot();
    f.flipBit(0, 3);
    f.flipBit(5, 0);
    expect(f.read(0, 1)[0]).toBe(0x08);
    expect(f.read(5, 1)[0]).toBe(0xfe);
    f.restore(snap);
    expect([...f.read(0, 8)]).toEqual([0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff]);
    expect(() => f.restore(new Uint8Array(10))).toThrow(/same geometry/);
  });

  it("rejects geometries it cannot model", () => {
    expect(() => new NorFlash({ ...NRF52, wordSize: 3 })).toThrow(/power of two/);
    expect(() => new NorFlash({ ...NRF52, size: 5000 })).toThrow(/multiple of pageSize/);
  });
});
