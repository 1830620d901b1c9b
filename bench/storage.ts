// Storage/PIN benchmark (issue 5): flash bytes written and page erases per operation, page erases
// per 1,000 committed updates of this store vs the naive Espruino way (Storage.writeJSON of the
// whole state per update), both on EspruinoStorage over the same NorFlash geometry, side by side;
// the projected updates before the busiest page reaches its erase endurance; and VERIFY_PIN device
// ms from the profile's cost constants. `measureStorage()` is what tests and `npm run bench` call.
import { readFileSync } from "node:fs";
import { NorFlash } from "../board/src/flash.ts";
import { EspruinoStorage } from "../board/src/storage.ts";
import { makeRig, profileGeometry, BUNDLE_BYTES, type Rig } from "../firmware/test/store/harness.ts";
import { DEFAULT_CONFIG } from "../firmware/src/security/carrier.ts";
import { STRETCH_PAD_BYTES } from "../firmware/src/security/pin.ts";
import type { Row, Section } from "./sections/types.ts";
import { compile } from "../firmware/build/pipeline.ts";
import { VirtualBoard } from "../board/src/virtual-board.ts";
import { CostMeter } from "../board/src/cost/meter.ts";
import { unitCostsFor } from "../board/src/cost/calibration.ts";
import { loadProfile } from "../board/src/profiles.ts";

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
export interface DeviceMs { board: string; iterations: number; verifyMs: number; perRoundMs: number }

const PIN = "482913";
const WRONG = "000000";

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
  out.push(cost(rig, "SET_PIN", () => rig.carrier.setPin(PIN)));
  out.push(cost(rig, "VERIFY_PIN right", () => rig.carrier.verifyPin(PIN)));
  out.push(cost(rig, "VERIFY_PIN wrong", () => rig.carrier.verifyPin(WRONG)));
  rig.clock.ms += 60_000;
  out.push(cost(rig, "CHANGE_PIN", () => rig.carrier.changePin(PIN, "135790")));
  rig.presence.armed = true;
  out.push(cost(rig, "WIPE (incl. purge compaction)", () => rig.carrier.wipe()));
  return out;
}

// The naive state a writeJSON design rewrites per update: same fields, hex-encoded (JSON has no bytes).
function naiveState(tries: number, pinTag: number): Record<string, unknown> {
  const hex = (n: number, tag: number) => ((tag * 2654435761) >>> 0).toString(16).padStart(8, "0").repeat(n / 4).slice(0, n * 2);
  return { v: 1, state: 1, tries, it: DEFAULT_CONFIG.pinIterations, salt: hex(16, 1), ds: hex(32, 2), ver: hex(32, pinTag), wmk: hex(32, pinTag + 1) };
}

