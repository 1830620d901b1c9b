// Storage benchmark (issues 5, 11, 14): the carrier on its page store (STORAGE.md) — flash bytes
// written and page erases per operation; page erases per 1,000 payments and per 1,000 verdict-counter
// updates, the page store (its own pages, v2-harness.ts) vs the naive Espruino way (Storage.writeJSON
// of the whole state per update, on EspruinoStorage over the profile's NorFlash next to a bundle),
// side by side; the busiest page's erases and the projected payments before any page reaches 10,000
// erases; and the metered device ms of counting a PIN verdict and of a payment's store work.
// `measureStorage()` is what tests and `npm run bench` call.
import { NorFlash } from "../board/src/flash.ts";
import { EspruinoStorage } from "../board/src/storage.ts";
import { makeRig, profileGeometry, BUNDLE_BYTES, type Rig } from "../firmware/test/store/harness.ts";
import { VERDICT_OK, VERDICT_WRONG } from "../firmware/src/security/verdict.ts";
import type { Row, Section } from "./sections/types.ts";
import { compile } from "../firmware/build/pipeline.ts";
import { VirtualBoard } from "../board/src/virtual-board.ts";
import { CostMeter } from "../board/src/cost/meter.ts";
import { loadProfile } from "../board/src/profiles.ts";
import { paymentsOnCarrier, paymentsNaive } from "../firmware/test/store/v2-payments.ts";

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

// Flash traffic of one carrier operation: the page store's word writes (4 B each) and page erases,
// plus Storage's (none: the carrier never writes Storage after the reservation).
function cost(rig: Rig, op: string, run: () => void): OpCost {
  const b = rig.flash.bytesWritten();
  const w = rig.bank.words + rig.flash.wordWrites();
  const e = rig.bank.erases + rig.flash.erases();
  const bw = rig.bank.words;
  run();
  return { op, bytesWritten: rig.flash.bytesWritten() - b + 4 * (rig.bank.words - bw), wordWrites: rig.bank.words + rig.flash.wordWrites() - w, pageErases: rig.bank.erases + rig.flash.erases() - e };
}

export function perOperation(board: "puckjs" | "pico" | "nrf52840" = "puckjs"): OpCost[] {
  const rig = makeRig({ profile: board });
  const out: OpCost[] = [];
  out.push(cost(rig, "ENROL (PERSONALISE's commit)", () => rig.carrier.enrol(MK)));
  out.push(cost(rig, "verdict OK (try spent + restored)", () => rig.carrier.countVerdict(() => VERDICT_OK)));
  out.push(cost(rig, "verdict WRONG", () => rig.carrier.countVerdict(() => VERDICT_WRONG)));
  rig.clock.ms += 60_000;
  rig.presence.armed = true;
  out.push(cost(rig, "WIPE (zeroise in place, compact, erase the other pages)", () => rig.carrier.wipe()));
  return out;
}

// The naive state a writeJSON design rewrites per update: same fields, hex-encoded (JSON has no bytes).
function naiveState(tries: number): Record<string, unknown> {
  const hex = (n: number, tag: number) => ((tag * 2654435761) >>> 0).toString(16).padStart(8, "0").repeat(n / 4).slice(0, n * 2);
  return { v: 2, state: 1, tries, ds: hex(32, 2), wmk: hex(32, 4) };
}

