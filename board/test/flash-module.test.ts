// require("Flash"), E.getAddressOf of memory-mapped Storage reads, and what Espruino's boot check
// (src/jsflash.c jsfIsBankStorageValid) tolerates in pages a store owns inside a Storage file.
// board/src/flash-module.ts; board/docs/storage-model.md "require("Flash")".
import { describe, expect, it } from "vitest";
import { VirtualBoard } from "../src/virtual-board.ts";

function val(b: VirtualBoard, code: string): unknown {
  const r = b.evaluate(code);
  if (!r.ok) throw r.error;
  return r.value;
}
function fails(b: VirtualBoard, code: string): string {
  const r = b.evaluate(code);
  if (r.ok) throw new Error(`expected ${code} to throw, got ${String(r.value)}`);
  return String((r.error as { message?: string }).message ?? r.error);
}

describe('require("Flash") on the virtual board', () => {
  it("getPage/read/write/erasePage at absolute addresses, NOR rules enforced loudly", () => {
    const b = new VirtualBoard({ board: "puckjs" });
    b.powerOn();
    const base = b.profile.storage.baseAddress;
    expect(val(b, `JSON.stringify(require("Flash").getPage(${base + 4100}))`)).toBe(JSON.stringify({ addr: base + 4096, length: 4096 }));
    expect(val(b, `require("Flash").getPage(${base + b.profile.storage.bytes})`)).toBeUndefined();
    expect(val(b, `JSON.stringify(require("Flash").getFree())`)).toBe("[]"); // puckjs: no flashFree in its profile
    const a = base + 8192;
    val(b, `require("Flash").write("\\x01\\x02\\x03\\x04", ${a})`);
    expect(val(b, `E.toString(require("Flash").read(4, ${a}))`)).toBe("\x01\x02\x03\x04");
    // 1→0 only: clearing more bits is fine, setting one back throws before anything is programmed
    val(b, `require("Flash").write([0,2,3,4], ${a})`);
    expect(fails(b, `require("Flash").write([1,2,3,4], ${a})`)).toMatch(/illegal NOR write .* 0→1/);
    expect(fails(b, `require("Flash").write("ab", ${a + 4})`)).toMatch(/multiples of 4/);
    expect(fails(b, `require("Flash").write("abcd", ${a + 2})`)).toMatch(/multiples of 4/);
    expect(fails(b, `require("Flash").erasePage("x")`)).toMatch(/Address should be an integer/);
    expect(fails(b, `require("Flash").read(4, 0)`)).toMatch(/outside the modelled flash/);
    const erasesBefore = b.flash.eraseCounts()[2]!;
    val(b, `require("Flash").erasePage(${a + 100})`); // any address inside the page
    expect(b.flash.eraseCounts()[2]).toBe(erasesBefore + 1);
    expect(val(b, `E.toString(require("Flash").read(4, ${a}))`)).toBe("\xff\xff\xff\xff");
  });

  it("power cuts reach Flash.write and Flash.erasePage like Storage's own writes", () => {
    const b = new VirtualBoard({ board: "puckjs" });
    b.powerOn();
    const a = b.profile.storage.baseAddress + 4096;
    b.cutPowerAfterFlashWrites(1, "none");
    b.evaluate(`require("Flash").write("abcdefgh", ${a})`);
    expect(b.isOn).toBe(false); // the cut took the board down mid-call
    expect([...b.flash.read(4096, 8)]).toEqual([0x61, 0x62, 0x63, 0x64, 0xff, 0xff, 0xff, 0xff]);
    // bytes outside every Storage file: Espruino's boot check calls that corrupt and wipes
    b.powerOn();
    expect(b.takeOutput()).toMatch(/Storage is corrupt/);
    b.flash.cutPowerAfterPageErases(0, "some-words");
    b.evaluate(`require("Flash").erasePage(${a})`);
    expect(b.isOn).toBe(false);
  });

  it("E.getAddressOf(Storage.read(f), true) is the file's data address; 0 for a RAM string", () => {
    const b = new VirtualBoard({ board: "puckjs" });
    b.storage.write("a", "hello");
    b.storage.write("b", "world!!!");
    b.powerOn();
    const base = b.profile.storage.baseAddress;
    expect(val(b, `E.getAddressOf(require("Storage").read("b"), true)`)).toBe(base + 40 + 32);
    expect(val(b, `E.getAddressOf(require("Storage").read("b", 2, 3), true)`)).toBe(base + 40 + 32 + 2);
    expect(val(b, `E.getAddressOf("not" + " a file", true)`)).toBe(0);
  });
});

