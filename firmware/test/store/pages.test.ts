// Store v2 (firmware/src/store/pages.ts, tally.ts) on a strict fake flash (v2-harness.ts): format
// vectors, behaviour, and a model-based run with a power cut at every word write and every page
// erase of every operation, both partial modes, checked against an in-memory model.
import { describe, expect, test } from "vitest";
import { readFileSync } from "node:fs";
import {
  openPageStore, storePut, storeGet, storeKeys, storeOrder, storeCompact, storeFinishWipe, storeWipePending,
  encodePageHeader, encodeRecordV2, type PageStore,
} from "../../src/store/pages.ts";
import { tallyBegin, tallySuccess, tallyFailures, tallyReset, tallyShare, tallyNextWord, TALLY_KEY } from "../../src/store/tally.ts";
import { isStoreFull } from "../../src/store/ports.ts";
import { FlashBank, PowerCut, profileBank } from "./v2-harness.ts";

const vectors = JSON.parse(readFileSync(new URL("../../vectors/store-v2.json", import.meta.url), "utf8"));
const hex = (s: string) => Buffer.from(s, "latin1").toString("hex");
const unhex = (h: string) => Buffer.from(h, "hex").toString("latin1");

function small(pages = 3, pageBytes = 1024): FlashBank {
  return new FlashBank([{ base: 0x10000, bytes: pages * pageBytes, pageBytes }]);
}
const open = (b: FlashBank) => openPageStore(b.port, b.pages, b.sizes);

describe("format vectors (firmware/vectors/store-v2.json)", () => {
  test("page headers and records encode as STORAGE.md §A2 says", () => {
    const b = small();
    expect(hex(encodePageHeader(1))).toBe(vectors.pageHeader.hex);
    expect(hex(encodePageHeader(7))).toBe(vectors.pageHeaderGen7.hex);
    for (const r of vectors.records) expect(hex(encodeRecordV2(b.port, r.key, unhex(r.payloadHex)))).toBe(r.hex);
  });
  test("a page written from the vectors opens: gen, records, a deleted key, the tally's carried failures", () => {
    const b = small();
    b.port.erase(b.pages[1]!);
    let at = b.pages[1]! + 12;
    for (const r of vectors.records) {
      b.port.write(at, unhex(r.hex));
      at += r.hex.length / 2 + (r.key >= 0x80 ? 256 : 0);
    }
    b.port.write(b.pages[1]!, unhex(vectors.pageHeaderGen7.hex));
    const st = open(b);
    expect([st.cur, st.gen]).toEqual([1, 7]);
    expect(storeGet(st, 1)).toBe("hello");
    expect(storeGet(st, 16)).toBeUndefined();
    expect(tallyFailures(st)).toBe(3);
    expect(tallyShare(st)).toBe("S".repeat(32));
    const w = vectors.tallyWords;
    const slot = tallyBegin(st);
    expect(hex(b.port.read(st.end - 256, 4))).toBe(w.attempt);
    tallySuccess(st, slot);
    expect(hex(b.port.read(st.end - 256, 4))).toBe(w.success);
    expect(tallyFailures(open(b))).toBe(0);
  });
});

