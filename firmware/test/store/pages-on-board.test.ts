// Store v2 compiled by the project pipeline to Espruino ES5, through the gate, run on the
// VirtualBoard against Espruino's own require("Flash"), E.memoryArea, E.getAddressOf and Storage
// (fixtures/pages-on-board.ts wires them as platform.ts will), next to a stand-in firmware bundle of
// the release size. Shows: the pages reserved behind kc.st are page aligned and pass Espruino's boot
// check in every state the store leaves them in; a power cut at every word write and page erase of a
// compacting payment and of a self-destruct never makes the boot check erase Storage (the firmware
// survives every cut), never loses a committed payment, never rolls the tally back, and a finished
// wipe leaves no secret byte anywhere in flash; and what a payment's store work costs in device ms.
// (~20 s on 2 cores: one board boot per cut point, twice.)
import { beforeAll, describe, expect, it } from "vitest";
import { compile } from "../../build/pipeline.ts";
import { checkBundle, formatFinding } from "../../build/gate.ts";
import { VirtualBoard } from "../../../board/src/virtual-board.ts";
import { CostMeter } from "../../../board/src/cost/meter.ts";
import { loadProfile } from "../../../board/src/profiles.ts";
import { largestBundleBytesV2 } from "../../build/cli.ts";

let bundle = "";
let map = "";
beforeAll(async () => {
  const r = await compile({ entry: "firmware/test/store/fixtures/pages-on-board.ts", minify: true });
  bundle = r.code;
  map = r.map;
}, 60_000);

// The release bundle each board takes, plus kc.tk (32 B) and the .boot0 lock (80 B): STORAGE.md §7.1.
const BUNDLE: Record<string, number> = { puckjs: 30_591, pico: 29_379 };
// a stand-in of the same size that boots (a comment), so the campaign spends its time on the store
const FIRMWARE = (board: string) => "/*" + "F".repeat(BUNDLE[board]! - 4) + "*/";

function board(name: string, image?: Uint8Array, meter?: CostMeter) {
  const vb = new VirtualBoard({ board: name, flashImage: image, cost: meter });
  if (!image) {
    vb.storage.write(".bootcde", FIRMWARE(name));
    vb.storage.write("kc.tk", "t".repeat(32));
    vb.storage.write(".boot0", "b".repeat(80));
  }
  vb.powerOn();
  const run = (src: string): unknown => {
    const r = vb.evaluate(meter ? meter.prepare(src, "test") : src);
    if (!r.ok) throw r.error;
    return r.value;
  };
  if (meter) meter.attachFlash(vb.flash);
  run(bundle);
  return { vb, run };
}

function firmwareIntact(vb: VirtualBoard, name: string): boolean {
  return vb.storage.read(".bootcde") === FIRMWARE(name);
}

describe("store v2 on the virtual board", () => {
  it("passes the Espruino compatibility gate", () => {
    expect(checkBundle(bundle, { map }).map(formatFinding)).toEqual([]);
  });

  for (const name of ["puckjs", "pico"] as const) {
    it(`${name}: reserves page-aligned pages behind the firmware, pays, and keeps everything across power cycles`, () => {
      const { vb, run } = board(name);
      expect(run(`KV2.open()`)).toBe(2); // pico: its last Storage page + the getFree() sector
      run("KV2.personalise(); for (var i = 1; i <= 200; i++) KV2.pay(i);");
      expect(run("KV2.gen()")).toBeGreaterThan(name === "puckjs" ? 3 : 1); // compacted on board
      vb.powerCut();
      vb.powerOn();
      expect(vb.takeOutput()).not.toMatch(/corrupt/);
      expect(firmwareIntact(vb, name)).toBe(true);
      run(bundle);
      run(`KV2.open()`);
      expect(run("[KV2.state(), KV2.failures(), KV2.lastEntry(200)].join()")).toBe("1,0,true");
      expect(vb.storage.list().sort()).toEqual([".boot0", ".bootcde", "kc.pad", "kc.st", "kc.tk"]);
    });
  }

  for (const name of ["puckjs", "pico", "nrf52840"] as const) {
    it(`${name}: a bundle of exactly largestBundleBytesV2 leaves the store its pages; one word more does not`, () => {
      const p = loadProfile(name);
      for (const extra of [0, 4]) {
        const vb = new VirtualBoard({ board: name });
        vb.storage.write(".bootcde", "/*" + "F".repeat(largestBundleBytesV2(p.storage.bytes, p.storage.pageBytes) + extra - 4) + "*/");
        vb.storage.write("kc.tk", "t".repeat(32));
        vb.storage.write(".boot0", "b".repeat(80));
        vb.powerOn();
        vb.evaluate(bundle);
        const r = vb.evaluate(`KV2.open(); KV2.personalise(); KV2.pay(1); KV2.state()`);
        if (extra === 0) expect(r.ok && r.value).toBe(1);
        else expect(r.ok ? "opened" : String((r.error as Error).message)).toMatch(/do not fit/);
      }
    });
  }

  it("pico: a store of an earlier life in the getFree() sector (it survives Storage.eraseAll and a re-flash) never comes back", () => {
    const { vb, run } = board("pico");
    run("KV2.open(); KV2.personalise(); for (var i = 1; i <= 200; i++) KV2.pay(i);"); // the sector is current now
    expect(run("KV2.gen()")).toBeGreaterThan(1);
    const sector = () => Buffer.from(vb.freeFlash[0]!.flash.snapshot());
    expect(sector().includes(Buffer.from("k".repeat(137)))).toBe(true);
    vb.storage.eraseAll(); // what a re-flash does to Storage, not to the sector
    vb.storage.write(".bootcde", FIRMWARE("pico"));
    vb.storage.write("kc.tk", "t".repeat(32));
    vb.storage.write(".boot0", "b".repeat(80));
    vb.powerCut();
    vb.powerOn();
    run(bundle);
    run("KV2.open()");
    expect(run("KV2.state()")).toBe(0); // blank: the old keys did not resurrect
    expect(sector().includes(Buffer.from("k".repeat(137)))).toBe(false);
  });

  it("puckjs: device ms of one payment's store work (try spent, entry appended, try given back), by the cost model", () => {
    const meter = new CostMeter();
    const { run } = board("puckjs", undefined, meter);
    run("KV2.open(); KV2.personalise(); for (var i = 1; i <= 20; i++) KV2.pay(i);");
    const profile = loadProfile("puckjs");
    const ms = meter.estimate(profile, meter.measure("pay", () => run("KV2.pay(21)")).record.counts).ms;
    const boot = meter.estimate(profile, meter.measure("open", () => run("KV2.open()")).record.counts).ms;
    console.log(`store v2 on puckjs (cost model, flash time included): one payment's store work ${ms.toFixed(1)} ms; opening the store (scan of a page) ${boot.toFixed(1)} ms`);
    expect(ms).toBeLessThan(50);
  });
});

