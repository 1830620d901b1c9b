import { describe, expect, it } from "vitest";
import { NorFlash, type FlashGeometry } from "../src/flash.ts";
import { crc32, EspruinoStorage, type StorageOptions } from "../src/storage.ts";

// Geometries from facts §5: Puck.js/nRF52 40 KB = 10 × 4 KB; Pico 48 KB = 3 × 16 KB; LINUX 256 KB / 1 KB pages.
const PUCK: FlashGeometry = { size: 40 * 1024, pageSize: 4096, wordSize: 4, endurance: 10_000 };
const PICO: FlashGeometry = { size: 48 * 1024, pageSize: 16 * 1024, wordSize: 4, endurance: 10_000 };
const LINUX: FlashGeometry = { size: 256 * 1024, pageSize: 1024, wordSize: 4, endurance: 10_000 };

function make(geometry: FlashGeometry = PUCK, opts: StorageOptions = {}) {
  const flash = new NorFlash(geometry);
  const printed: string[] = [];
  const storage = new EspruinoStorage(flash, { print: (l) => printed.push(l), ...opts });
  return { flash, storage, printed };
}
const ascii = (s: string) => [...s].map((c) => c.charCodeAt(0));
const zeros = (n: number) => new Array<number>(n).fill(0);
const ffs = (n: number) => new Array<number>(n).fill(0xff);
const u32le = (v: number) => [v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, v >>> 24];
const header = (size: number, flags: number, name: string) => [...u32le((size | (flags << 24)) >>> 0), ...ascii(name), ...zeros(28 - name.length)];

describe("on-flash layout (derived from the jsflash.h format: u32 size|flags<<24, 28-byte name, data aligned to 4)", () => {
  it("places headers, data, padding and delete marks at the expected addresses", () => {
    const { flash, storage } = make(PUCK);
    storage.write("a", "hello"); // header @0, data @32..36, next header @align(37)=40
    storage.write("bb", "xyz", 0, 10); // header @40, data @72..81, next @align(82)=84
    storage.write("bb", "Q", 5); // byte @77
    storage.write("a", "HELLO"); // deletes @0 (name bytes 4..7 → 0), new header @84, data @116, next @124
    storage.open("s", "w").write("hi\n"); // StorageFile chunk: size 4064, flags 64, name "s\x01", header @124, data @156

    expect([...flash.read(0, 40)]).toEqual([...u32le(5), ...zeros(28), ...ascii("hello"), 0xff, 0xff, 0xff]);
    expect([...flash.read(40, 44)]).toEqual([...header(10, 0, "bb"), ...ascii("xyz"), 0xff, 0xff, ...ascii("Q"), ...ffs(6)]);
    expect([...flash.read(84, 40)]).toEqual([...header(5, 0, "a"), ...ascii("HELLO"), 0xff, 0xff, 0xff]);
    expect([...flash.read(124, 36)]).toEqual([...header(4064, 64, "s\x01"), ...ascii("hi\n"), 0xff]);
    expect(flash.read(160, 4096 - 160).every((b) => b === 0xff)).toBe(true);
  });
});