describe("behaviour", () => {
  test("latest record per key wins, '' deletes, order follows writes, all of it survives reopening and compaction", () => {
    const b = small();
    const st = open(b);
    expect(st.cur).toBe(-1);
    storePut(st, 1, "a");
    storePut(st, 2, "b");
    storePut(st, 1, "c");
    storePut(st, 3, "x");
    storePut(st, 3, "");
    expect(storeKeys(open(b))).toEqual([2, 1]);
    expect(storeGet(open(b), 1)).toBe("c");
    expect(storeOrder(st, 1)).toBeGreaterThan(storeOrder(st, 2));
    storeCompact(st);
    const again = open(b);
    expect([again.cur, again.gen, storeKeys(again), storeGet(again, 1), storeGet(again, 2)]).toEqual([1, 2, [2, 1], "c", "b"]);
  });

  test("compaction goes round robin (every page erased alike) and the old page stays until it is the target", () => {
    const b = small(3);
    const st = open(b);
    for (let i = 0; i < 300; i++) storePut(st, i % 4, "p".repeat(60));
    const e = b.pageErases();
    expect(Math.max(...e) - Math.min(...e)).toBeLessThanOrEqual(1);
    expect(e.reduce((x, y) => x + y, 0)).toBeGreaterThan(20);
  });

  test("STORAGE_FULL only when the live records do not fit one page; nothing is erased or lost then", () => {
    const b = small(2, 512);
    const st = open(b);
    for (let k = 0; k < 4; k++) storePut(st, k, "q".repeat(100));
    const before = b.snapshot();
    let err: unknown;
    try {
      storePut(st, 9, "z".repeat(100));
    } catch (e) {
      err = e;
    }
    expect(isStoreFull(err)).toBe(true);
    expect(b.erases).toBe(before.erases);
    expect(storeKeys(open(b))).toEqual([0, 1, 2, 3]);
  });

  test("illegal flash use fails loudly in the fake flash (so the store above never does it)", () => {
    const b = small();
    expect(() => b.port.write(b.pages[0]! + 2, "abcd")).toThrow(/aligned/);
    b.port.write(b.pages[0]!, "\0\0\0\0");
    expect(() => b.port.write(b.pages[0]!, "\x01\0\0\0")).toThrow(/0→1/);
    expect(() => b.port.erase(b.pages[0]! + 4)).toThrow(/page start/);
    expect(() => b.port.write(0x100, "abcd")).toThrow(/outside the pages it owns/);
  });

  test("the tally: a partial attempt or success word counts as a failure; a full tail carries on in a new record", () => {
    const b = small(2, 2048);
    const st = open(b);
    tallyReset(st, 0, "S".repeat(32));
    for (let i = 0; i < 3; i++) tallyBegin(st);
    expect(tallyFailures(st)).toBe(3);
    tallySuccess(st, tallyBegin(st));
    expect(tallyFailures(st)).toBe(0);
    // a half-programmed attempt word and a half-programmed success word both count
    b.port.write(tallyNextWord(st), "\x7f\xff\xff\xff");
    expect(tallyFailures(open(b))).toBe(1);
    const s = tallyBegin(st);
    b.port.write(s, "\0\0\x0f\xff");
    expect(tallyFailures(open(b))).toBe(2);
    for (let i = 0; i < 70; i++) tallySuccess(st, tallyBegin(st));
    expect(tallyFailures(open(b))).toBe(0);
    for (let i = 0; i < 62; i++) tallyBegin(st); // crosses into a new record: carried
    expect(tallyFailures(open(b))).toBe(62);
    expect(tallyShare(open(b))).toBe("S".repeat(32));
  });
});

// ---------------------------------------------------------------- model-based, cut everywhere

interface Model { data: Map<number, string>; failures: number; destroyed: boolean }
type Op =
  | { kind: "put"; key: number; payload: string }
  | { kind: "verdict"; ok: boolean }
  | { kind: "wipe" }
  | { kind: "perso" };

const DESTROYED = 0x02;
const WIPED = 0x04;
const PERSO = 0x01;

function clone(m: Model): Model {
  return { data: new Map(m.data), failures: m.failures, destroyed: m.destroyed };
}

// The self-destruct as the carrier runs it (pages.ts storeFinishWipe), resumed at boot.
function finishWipe(st: PageStore): void {
  storeFinishWipe(st, DESTROYED, WIPED);
}
function recover(st: PageStore): void {
  if (storeWipePending(st, DESTROYED, WIPED)) finishWipe(st);
}

function apply(st: PageStore, op: Op, m: Model): void {
  if (op.kind === "put") {
    storePut(st, op.key, op.payload);
    if (op.payload === "") m.data.delete(op.key);
    else m.data.set(op.key, op.payload);
  } else if (op.kind === "verdict") {
    const slot = tallyBegin(st);
    if (op.ok) {
      tallySuccess(st, slot);
      m.failures = 0;
    } else m.failures++;
  } else if (op.kind === "perso") {
    tallyReset(st, 0, "S".repeat(32));
    storePut(st, PERSO, "secret-perso-" + "P".repeat(40));
    m.data.set(PERSO, "secret-perso-" + "P".repeat(40));
    m.failures = 0;
    m.destroyed = false;
  } else {
    storePut(st, DESTROYED, "\x02");
    m.destroyed = true;
    finishWipe(st);
    m.data.clear();
    m.failures = 0; // the counter is gone with the rest
  }
}

function ops(seed: number, n: number): Op[] {
  let s = seed;
  const rnd = (k: number) => ((s = (Math.imul(s, 1103515245) + 12345) >>> 0) >>> 8) % k;
  const out: Op[] = [{ kind: "perso" }];
  for (let i = 0; i < n; i++) {
    const r = rnd(20);
    if (r < 11) out.push({ kind: "put", key: 0x10 + rnd(5), payload: rnd(6) === 0 ? "" : String.fromCharCode(0x41 + rnd(26)).repeat(1 + rnd(90)) });
    else if (r < 18) out.push({ kind: "verdict", ok: rnd(3) !== 0 });
    else if (r === 18) out.push({ kind: "wipe" }, { kind: "perso" });
    else out.push({ kind: "put", key: 0x10, payload: "secret-" + "K".repeat(20 + rnd(40)) });
  }
  return out;
}