// The verdict counter: each OK verdict is 2 committed updates (try spent, try restored).
export function wear(board: "puckjs" | "pico" | "nrf52840", updates: number): WearResult {
  const geometry = profileGeometry(board);
  const rig = makeRig({ profile: board });
  rig.carrier.enrol(MK);
  const e0 = rig.bank.erases;
  const pages0 = rig.bank.pageErases();
  let done = 0;
  while (done < updates) {
    const status = rig.carrier.countVerdict(() => VERDICT_OK).status;
    if (status !== 0) throw new Error(`bench: verdict update failed with status ${status}`); // 0x20: STORAGE_FULL
    done += 2;
  }
  const storeErases = rig.bank.erases - e0;
  const storeBusiest = Math.max(...rig.bank.pageErases().map((c, i) => c - pages0[i]!));

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
    storeProjectedUpdates: storeBusiest === 0 ? Infinity : Math.floor((10_000 * updates) / storeBusiest),
    naiveProjectedUpdates: naiveBusiest === 0 ? Infinity : Math.floor((10_000 * updates) / naiveBusiest),
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
  // a stand-in bundle in Storage: the page store's reservation goes behind Storage's files
  const { run, ms } = await meteredFixture(board, "firmware/test/security/fixtures/on-board.ts", (vb) => vb.storage.write(".bootcde", "//" + "-".repeat(20000)));
  run("var k = KC.start(KC.defaults); if (k.enrol().status !== 0) throw new Error('enrol');");
  const okMs = ms("verdict OK", "k.countVerdict(KC.verdict(0))");
  const wrongMs = ms("verdict WRONG", "k.countVerdict(KC.verdict(1))");
  return { board, okMs, wrongMs };
}

// The page store's device ms on puckjs (cost model): one payment's store work and opening a page
// filled by 20 payments, the store compiled by the project pipeline (fixtures/pages-on-board.ts) next
// to a release-size bundle stand-in.
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
  note: "the carrier on its page store (each profile's store pages, STORAGE.md §1); payments: 100,000 through carrier.ts + app-store.ts in Node (firmware/test/store/v2-payments.ts), naive = Storage.writeJSON of the state twice per payment on EspruinoStorage over NorFlash next to a release-size bundle (STORAGE.md §8); device ms metered by the cost model (estimate)",
  async run(): Promise<Row[]> {
    const m = measureStorage();
    const rows: Row[] = [];
    for (const b of ["puckjs", "pico"]) {
      const v = await meteredVerdictMs(b);
      rows.push({ metric: `counting a PIN verdict OK / WRONG, device ms on ${b} (metered; was VERIFY_PIN with 28 stretching rounds)`, value: `${v.okMs.toFixed(0)} / ${v.wrongMs.toFixed(0)}` });
    }
    for (const o of m.perOperation) rows.push({ metric: `${o.op}: bytes written / page erases`, value: `${o.bytesWritten} B / ${o.pageErases}` });
    // Payments (STORAGE.md §8): 100,000 through the carrier's own modules on each profile's page
    // store vs writeJSON of the state twice per payment next to a release-size bundle.
    const v2ms = await meteredV2Ms("puckjs");
    rows.push({ metric: "page store on puckjs, device ms (metered): one payment's store work / opening a page of 20 payments at boot", value: `${v2ms.payMs.toFixed(0)} / ${v2ms.openMs.toFixed(0)}` });
    for (const b of ["puckjs", "pico", "nrf52840"] as const) {
      const v2 = paymentsOnCarrier(b, 100_000).wear;
      const naive = paymentsNaive(b, 2_000);
      const goal = b === "puckjs" ? (v2.projectedPayments >= 1e6 ? " (goal 10⁶: met)" : " (goal 10⁶: MISSED, STORAGE.md §8)") : "";
      rows.push({ metric: `payments, ${b} (${v2.pages} store pages): page erases per 1,000 payments, page store vs writeJSON (goal ≥ 20×)`, value: `${v2.erasesPer1000.toFixed(2)} vs ${naive.erasesPer1000.toFixed(0)} (${(naive.erasesPer1000 / v2.erasesPer1000).toFixed(0)}×)` });
      rows.push({ metric: `payments, ${b}: busiest page's erases in 100,000 payments; projected payments before any page reaches 10,000 erases (writeJSON)${goal}`, value: `${v2.busiestPageErases}; ${v2.projectedPayments.toLocaleString("en-US")} (${naive.projectedPayments.toLocaleString("en-US")})` });
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
