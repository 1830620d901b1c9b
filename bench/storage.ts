// Storage/verdict-counter benchmark (issue 5, issue 11): flash bytes written and page erases per
// operation, page erases per 1,000 committed updates of this store vs the naive Espruino way
// (Storage.writeJSON of the whole state per update), both on EspruinoStorage over the same NorFlash
// geometry, side by side; the projected updates before the busiest page reaches its erase
// endurance; and the metered device ms of counting a PIN verdict (the PIN itself is checked online
// by the platform: no stretching on the carrier). `measureStorage()` is what tests and `npm run bench` call.
import { NorFlash } from "../board/src/flash.ts";
import { EspruinoStorage } from "../board/src/storage.ts";
import { makeRig, profileGeometry, BUNDLE_BYTES, type Rig } from "../firmware/test/store/harness.ts";
import { VERDICT_OK, VERDICT_WRONG } from "../firmware/src/security/verdict.ts";
import type { Row, Section } from "./sections/types.ts";
import { compile } from "../firmware/build/pipeline.ts";
import { VirtualBoard } from "../board/src/virtual-board.ts";
import { CostMeter } from "../board/src/cost/meter.ts";
import { loadProfile } from "../board/src/profiles.ts";
import { paymentsOnStore, paymentsNaive } from "../firmware/test/store/v2-payments.ts";

export interface OpCost { op: string; bytesWritten: number; wordWrites: number; pageErases: number }
export interface WearResult {
  workload: string;
  updates: number;
  storeErasesPer1000: number;
  naiveErasesPer1000: number;
  ratio: number;
  storeBusiestPagePer1000: number;
  naiveBusiestPagePer1000: number;
  storeProjectedUpdates: number;
  naiveProjectedUpdates: number;
}
const MK = "M".repeat(32);

function cost(rig: Rig, op: string, run: () => void): OpCost {
  const b = rig.flash.bytesWritten();
  const w = rig.flash.wordWrites();
  const e = rig.flash.erases();
  run();
  return { op, bytesWritten: rig.flash.bytesWritten() - b, wordWrites: rig.flash.wordWrites() - w, pageErases: rig.flash.erases() - e };
}

export function perOperation(board = "puckjs"): OpCost[] {
  const rig = makeRig({ geometry: profileGeometry(board) });
  const out: OpCost[] = [];
  out.push(cost(rig, "ENROL (PERSONALISE's commit)", () => rig.carrier.enrol(MK)));
  out.push(cost(rig, "verdict OK (try spent + restored)", () => rig.carrier.countVerdict(() => VERDICT_OK)));
  out.push(cost(rig, "verdict WRONG", () => rig.carrier.countVerdict(() => VERDICT_WRONG)));
  rig.clock.ms += 60_000;
  rig.presence.armed = true;
  out.push(cost(rig, "WIPE (incl. purge compaction)", () => rig.carrier.wipe()));
  return out;
}

// The naive state a writeJSON design rewrites per update: same fields, hex-encoded (JSON has no bytes).
function naiveState(tries: number): Record<string, unknown> {
  const hex = (n: number, tag: number) => ((tag * 2654435761) >>> 0).toString(16).padStart(8, "0").repeat(n / 4).slice(0, n * 2);
  return { v: 2, state: 1, tries, ds: hex(32, 2), wmk: hex(32, 4) };
}