describe("the Pico's getFree() sector", () => {
  it("is listed, has its own 128 KB erase unit, keeps its data across a power cycle, and E.memoryArea reads it", () => {
    const b = new VirtualBoard({ board: "pico" });
    b.powerOn();
    expect(val(b, `JSON.stringify(require("Flash").getFree())`)).toBe(JSON.stringify([{ addr: 0x08060000, length: 131072 }]));
    expect(val(b, `JSON.stringify(require("Flash").getPage(0x08060000 + 70000))`)).toBe(JSON.stringify({ addr: 0x08060000, length: 131072 }));
    val(b, `require("Flash").write("KCP2", 0x08060000 + 65536)`);
    b.powerCut();
    b.powerOn();
    expect(b.takeOutput()).not.toMatch(/corrupt/); // outside Storage: the boot check never looks there
    expect(val(b, `E.memoryArea(0x08060000 + 65536, 4)`)).toBe("KCP2");
    val(b, `require("Flash").erasePage(0x08060000 + 100)`);
    expect(val(b, `E.memoryArea(0x08060000 + 65536, 4)`)).toBe("\xff\xff\xff\xff");
    expect(b.freeFlash[0]!.flash.eraseCounts()).toEqual([1]);
  });
});

describe("Espruino's boot check and pages a store owns inside one Storage file", () => {
  // A pad file moves the store file's header to the last 32 B of a page, so its data starts on a
  // page boundary and ends on one: the walk (jsfGetNextFileHeader) jumps over the data by the
  // size word and never reads it, so whatever the store keeps there passes the check.
  function layout(board: string, pages: number): { b: VirtualBoard; dataAddr: number } {
    const b = new VirtualBoard({ board });
    const ps = b.profile.storage.pageBytes;
    const size = b.profile.storage.bytes;
    b.storage.write(".bootcde", "x".repeat(5000));
    const end = 5000 + 32; // aligned
    const headerAt = size - pages * ps - 32;
    b.storage.write("pad", "\0", 0, headerAt - end - 32);
    b.storage.write("kc.st", "\xff", 0, pages * ps); // created, data left erased
    b.powerOn();
    const dataAddr = val(b, `E.getAddressOf(require("Storage").read("kc.st"), true)`) as number;
    return { b, dataAddr };
  }

  for (const [board, pages] of [["puckjs", 2], ["pico", 1], ["nrf52840", 8]] as const) {
    it(`${board}: ${pages} owned page(s) with any content, erased or torn, pass the check`, () => {
      const { b, dataAddr } = layout(board, pages);
      const ps = b.profile.storage.pageBytes;
      expect((dataAddr - b.profile.storage.baseAddress) % ps).toBe(0);
      // garbage, a half-erased page, and an all-zero word at the page start
      val(b, `var F=require("Flash"); F.write(new Uint8Array(${ps}).fill(0x5a), ${dataAddr}); F.write([0,0,0,0], ${dataAddr})`);
      b.flash.cutPowerAfterPageErases(0, "some-words");
      b.evaluate(`require("Flash").erasePage(${dataAddr})`);
      expect(b.isOn).toBe(false);
      b.powerOn();
      expect(b.takeOutput()).not.toMatch(/corrupt/);
      expect(b.storage.list().sort()).toEqual([".bootcde", "kc.st", "pad"]);
    });
  }

  it("the same garbage where the check reads a header (the page after a file that does not end on one) wipes everything", () => {
    const b = new VirtualBoard({ board: "puckjs" });
    b.storage.write(".bootcde", "x".repeat(5000));
    b.storage.write("kc.st", "\xff", 0, 4096); // not page aligned: its data straddles pages 1-2
    b.powerOn();
    const dataAddr = val(b, `E.getAddressOf(require("Storage").read("kc.st"), true)`) as number;
    // the next header slot is mid-page 2 and 0xFF, so the walk jumps to page 3's start: garbage there fails
    val(b, `require("Flash").write([1,2,3,4], ${b.profile.storage.baseAddress + 3 * 4096})`);
    expect(dataAddr % 4096).not.toBe(0);
    b.powerCut();
    b.powerOn();
    expect(b.takeOutput()).toMatch(/Storage is corrupt/);
    expect(b.storage.list()).toEqual([]);
  });
});
