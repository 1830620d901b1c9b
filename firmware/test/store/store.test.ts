// Unit tests of the record log, the unary counter and the torn-name repair, on EspruinoStorage
// over NorFlash (puckjs geometry). Format vectors: firmware/vectors/store-format.json.
import { describe, expect, test } from "vitest";
import { readFileSync } from "node:fs";
import { NorFlash } from "../../../board/src/flash.ts";
import { EspruinoStorage } from "../../../board/src/storage.ts";
import { envOver, PUCK } from "./harness.ts";
import { encodeRecord, openLog, scanLog, LOG_HEADER_BYTES } from "../../src/store/log.ts";
import { openCounter, scanCounter, COUNTER_HEADER_BYTES } from "../../src/store/counter.ts";
import { isTorn, canCreate } from "../../src/store/space.ts";

const vectors = JSON.parse(readFileSync(new URL("../../vectors/store-format.json", import.meta.url), "utf8"));
const hexToStr = (h: string) => Buffer.from(h, "hex").toString("latin1");
const NAMES = ["t.log.a", "t.log.b"];
const CNAMES = ["t.ctr.a", "t.ctr.b"];

function fresh() {
  const flash = new NorFlash(PUCK);
  const storage = new EspruinoStorage(flash);
  return { flash, storage, env: envOver(storage, PUCK.pageSize) };
}

describe("format vectors", () => {
  test("records encode as STORAGE.md §2 says", () => {
    const { env } = fresh();
    for (const v of vectors.records) expect(Buffer.from(encodeRecord(env, v.key, v.seq, hexToStr(v.payloadHex)), "latin1").toString("hex")).toBe(v.hex);
  });
  test("a log file made of the vector header + copied block replays, and its record appends", () => {
    const { env, storage } = fresh();
    storage.write(NAMES[0]!, hexToStr(vectors.logHeader.hex) + hexToStr(vectors.logHeader.copiedHex), 0, 512);
    const scan = scanLog(env, NAMES);
    expect(scan.gen).toBe(3);
    expect(scan.records[2]).toEqual({ key: 2, seq: 7, payload: "\x01" });
    const log = openLog(env, NAMES, 512);
    log.append(0x41, "hello");
    expect(storage.read(NAMES[0]!, LOG_HEADER_BYTES + 12, 16)).toBe(encodeRecord(env, 0x41, 8, "hello")); // seq continues at 8
    expect(openLog(env, NAMES, 512).get(0x41)!.seq).toBe(8);
  });
  test("a counter file with the vector header carries 4 failures", () => {
    const { env, storage } = fresh();
    storage.write(CNAMES[0]!, hexToStr(vectors.counterHeader.hex), 0, COUNTER_HEADER_BYTES + 2 * 16);
    expect(scanCounter(env, CNAMES, 16)).toMatchObject({ gen: 2, carried: 4, failures: 4, used: 0, share: hexToStr(vectors.counterHeader.shareHex) });
  });
});

describe("record log", () => {
  test("latest record per key wins, tombstones delete, state survives reopening", () => {
    const { env } = fresh();
    const log = openLog(env, NAMES, 512);
    log.append(1, "a");
    log.append(2, "b");
    log.append(1, "c");
    log.append(2, "");
    const again = openLog(env, NAMES, 512);
    expect(again.get(1)!.payload).toBe("c");
    expect(again.get(2)).toBeUndefined();
    expect(again.keys()).toEqual([1]);
  });
  test("a torn tail is ignored and never appended after: the next append rotates", () => {
    const { env, storage, flash } = fresh();
    const log = openLog(env, NAMES, 512);
    log.append(1, "one");
    flash.cutPowerAfterWordWrites(1, "none"); // the second record: first word lands, rest does not
    expect(() => log.append(1, "two-two-two")).toThrow(/power cut/);
    flash.powerOn();
    const reopened = openLog(env, NAMES, 512);
    expect(reopened.get(1)!.payload).toBe("one");
    expect(scanLog(env, NAMES)).toMatchObject({ dirty: true, gen: 1, current: 0 });
    reopened.append(1, "three");
    expect(scanLog(env, NAMES)).toMatchObject({ dirty: false, gen: 2, current: 1 });
    expect(storage.list()).toEqual([NAMES[1]]);
    expect(openLog(env, NAMES, 512).get(1)!.payload).toBe("three");
  });
  test("rotation keeps live records only and erases the old file after the new one is valid", () => {
    const { env, storage } = fresh();
    const log = openLog(env, NAMES, 300);
    for (let i = 0; i < 40; i++) log.append(i % 3, "x".repeat(20) + i);
    const again = openLog(env, NAMES, 300);
    expect([0, 1, 2].map((k) => again.get(k)!.payload)).toEqual(["x".repeat(20) + 39, "x".repeat(20) + 37, "x".repeat(20) + 38]);
    expect(scanLog(env, NAMES).gen).toBeGreaterThan(3);
    expect(storage.getStats().fileCount).toBe(1);
  });
});