// The verdict counter: each OK verdict is 2 committed updates (try spent, try restored).
export function wear(board: string, updates: number): WearResult {
  const geometry = profileGeometry(board);
  const rig = makeRig({ geometry });
  rig.carrier.enrol(MK);
  const e0 = rig.flash.erases();
  const pages0 = rig.flash.eraseCounts();
  let done = 0;
  while (done < updates) {
    const status = rig.carrier.countVerdict(() => VERDICT_OK).status;
    if (status === 0x20) {
      // STORAGE_FULL: the platform runs the maintenance step when idle, then the host retries
      if (!rig.carrier.maintain()) throw new Error("bench: storage full and maintenance reclaimed nothing");
      continue;
    }
    if (status !== 0) throw new Error(`bench: verdict update failed with status ${status}`);
    done += 2;
    if (done % 200 === 0) rig.carrier.maintain(); // idle/boot maintenance, compacts only below the reserve
  }
  const storeErases = rig.flash.erases() - e0;
  const storeBusiest = Math.max(...rig.flash.eraseCounts().map((c, i) => c - pages0[i]!));

  const flash = new NorFlash(geometry);
  const storage = new EspruinoStorage(flash);
  storage.write(".bootcde", "x".repeat(BUNDLE_BYTES));
  storage.writeJSON("state", naiveState(10));
  const n0 = flash.erases();
  for (let i = 0; i < updates; i++) storage.writeJSON("state", naiveState(i % 2 === 0 ? 9 : 10));
  const naiveErases = flash.erases() - n0;
  const naiveBusiest = Math.max(...flash.eraseCounts());

  const per1000 = (x: number) => (x * 1000) / updates;
  return {
    workload: board + ", PIN-verdict try counter (an OK verdict = spend + restore)",
    updates,
    storeErasesPer1000: per1000(storeErases),
    naiveErasesPer1000: per1000(naiveErases),
    ratio: storeErases === 0 ? Infinity : naiveErases / storeErases,
    storeBusiestPagePer1000: per1000(storeBusiest),
    naiveBusiestPagePer1000: per1000(naiveBusiest),
    storeProjectedUpdates: storeBusiest === 0 ? Infinity : Math.floor((geometry.endurance * updates) / storeBusiest),
    naiveProjectedUpdates: naiveBusiest === 0 ? Infinity : Math.floor((geometry.endurance * updates) / naiveBusiest),
  };
}

// A firmware test fixture compiled by the project pipeline and run on a metered virtual board
// (`files` are laid out in Storage before power-on): run() evaluates on it, ms() estimates a step.
async function meteredFixture(board: string, entry: string, files?: (vb: VirtualBoard) => void): Promise<{ run: (src: string) => unknown; ms: (label: string, src: string) => number }> {
  const bundle = (await compile({ entry, minify: true })).code;
  const meter = new CostMeter();
  const vb = new VirtualBoard({ board, cost: meter });
  files?.(vb);
  vb.powerOn();
  meter.attachFlash(vb.flash);
  const run = (src: string): unknown => {
    const r = vb.evaluate(meter.prepare(src, "bench"));
    if (!r.ok) throw r.error;
    return r.value;
  };
  run(bundle);
  const profile = loadProfile(board);
  return { run, ms: (label, src) => meter.estimate(profile, meter.measure(label, () => run(src)).record.counts).ms };
}

// Counting one PIN verdict, device ms metered by the cost model: the store and security modules are
// compiled by the project pipeline (firmware/test/security/fixtures/on-board.ts wires them to
// Espruino's Storage and crypto) and run on the VirtualBoard of `board`. (It replaced VERIFY_PIN,
// ≈250 ms on puckjs with its 28 stretching rounds; the verdict's MAC check is part of PAY's cost,
// hil-tests/payment-cost.test.ts.)
export async function meteredVerdictMs(board = "puckjs"): Promise<{ board: string; okMs: number; wrongMs: number }> {
  const { run, ms } = await meteredFixture(board, "firmware/test/security/fixtures/on-board.ts");
  run("var k = KC.start(KC.defaults); k.enrol();");
  const okMs = ms("verdict OK", "k.countVerdict(KC.verdict(0))");
  const wrongMs = ms("verdict WRONG", "k.countVerdict(KC.verdict(1))");
  return { board, okMs, wrongMs };
}