// kind "pin": each VERIFY_PIN right is 2 committed updates (try spent, try restored);
// kind "record": each CHANGE_PIN is 1 committed update of a 115-byte record.
export function wear(board: string, kind: "pin" | "record", updates: number): WearResult {
  const geometry = profileGeometry(board);
  const rig = makeRig({ geometry });
  rig.carrier.setPin(PIN);
  const e0 = rig.flash.erases();
  const pages0 = rig.flash.eraseCounts();
  let pin = PIN;
  let done = 0;
  while (done < updates) {
    let status: number;
    if (kind === "pin") status = rig.carrier.verifyPin(pin).status;
    else {
      const next = pin === PIN ? "135790" : PIN;
      status = rig.carrier.changePin(pin, next).status;
      if (status === 0) pin = next;
    }
    if (status === 0x20) {
      // STORAGE_FULL: the platform runs the maintenance step when idle, then the host retries
      if (!rig.carrier.maintain()) throw new Error("bench: storage full and maintenance reclaimed nothing");
      continue;
    }
    if (status !== 0) throw new Error(`bench: ${kind} update failed with status ${status}`);
    done += kind === "pin" ? 2 : 1;
    if (done % 200 === 0) rig.carrier.maintain(); // idle/boot maintenance, compacts only below the reserve
  }
  const storeErases = rig.flash.erases() - e0;
  const storeBusiest = Math.max(...rig.flash.eraseCounts().map((c, i) => c - pages0[i]!));

  const flash = new NorFlash(geometry);
  const storage = new EspruinoStorage(flash);
  storage.write(".bootcde", "x".repeat(BUNDLE_BYTES));
  storage.writeJSON("state", naiveState(10, 3));
  const n0 = flash.erases();
  for (let i = 0; i < updates; i++) storage.writeJSON("state", kind === "pin" ? naiveState(i % 2 === 0 ? 9 : 10, 3) : naiveState(10, 3 + (i % 2) * 7));
  const naiveErases = flash.erases() - n0;
  const naiveBusiest = Math.max(...flash.eraseCounts());

  const per1000 = (x: number) => (x * 1000) / updates;
  return {
    workload: board + ", " + (kind === "pin" ? "PIN try counter (VERIFY_PIN right = spend + restore)" : "record rewrite (CHANGE_PIN, 115 B record)"),
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

// VERIFY_PIN device time from the profile's cost constants (board/docs/cost-model.md): each
// stretching round is one native SHA-256 over 32 + STRETCH_PAD_BYTES bytes, one E.toString of its
// 32-byte result and ~8 statements of loop and port calls; the rest of the command (counter
// read/write, 4 more hashes, AES unwrap, ~120 statements) is a fixed part. A closed-form estimate;
// firmware/test/security/on-board.test.ts meters the compiled code on the VirtualBoard instead.
export function verifyDeviceMs(board: string, iterations = DEFAULT_CONFIG.pinIterations): DeviceMs {
  const p = JSON.parse(readFileSync(new URL(`../board/boards/${board}.json`, import.meta.url), "utf8"));
  const u = unitCostsFor(p); // the recalibrated model (board/docs/cost-model.md "Calibration")
  const input = 32 + STRETCH_PAD_BYTES;
  const blocks = Math.ceil((input + 9) / 64);
  // SHA-256 of the round's input string (not flat: +75 instructions per byte), the join that builds
  // it (175 per byte copied), E.toString of the 32-byte digest, ~8 statements
  const perRoundUs = u.native.sha256FixedUs + blocks * u.native.sha256PerBlockUs + input * u.sha256PerNonFlatByteUs +
    input * u.concatPerByteUs + u.native.allocatingFixedUs + 32 * 2 * u.usPerInstruction + 8 * u.statementUs;
  const fixedUs = 5 * (u.native.sha256FixedUs + 2 * u.native.sha256PerBlockUs + u.native.allocatingFixedUs) +
    2 * (u.native.aesFixedUs + u.native.aesPerBlockUs) + 120 * u.statementUs;
  return { board, iterations, perRoundMs: perRoundUs / 1000, verifyMs: (iterations * perRoundUs + fixedUs) / 1000 };
}

// VERIFY_PIN right/wrong device ms metered by the cost model: the store and security modules are
// compiled by the project pipeline (firmware/test/security/fixtures/on-board.ts wires them to
// Espruino's Storage and crypto) and run on the VirtualBoard of `board`.
export async function meteredVerifyMs(board = "puckjs"): Promise<{ board: string; rounds: number; rightMs: number; wrongMs: number }> {
  const bundle = (await compile({ entry: "firmware/test/security/fixtures/on-board.ts", minify: true })).code;
  const meter = new CostMeter();
  const vb = new VirtualBoard({ board, cost: meter });
  vb.powerOn();
  meter.attachFlash(vb.flash);
  const run = (src: string) => {
    const r = vb.evaluate(meter.prepare(src, "bench"));
    if (!r.ok) throw r.error;
    return r.value;
  };
  run(bundle);
  run(`var k = KC.start(KC.defaults); k.setPin('${PIN}');`);
  const profile = loadProfile(board);
  const ms = (label: string, src: string) => meter.estimate(profile, meter.measure(label, () => run(src)).record.counts).ms;
  const rightMs = ms("verify right", `k.verifyPin('${PIN}')`);
  const wrongMs = ms("verify wrong", `k.verifyPin('${WRONG}')`);
  return { board, rounds: run("KC.defaults.pinIterations") as number, rightMs, wrongMs };
}

export interface StorageMetrics { perOperation: OpCost[]; wear: WearResult[]; deviceMs: DeviceMs[] }

export function measureStorage(opts: { updates?: number } = {}): StorageMetrics {
  const updates = opts.updates ?? 40000;
  return {
    perOperation: perOperation("puckjs"),
    wear: [wear("puckjs", "pin", updates), wear("puckjs", "record", 2000), wear("pico", "pin", updates)],
    deviceMs: ["puckjs", "pico", "nrf52840"].map((b) => verifyDeviceMs(b)),
  };
}

export const section: Section = {
  name: "storage",
  note: "flash effects measured on EspruinoStorage over NorFlash (puckjs/pico geometry, 5 KB stand-in bundle); VERIFY_PIN ms from cost constants (estimate)",
  async run(): Promise<Row[]> {
    const m = measureStorage();
    const rows: Row[] = [];
    for (const b of ["puckjs", "pico"]) {
      const v = await meteredVerifyMs(b);
      rows.push({ metric: `VERIFY_PIN right / wrong, device ms on ${b} (metered, ${v.rounds} rounds)`, value: `${v.rightMs.toFixed(0)} / ${v.wrongMs.toFixed(0)}` });
    }
    for (const o of m.perOperation) rows.push({ metric: `${o.op}: bytes written / page erases`, value: `${o.bytesWritten} B / ${o.pageErases}` });
    for (const w of m.wear) {
      rows.push({ metric: `${w.workload}: page erases per 1,000 updates, store vs writeJSON`, value: `${w.storeErasesPer1000.toFixed(2)} vs ${w.naiveErasesPer1000.toFixed(1)} (${w.ratio === Infinity ? "∞" : w.ratio.toFixed(0)}×)` });
      rows.push({ metric: `${w.workload}: projected updates to endurance, store vs writeJSON`, value: `${w.storeProjectedUpdates} vs ${w.naiveProjectedUpdates}` });
    }
    for (const d of m.deviceMs) rows.push({ metric: `VERIFY_PIN device ms on ${d.board} (closed-form estimate, ${d.iterations} rounds)`, value: Number(d.verifyMs.toFixed(0)) });
    return rows;
  },
};

export default section;

if (import.meta.url === `file://${process.argv[1]}`) console.log(JSON.stringify(measureStorage(), null, 2));