describe("store v2 on the virtual board: a power cut at every word write and page erase", () => {
  function campaign(name: string, prepare: string, op: string, check: (run: (s: string) => unknown, vb: VirtualBoard) => void): number {
    const base = board(name);
    base.run(`KV2.open(); ${prepare}`);
    const image = base.vb.flash.snapshot(); // the Storage area; the getFree() areas below
    const free0 = base.vb.freeFlash.map((r) => r.flash.snapshot());
    const c0 = base.vb.flashApi.counts();
    base.run(op);
    const c1 = base.vb.flashApi.counts();
    const points: [string, number, string][] = [];
    // words: "some-bits" (a cut mid-word; "none" is the same state as a cut after the previous word,
    // and both modes run at every word in the Node model test, pages.test.ts)
    for (let w = 0; w < c1.words - c0.words; w++) points.push(["word", w, "some-bits"]);
    for (let e = 0; e < c1.erases - c0.erases; e++) points.push(["erase", e, "some-words"], ["erase", e, "none"]);
    let wiped = 0;
    for (const [kind, n, mode] of points) {
      const vb = new VirtualBoard({ board: name, flashImage: image });
      vb.freeFlash.forEach((r, i) => r.flash.restore(free0[i]!));
      vb.powerOn();
      const run = (src: string): unknown => {
        const r = vb.evaluate(src);
        if (!r.ok) throw r.error;
        return r.value;
      };
      run(bundle);
      run(`KV2.open()`);
      if (kind === "word") vb.flashApi.cutAfterWords(n, mode as "none" | "some-bits");
      else vb.flashApi.cutAfterErases(n, mode as "none" | "some-words");
      vb.evaluate(op);
      expect(vb.isOn).toBe(false);
      vb.powerOn();
      if (/corrupt/.test(vb.takeOutput())) wiped++;
      expect(firmwareIntact(vb, name)).toBe(true);
      run(bundle);
      run(`KV2.open(); KV2.recover();`);
      check(run, vb);
    }
    expect(wiped).toBe(0);
    return points.length;
  }

  it("puckjs: a payment that compacts, and a self-destruct", () => {
    // the first payment whose entry no longer fits the current page compacts into the other one
    const probe = board("puckjs");
    probe.run("KV2.open(); KV2.personalise(); var g = KV2.gen(), n = 0; while (KV2.gen() === g) KV2.pay(++n);");
    const n = probe.run("n") as number;
    const pay = campaign("puckjs", `KV2.personalise(); for (var i = 1; i < ${n}; i++) KV2.pay(i);`, `KV2.pay(${n})`, (run) => {
      expect(run("KV2.state()")).toBe(1);
      expect(run(`KV2.lastEntry(${n - 1})`)).toBe(true); // the committed payment before is never lost
      expect(run("KV2.failures()") as number).toBeGreaterThanOrEqual(0);
      expect(run("KV2.failures()") as number).toBeLessThanOrEqual(1); // spent or given back, never below
    });
    const wipe = campaign("puckjs", "KV2.personalise(); KV2.pay(1);", "KV2.wipe()", (run, vb) => {
      const s = run("KV2.state()");
      expect([1, 3]).toContain(s);
      if (s === 3) {
        const img = Buffer.from(vb.flash.snapshot());
        expect(img.includes(Buffer.from("k".repeat(137)))).toBe(false);
        expect(img.includes(Buffer.from("p".repeat(64)))).toBe(false);
        expect(img.includes(Buffer.from("S".repeat(32)))).toBe(false);
      }
    });
    console.log(`store v2 on-board campaign (puckjs, release-size bundle): ${pay} cut points in a compacting payment, ${wipe} in a self-destruct; 0 boot-check wipes, firmware intact after every cut`);
  }, 120_000);

  it("pico: a self-destruct across its Storage page and the getFree() sector", () => {
    const wipe = campaign("pico", "KV2.personalise(); KV2.pay(1);", "KV2.wipe()", (run, vb) => {
      const s = run("KV2.state()");
      expect([1, 3]).toContain(s);
      if (s === 3) {
        for (const img of [vb.flash.snapshot(), ...vb.freeFlash.map((r) => r.flash.snapshot())]) {
          expect(Buffer.from(img).includes(Buffer.from("k".repeat(137)))).toBe(false);
          expect(Buffer.from(img).includes(Buffer.from("S".repeat(32)))).toBe(false);
        }
      }
    });
    console.log(`store v2 on-board campaign (pico, release-size bundle): ${wipe} cut points in a self-destruct; 0 boot-check wipes, firmware intact after every cut`);
  }, 120_000);
});