function observed(st: PageStore): { data: Map<number, string>; failures: number; destroyed: boolean } {
  const data = new Map<number, string>();
  for (const k of storeKeys(st)) if (k !== TALLY_KEY && k !== DESTROYED && k !== WIPED && k !== PERSO) data.set(k, storeGet(st, k)!);
  if (storeGet(st, PERSO) !== undefined && storeOrder(st, PERSO) > storeOrder(st, DESTROYED)) data.set(PERSO, storeGet(st, PERSO)!);
  const destroyed = storeGet(st, DESTROYED) !== undefined && storeOrder(st, DESTROYED) > storeOrder(st, PERSO);
  return { data, failures: tallyFailures(st), destroyed };
}

function flashHolds(b: FlashBank, secret: string): boolean {
  const needle = Buffer.from(secret, "latin1");
  return b.regions.some((r) => Buffer.from(r.flash.snapshot()).includes(needle));
}

describe("model-based, a power cut at every word write and page erase", () => {
  const banks: [string, () => FlashBank, number][] = [
    ["3 × 1 KB pages", () => small(3, 1024), 100],
    // unequal erase units, as on the Pico (its 16 KB Storage page + 128 KB sector), scaled down
    ["1 KB + 4 KB pages", () => new FlashBank([{ base: 0x10000, bytes: 1024, pageBytes: 1024 }, { base: 0x80000, bytes: 4096, pageBytes: 4096 }]), 60],
  ];
  test.each(banks)("%s: every cut leaves the state before or after the operation; verdicts never undercount; a wipe never leaves a secret", (label, makeBank, count) => {
    const b = makeBank();
    let st = open(b);
    let model: Model = { data: new Map(), failures: 0, destroyed: false };
    let cutPoints = 0;
    const sequence = ops(7, count);
    for (const op of sequence) {
      const before = b.snapshot();
      const m0 = clone(model);
      const m1 = clone(model);
      apply(st, op, m1);
      const after = b.snapshot();
      const words = after.words - before.words;
      const erases = after.erases - before.erases;
      const cuts: (() => void)[] = [];
      for (let w = 0; w < words; w++) for (const mode of ["none", "some-bits"] as const) cuts.push(() => b.cutAtWord(before.words + w, mode));
      for (let e = 0; e < erases; e++) for (const mode of ["none", "some-words"] as const) cuts.push(() => b.cutAtErase(before.erases + e, mode));
      for (const arm of cuts) {
        cutPoints++;
        b.restore(before);
        arm();
        expect(() => apply(open(b), op, clone(m0))).toThrow(PowerCut);
        b.powerOn();
        const re = open(b);
        recover(re);
        const got = observed(re);
        if (op.kind === "verdict") {
          expect(got.data).toEqual(m0.data);
          expect(got.failures).toBeGreaterThanOrEqual(m0.failures); // never more generous
          expect(got.failures).toBeLessThanOrEqual(m0.failures + 1);
        } else if (op.kind === "wipe") {
          if (got.destroyed) {
            expect(got.data.size).toBe(0);
            for (const secret of m0.data.values()) expect(flashHolds(b, secret)).toBe(false);
          } else {
            expect(got.data).toEqual(m0.data);
          }
        } else if (op.kind === "perso") {
          // before (no PERSO, old tally) or after (PERSO, fresh tally); the fresh tally may land first
          const same = (a: Map<number, string>, c: Map<number, string>) => JSON.stringify([...a].sort()) === JSON.stringify([...c].sort());
          expect(same(got.data, m0.data) || same(got.data, m1.data)).toBe(true);
          expect([m0.failures, 0]).toContain(got.failures);
          if (got.data.has(PERSO)) expect(got.failures).toBe(0);
        } else {
          const okBefore = JSON.stringify([...got.data].sort()) === JSON.stringify([...m0.data].sort());
          const okAfter = JSON.stringify([...got.data].sort()) === JSON.stringify([...m1.data].sort());
          expect(okBefore || okAfter).toBe(true);
          expect(got.failures).toBe(m0.failures);
        }
        // and the store keeps working from here
        storePut(re, 0x1f, "after-cut");
        expect(storeGet(open(b), 0x1f)).toBe("after-cut");
      }
      b.restore(after);
      st = open(b);
      model = m1;
      const got = observed(st);
      expect(got.data).toEqual(model.data);
      expect(got.failures).toBe(model.failures);
    }
    console.log(`store v2 model run, ${label}: ${sequence.length} operations, ${cutPoints} cut points (every word write and page erase, both partial modes)`);
    expect(cutPoints).toBeGreaterThan(1000);
  });
});

describe("profiles", () => {
  test("puckjs (2 × 4 KB), pico (16 KB + 128 KB) and nrf52840 (8 × 4 KB) banks open blank and format on the first write", () => {
    for (const p of ["puckjs", "pico", "nrf52840"] as const) {
      const b = profileBank(p);
      const st = open(b);
      storePut(st, 1, "x");
      expect(storeGet(open(b), 1)).toBe("x");
      expect(b.erases).toBe(1);
    }
  });
});