describe("unary counter", () => {
  test("attempt before success; failures = attempts since the last success; rotation carries them", () => {
    const { env } = fresh();
    const c = openCounter(env, CNAMES, 16);
    c.reset(0, "S".repeat(32));
    for (let i = 0; i < 15; i++) c.markSuccess(c.beginAttempt());
    c.beginAttempt();
    expect(openCounter(env, CNAMES, 16).failures()).toBe(1);
    c.beginAttempt(); // slot 16 of 16: rotates first, carrying 1
    const again = openCounter(env, CNAMES, 16);
    expect(scanCounter(env, CNAMES, 16)).toMatchObject({ failures: 2, carried: 1, used: 1, gen: 2, share: "S".repeat(32) });
    again.markSuccess(0);
    expect(openCounter(env, CNAMES, 16).failures()).toBe(0);
  });
  test("a half-programmed success byte does not count; a half-programmed attempt does", () => {
    const { env, flash } = fresh();
    const c = openCounter(env, CNAMES, 16);
    c.reset(0, "S".repeat(32));
    const slot = c.beginAttempt();
    flash.cutPowerAfterWordWrites(0, "some-bits");
    expect(() => c.markSuccess(slot)).toThrow(/power cut/);
    flash.powerOn();
    expect(openCounter(env, CNAMES, 16).failures()).toBe(1);
    const d = openCounter(env, CNAMES, 16);
    flash.cutPowerAfterWordWrites(0, "some-bits");
    expect(() => d.beginAttempt()).toThrow(/power cut/);
    flash.powerOn();
    const partial = openCounter(env, CNAMES, 16).failures();
    expect([1, 2]).toContain(partial); // 2 unless no bit of the byte cleared (then nothing happened)
  });
});

describe("torn names and space", () => {
  test("torn header and torn delete variants are recognised, other names are not", () => {
    expect(isTorn("kc.l" + "\xff".repeat(24), "kc.log.a")).toBe(true);
    expect(isTorn("\xff".repeat(28), "kc.log.a")).toBe(true);
    expect(isTorn("kc.log.b", "kc.log.a")).toBe(false);
    expect(isTorn("kc.log.a", "kc.log.a")).toBe(false);
    expect(isTorn("@B \fog.a", "kc.log.a")).toBe(true); // seen in the campaign: bits of "kc.l" only
    expect(isTorn("sc.log.a", "kc.log.a")).toBe(false); // 's' has a bit 'k' lacks
    expect(isTorn("kc.log.b", "kc.log.a")).toBe(false);
  });
  test("canCreate refuses what would need compaction or put a header in the last page", () => {
    const { env, storage } = fresh();
    expect(canCreate(env, 1000)).toBe(true);
    storage.write("big", "z".repeat(PUCK.size - PUCK.pageSize - 32 + 100));
    expect(storage.getStats().freeBytes).toBeGreaterThan(2000);
    expect(canCreate(env, 1000)).toBe(false); // header would land in the last page
  });
});