describe("Storage.write / read (jsfWriteFile semantics, facts §5)", () => {
  it("round-trips files and returns undefined for missing ones", () => {
    const { storage } = make();
    expect(storage.write("f", "abc")).toBe(true);
    expect(storage.read("f")).toBe("abc");
    expect(storage.read("nope")).toBeUndefined();
    expect(storage.read("f", 1)).toBe("bc");
    expect(storage.read("f", 1, 1)).toBe("b");
    expect(storage.read("f", 10)).toBe("");
    expect(new Uint8Array(storage.readArrayBuffer("f")!)).toEqual(Uint8Array.from(ascii("abc")));
    const bin = String.fromCharCode(0, 1, 0x80, 0xfe, 0xff);
    storage.write("bin", bin);
    expect(storage.read("bin")).toBe(bin);
  });

  it("writes a number as one byte (123 → '{')", () => {
    const { storage } = make();
    storage.write("n", 123);
    expect(storage.read("n")).toBe("{");
  });

  it("refuses zero-length files", () => {
    const { storage } = make();
    expect(() => storage.write("z", "")).toThrow(/^Can't create zero length file$/);
  });

  it("treats identical data at offset 0 as a no-op (no flash writes)", () => {
    const { flash, storage } = make();
    storage.write("f", "same");
    const words = flash.wordWrites();
    storage.write("f", "same");
    expect(flash.wordWrites()).toBe(words);
    expect(storage.getStats().trashCount).toBe(0);
  });

  it("replaces a file with different data or size by deleting the old one", () => {
    const { storage } = make();
    storage.write("f", "one");
    storage.write("f", "two");
    storage.write("f", "three");
    expect(storage.read("f")).toBe("three");
    expect(storage.list()).toEqual(["f"]);
    expect(storage.getStats()).toMatchObject({ fileCount: 1, trashCount: 2 });
  });

  it("writes in pieces; unwritten bytes read as 0xFF (Espruino's own doc example)", () => {
    const { storage } = make();
    storage.write("a", "Hello", 0, 14);
    expect(storage.read("a")).toBe("Hello" + "\xff".repeat(9));
    storage.write("a", " ", 5);
    storage.write("a", "World!!!", 6);
    expect(storage.read("a")).toBe("Hello World!!!");
    storage.write("a", " ", 0); // offset 0 again rewrites the file
    expect(storage.read("a")).toBe(" ");
  });

  it("refuses to rewrite any written byte, even with the same value", () => {
    const { storage } = make();
    storage.write("a", "Hello", 0, 14);
    storage.write("a", " ", 5);
    expect(() => storage.write("a", " ", 5)).toThrow(/^File already written with different data$/);
    expect(() => storage.write("a", "lo W", 3)).toThrow(/^File already written with different data$/);
    expect(storage.read("a")).toBe("Hello \xff\xff\xff\xff\xff\xff\xff\xff");
  });

  it("refuses data past the end of the file", () => {
    const { storage } = make();
    storage.write("a", "ab", 0, 4);
    expect(() => storage.write("a", "xyz", 2)).toThrow(/^Too much data for file size$/);
    expect(() => storage.write("b", "abc", 0, 2)).toThrow(/^Too much data for file size$/);
    expect(storage.read("b")).toBe("\xff\xff"); // as on the board, the file was created before the check
  });

  it("cannot write at an offset into a file that does not exist", () => {
    const { storage } = make();
    expect(() => storage.write("ghost", "x", 3)).toThrow(/^Unable to find or create file$/);
  });

  it("stores JSON with unquoted keys and reads it back (facts §5 vector {a:[1,2],b:\"x\"})", () => {
    const { storage } = make();
    storage.writeJSON("j", { a: [1, 2], b: "x" });
    expect(storage.read("j")).toBe('{a:[1,2],b:"x"}');
    expect(storage.readJSON("j")).toEqual({ a: [1, 2], b: "x" });
    storage.writeJSON("k", { "a-b": true, n: null, u: undefined });
    expect(storage.read("k")).toBe('{"a-b":true,n:null}');
    storage.write("bad", "{a:");
    expect(() => storage.readJSON("bad")).toThrow(SyntaxError);
    expect(storage.readJSON("bad", true)).toBeUndefined();
    expect(storage.readJSON("missing")).toBeUndefined();
    storage.write("obj", { x: 1 }); // objects given to write() are stringified
    expect(storage.read("obj")).toBe("{x:1}");
  });

  it("erase deletes a file and returns undefined", () => {
    const { storage } = make();
    storage.write("f", "x");
    expect(storage.erase("f")).toBeUndefined();
    expect(storage.read("f")).toBeUndefined();
    expect(storage.erase("f")).toBeUndefined();
  });
});

describe("names", () => {
  const long1 = "abcdefghijklmnopqrstuvwxyz01X"; // 29 chars
  const long2 = "abcdefghijklmnopqrstuvwxyz01Y";

  it("strictNames (default) refuses names a board would truncate or mangle", () => {
    const { storage } = make();
    expect(() => storage.write(long1, "x")).toThrow(/29 characters.*at most 28/);
    expect(() => storage.write("", "x")).toThrow(/empty/);
    expect(() => storage.write("C:boot", "x")).toThrow(/drive prefix/);
    storage.write(long1.slice(0, 28), "ok");
    expect(storage.list()).toEqual([long1.slice(0, 28)]);
  });

  it("without strictNames, names over 28 chars are truncated and collide, as on the board", () => {
    const { storage } = make(PUCK, { strictNames: false });
    storage.write(long1, "first");
    storage.write(long2, "second");
    expect(storage.read(long1)).toBe("second");
    expect(storage.list()).toEqual([long1.slice(0, 28)]);
    storage.write("C:drive", "d"); // jsfStripDriveFromName
    expect(storage.read("drive")).toBe("d");
  });
});

describe("list / hash / stats", () => {
  it("filters by substring (anywhere), regex, and StorageFile flag", () => {
    const { storage } = make();
    storage.write("app.js", "1");
    storage.write("app.json", "2");
    storage.write(".boot0", "3");
    storage.open("log", "w").write("x");
    expect(storage.list()).toEqual(["app.js", "app.json", ".boot0", "log\x01"]);
    expect(storage.list("js")).toEqual(["app.js", "app.json"]);
    expect(storage.list("pp.j")).toEqual(["app.js", "app.json"]);
    expect(storage.list(/\.js$/)).toEqual(["app.js"]);
    expect(storage.list(undefined, { sf: true })).toEqual(["log"]);
    expect(storage.list(undefined, { sf: false })).toEqual(["app.js", "app.json", ".boot0"]);
  });

  it("hash mixes names (CRC-32) and addresses, ignoring StorageFiles", () => {
    // CRC-32 check values: "123456789" → 0xCBF43926 (the standard check value), "a" → 0xE8B7BE43
    expect(crc32(Uint8Array.from(ascii("123456789")))).toBe(0xcbf43926);
    expect(crc32(Uint8Array.from(ascii("a")))).toBe(0xe8b7be43);
    const { storage } = make();
    storage.write("a", "x"); // header at address 0
    // jsfHashFiles: h = 0xABCDDCBA; h = rol(h,1); h ^= addr ^ crc32(name)
    const rol = ((0xabcddcba << 1) | (0xabcddcba >>> 31)) >>> 0;
    expect(storage.hash()).toBe((rol ^ 0 ^ 0xe8b7be43) | 0);
    storage.open("sf", "w").write("y");
    expect(storage.hash()).toBe((rol ^ 0 ^ 0xe8b7be43) | 0);
    const before = storage.hash();
    storage.write("a", "z"); // moves the file
    expect(storage.hash()).not.toBe(before);
    expect(storage.hash("nomatch")).toBe(0xabcddcba | 0);
  });

  it("reports totals, free space and trash", () => {
    const { storage } = make();
    expect(storage.getStats()).toEqual({ totalBytes: 40960, freeBytes: 40960, fileBytes: 0, fileCount: 0, trashBytes: 0, trashCount: 0 });
    storage.write("a", "12345"); // 32 + 8
    storage.write("b", "1234"); // 32 + 4
    storage.write("a", "1"); // trash 40, new 36
    expect(storage.getStats()).toEqual({ totalBytes: 40960, freeBytes: 40960 - 112, fileBytes: 72, fileCount: 2, trashBytes: 40, trashCount: 1 });
    expect(storage.getFree()).toBe(40960 - 112);
  });
});

describe("compaction", () => {
  it("compact() moves live files down, drops trash and erases the freed pages", () => {
    const { flash, storage } = make(LINUX);
    const data = (i: number) => String.fromCharCode(65 + i).repeat(600 + i);
    for (let i = 0; i < 8; i++) storage.write("f" + i, data(i));
    for (let i = 0; i < 8; i += 2) storage.erase("f" + i);
    const before = storage.getStats();
    storage.compact();
    const after = storage.getStats();
    expect(after.trashBytes).toBe(0);
    expect(after.fileBytes).toBe(before.fileBytes);
    expect(after.freeBytes).toBe(before.freeBytes + before.trashBytes);
    for (let i = 1; i < 8; i += 2) expect(storage.read("f" + i)).toBe(data(i));
    expect(storage.list()).toEqual(["f1", "f3", "f5", "f7"]);
    // the first file now starts at the beginning of the area
    expect([...flash.read(0, 6)]).toEqual([...u32le(601), ...ascii("f1")]);
    expect(storage.bootCheck()).toBe("ok");
    // compacting a compacted store does nothing
    const erases = flash.erases();
    storage.compact();
    expect(flash.erases()).toBe(erases);
  });

  it("auto-compacts when full (printing Compacting...) and fails when it still cannot fit", () => {
    const { storage, printed } = make(PUCK);
    const body = (i: number) => String.fromCharCode(97 + i).repeat(4000);
    for (let i = 0; i < 9; i++) storage.write("f" + i, body(i)); // 9 × 4032 B
    for (let i = 0; i < 4; i++) storage.erase("f" + i);
    expect(printed).toEqual([]);
    storage.write("big", "B".repeat(8000)); // only fits after compaction
    expect(printed).toEqual(["Compacting..."]);
    expect(storage.read("big")).toBe("B".repeat(8000));
    for (let i = 4; i < 9; i++) expect(storage.read("f" + i)).toBe(body(i));
    expect(storage.getStats().trashBytes).toBe(0);
    expect(() => storage.write("huge", "H".repeat(20000))).toThrow(/^Unable to find or create file$/);
    expect(printed).toEqual(["Compacting..."]); // no trash: nothing to compact, nothing printed
  });

  it("eraseAll empties everything", () => {
    const { flash, storage } = make(PICO);
    storage.write("a", "1");
    storage.eraseAll();
    expect(storage.list()).toEqual([]);
    expect(flash.snapshot().every((b) => b === 0xff)).toBe(true);
    expect(flash.eraseCounts()).toEqual([1, 1, 1]);
  });
});

describe("StorageFile (open)", () => {
  it("appends lines across chunks of page−32 bytes and reads them back", () => {
    const { storage } = make(LINUX); // 1 KB pages → 992-byte chunks
    expect(storage.chunkSize).toBe(992);
    const f = storage.open("log", "w");
    const lines: string[] = [];
    for (let i = 0; i < 150; i++) {
      const line = `entry ${i} ${"#".repeat(i % 17)}\n`;
      lines.push(line);
      f.write(line);
    }
    const total = lines.join("");
    expect(total.length).toBeGreaterThan(2 * 992);
    expect(storage.list()).toEqual(["log\x01"]);
    expect(storage.list(/log/, { sf: true })).toEqual(["log"]);
    expect(storage.open("log", "r").getLength()).toBe(total.length);
    const r = storage.open("log", "r");
    for (const line of lines) expect(r.readLine()).toBe(line);
    expect(r.readLine()).toBeUndefined();
    const r2 = storage.open("log", "r");
    let got = "";
    for (let s = r2.read(100); s !== undefined; s = r2.read(100)) got += s;
    expect(got).toBe(total);
    // append mode continues at the end
    storage.open("log", "a").write("tail\n");
    expect(storage.open("log", "r").getLength()).toBe(total.length + 5);
    // write mode starts over
    storage.open("log", "w").write("new\n");
    expect(storage.open("log", "r").read(1000)).toBe("new\n");
    expect(storage.list()).toEqual(["log\x01"]);
  });

  it("erase removes every chunk and closes the file", () => {
    const { storage } = make(LINUX);
    const f = storage.open("x", "w");
    // a first write longer than one chunk fails on the board too (jsfWriteFile of chunk 1 with size 992)
    expect(() => f.write("a".repeat(2500))).toThrow(/^Too much data for file size$/);
    f.write("a".repeat(500));
    f.write("b".repeat(900)); // spills into chunk 2
    f.write("c".repeat(900)); // spills into chunk 3
    expect(storage.list(undefined, { sf: false })).toEqual([]);
    expect(storage.getStats().fileCount).toBe(3);
    expect(storage.list(undefined, { sf: true })).toEqual(["x"]);
    f.erase();
    expect(storage.list()).toEqual([]);
    expect(() => f.write("more")).toThrow(/^Can't write in this mode$/);
  });

  it("enforces modes", () => {
    const { storage } = make();
    expect(() => storage.open("x", "r").write("a")).toThrow(/^Can't write in this mode$/);
    expect(() => storage.open("x", "w").read(1)).toThrow(/^Can't read in this mode$/);
    expect(() => storage.open("x", "q" as "r")).toThrow(/^Invalid mode "q"$/);
    expect(storage.open("missing", "r").read(5)).toBeUndefined();
  });

  it("0xFF ends a StorageFile: strict mode refuses it, lenient mode loses the rest as a board does", () => {
    const strict = make().storage;
    expect(() => strict.open("x", "w").write("ab\xffcd")).toThrow(/0xFF/);
    const lenient = make(PUCK, { strictStorageFileData: false }).storage;
    lenient.open("x", "w").write("ab\xffcd");
    expect(lenient.open("x", "r").read(10)).toBe("ab");
    expect(lenient.open("x", "r").getLength()).toBe(2);
  });
});

describe("bootCheck (jsiSemiInit → jsfIsStorageValid(JSFSTT_NORMAL) → jsfResetStorage)", () => {
  const wiped = ["Storage is corrupt.", "Erasing Storage Area...", "Erase complete."];

  it("accepts an empty or well-formed store silently", () => {
    const { storage, printed } = make();
    expect(storage.bootCheck()).toBe("ok");
    storage.write("a", "1");
    storage.write("b", "2");
    storage.erase("a");
    expect(storage.bootCheck()).toBe("ok");
    expect(printed).toEqual([]);
    expect(storage.read("b")).toBe("2");
  });

  it("wipes when the first header is neither valid nor erased", () => {
    const { flash, storage, printed } = make();
    flash.write(0, Uint8Array.from(header(0x00fffff0, 0, "x"))); // size runs past the end
    expect(storage.bootCheck()).toBe("wiped");
    expect(printed).toEqual(wiped);
    expect(flash.snapshot().every((b) => b === 0xff)).toBe(true);
  });

  it("wipes an empty-looking store with data further in (NORMAL scans everything when empty)", () => {
    const { flash, storage, printed } = make();
    flash.write(3 * 4096 + 100, Uint8Array.from([1, 2, 3, 4]));
    expect(storage.bootCheck()).toBe("wiped");
    expect(printed).toEqual(wiped);
  });

  it("wipes on garbage after the last file in the last page", () => {
    const { flash, storage } = make(PICO);
    flash.write(0, Uint8Array.from(header(16 * 1024 * 2 - 32, 0, "fill"))); // fills pages 0-1 exactly
    flash.write(2 * 16 * 1024, Uint8Array.from(header(10, 0, "last")));
    expect(storage.bootCheck()).toBe("ok");
    flash.write(2 * 16 * 1024 + 44, Uint8Array.from([0x12, 0x34, 0x56, 0x78]));
    expect(storage.bootCheck()).toBe("wiped");
  });

  it("does NOT notice garbage after the last file when the next page starts erased (Espruino's scan jumps pages)", () => {
    const { flash, storage, printed } = make();
    storage.write("a", "1234"); // next header slot at 32 + 4 = 36
    flash.write(36, Uint8Array.from([0x12, 0x34, 0x56, 0x78]));
    expect(storage.bootCheck()).toBe("ok");
    expect(printed).toEqual([]);
    expect(storage.list()).toEqual(["a"]);
    // the next file's header lands on that garbage: a board would AND it into a corrupt header; we throw
    expect(() => storage.write("b", "x")).toThrow(/illegal NOR write at 0x00000024/);
  });

  it("keeps a torn header (size written, name not) as a file named with 0xFF bytes", () => {
    const { flash, storage } = make();
    storage.write("a", "1234");
    flash.write(36, Uint8Array.from(u32le(8)));
    expect(storage.bootCheck()).toBe("ok");
    expect(storage.list()).toEqual(["a", "\xff".repeat(28)]);
  });

  it("accepts a store filled to the very end", () => {
    const { storage } = make(PICO);
    storage.write("all", "x".repeat(48 * 1024 - 32));
    expect(storage.getFree()).toBe(0);
    expect(storage.bootCheck()).toBe("ok");
  });
});

describe("snapshots", () => {
  it("a Storage over a restored image sees exactly the files of the snapshot", () => {
    const { flash, storage } = make();
    storage.write("keep", "v1");
    const image = flash.snapshot();
    storage.write("keep", "v2");
    storage.write("other", "x");
    flash.restore(image);
    const again = new EspruinoStorage(flash);
    expect(again.list()).toEqual(["keep"]);
    expect(again.read("keep")).toBe("v1");
  });
});