// Store v2's device ms on puckjs (cost model): one payment's store work and opening a page filled by
// 20 payments, the store compiled by the project pipeline (fixtures/pages-on-board.ts) next to a
// release-size bundle stand-in.
export async function meteredV2Ms(board = "puckjs"): Promise<{ payMs: number; openMs: number }> {
  const { run, ms } = await meteredFixture(board, "firmware/test/store/fixtures/pages-on-board.ts", (vb) => {
    vb.storage.write(".bootcde", "/*" + "F".repeat(30_587) + "*/");
    vb.storage.write("kc.tk", "t".repeat(32));
    vb.storage.write(".boot0", "b".repeat(80));
  });
  run("KV2.open(); KV2.personalise(); for (var i = 1; i <= 20; i++) KV2.pay(i);");
  return { payMs: ms("v2 pay", "KV2.pay(21)"), openMs: ms("v2 open", "KV2.open()") };
}

export interface StorageMetrics { perOperation: OpCost[]; wear: WearResult[] }

export function measureStorage(opts: { updates?: number } = {}): StorageMetrics {
  const updates = opts.updates ?? 40000;
  return {
    perOperation: perOperation("puckjs"),
    wear: [wear("puckjs", updates), wear("pico", updates)],
  };
}

export const section: Section = {
  name: "storage",
  note: "flash effects measured on EspruinoStorage over NorFlash (puckjs/pico geometry, 5 KB stand-in bundle); counting a PIN verdict metered by the cost model (estimate); store v2 rows: 100,000 payments on each profile's page bank, naive writeJSON next to a release-size bundle (STORAGE.md §A8)",
  async run(): Promise<Row[]> {
    const m = measureStorage();
    const rows: Row[] = [];
    for (const b of ["puckjs", "pico"]) {
      const v = await meteredVerdictMs(b);
      rows.push({ metric: `counting a PIN verdict OK / WRONG, device ms on ${b} (metered; was VERIFY_PIN with 28 stretching rounds)`, value: `${v.okMs.toFixed(0)} / ${v.wrongMs.toFixed(0)}` });
    }
    for (const o of m.perOperation) rows.push({ metric: `${o.op}: bytes written / page erases`, value: `${o.bytesWritten} B / ${o.pageErases}` });
    // Store v2 (firmware/src/store/pages.ts, STORAGE.md §A8): 100,000 payments driven straight at the
    // store on each profile's page bank (not yet what the carrier runs: it is still on v1, above)
    // vs writeJSON of the state twice per payment next to a release-size bundle.
    const v2ms = await meteredV2Ms("puckjs");
    rows.push({ metric: "store v2 on puckjs, device ms (metered): one payment's store work / opening a page of 20 payments at boot", value: `${v2ms.payMs.toFixed(0)} / ${v2ms.openMs.toFixed(0)}` });
    for (const b of ["puckjs", "pico", "nrf52840"] as const) {
      const v2 = paymentsOnStore(b, 100_000).wear;
      const naive = paymentsNaive(b, 2_000);
      rows.push({ metric: `store v2, ${b} (${v2.pages} pages): page erases per 1,000 payments, v2 vs writeJSON`, value: `${v2.erasesPer1000.toFixed(2)} vs ${naive.erasesPer1000.toFixed(0)} (${(naive.erasesPer1000 / v2.erasesPer1000).toFixed(0)}×)` });
      rows.push({ metric: `store v2, ${b}: busiest page erases in 100,000 payments; projected payments before 10,000 erases (writeJSON)`, value: `${v2.busiestPageErases}; ${v2.projectedPayments.toLocaleString("en-US")} (${naive.projectedPayments.toLocaleString("en-US")})` });
    }
    for (const w of m.wear) {
      rows.push({ metric: `${w.workload}: page erases per 1,000 updates, store vs writeJSON`, value: `${w.storeErasesPer1000.toFixed(2)} vs ${w.naiveErasesPer1000.toFixed(1)} (${w.ratio === Infinity ? "∞" : w.ratio.toFixed(0)}×)` });
      rows.push({ metric: `${w.workload}: projected updates to endurance, store vs writeJSON`, value: `${w.storeProjectedUpdates} vs ${w.naiveProjectedUpdates}` });
    }
    return rows;
  },
};

export default section;

if (import.meta.url === `file://${process.argv[1]}`) console.log(JSON.stringify(measureStorage(), null, 2));
