// JsVars per board pool, counted by the metered virtual board the way Espruino 2v29 counts them
// (board/docs/cost-model.md "JsVars": function instances, scopes, closures, strings, buffers,
// builtins; checked against the real interpreter). For each pool: a blank carrier's boot, INFO and
// CHANNEL_OPEN, the personalisation's peak, then a personalised carrier's boot, INFO, CHANNEL_OPEN and
// PAY: vars after each step, the peak sampled while it ran, and whether the board ran out of memory
// (OUT OF MEMORY, as Espruino). The Puck.js runs as shipped: no USB, the host talks over NFC (one
// device link; a USB stand-in would add a second link's ~80 vars). The personalisation is measured on
// a pool with room and the same var layout (it does not fit the Puck.js today: issue #12).
import { CarrierRig, payOrderBody, platformVerdict, transportIdentity } from "../../firmware/test/applets/carrier-harness.ts";
import { profileFor } from "../../firmware/test/store/lifecycle.ts";
import { Platform } from "../../host/src/platform/service.ts";
import { VirtualBoard } from "../../board/src/virtual-board.ts";
import { CostMeter } from "../../board/src/cost/meter.ts";
import type { BoardProfile } from "../../board/src/profiles.ts";
import { bundleFor, personaliseFromPlatform } from "../context.ts";
import type { Row, Section } from "./types.ts";
import { existsSync, readFileSync } from "node:fs";

const PIN = "482913";
/** Counter hits between memory samples while a step runs (finer than the board's default, to catch peaks). */
const PEAK_SAMPLE_HITS = 10;
/**
 * What the real 2v29 interpreter showed for the same steps: the committed calibration measurements
 * (board/calibration/real-2v29-<pool>.json, 2,630 and 5,100-var Linux builds), taken on the bundle
 * named there — the calibrated bundle, which may differ from the bundle this bench boots.
 */
const REAL_STEPS: Record<string, string> = {
  "blank: boot": "boot (blank)", "blank: INFO": "INFO (blank)", "personalised: boot": "boot (personalised)",
  "personalised: INFO": "INFO (personalised)", "personalised: CHANNEL_OPEN": "CHANNEL_OPEN (OPEN+CONFIRM)", "personalised: PAY": "PAY request",
};
interface RealStep { name: string; ok: boolean; vars?: number; peak?: number; errorFlags?: string[] }
function realFigures(pool: string): Record<string, string> {
  const file = new URL(`../../board/calibration/real-2v29-${pool}.json`, import.meta.url);
  if (!existsSync(file)) return {};
  const data = JSON.parse(readFileSync(file, "utf8")) as { firmware: { steps: RealStep[] } };
  const out: Record<string, string> = {};
  for (const [stepName, realName] of Object.entries(REAL_STEPS)) {
    const r = data.firmware.steps.find((x) => x.name === realName && x.vars !== undefined);
    if (!r) continue;
    out[stepName] = (r.errorFlags ?? []).includes("MEMORY") ? `OUT OF MEMORY (peak ${r.peak})` : `${r.vars} after, peak ${r.peak}`;
  }
  return out;
}
const REAL: Record<string, Record<string, string>> = { puckjs: realFigures("puckjs"), pico: realFigures("pico") };

const withPool = (p: BoardProfile, count: number): BoardProfile => ({ ...p, vars: { ...p.vars, count } });
/** The largest pool with the same var layout as `count` (board/src/cost/vars.ts varLayout): same counts, no out of memory. */
const roomyPool = (count: number): number => (count <= 4095 ? 4095 : count <= 8191 ? 8191 : 16383);

interface StepResult { vars: number | null; peak: number; outcome: string }

async function step(board: () => VirtualBoard, run: () => Promise<unknown>): Promise<StepResult> {
  const b = board();
  const before = b.costEvents().length;
  b.resetMemoryPeak(PEAK_SAMPLE_HITS);
  let outcome = "ok";
  try { await run(); } catch (e) { outcome = `failed: ${String((e as Error).message ?? e).slice(0, 60)}`; }
  const events = board().costEvents().slice(before).filter((e) => e.kind === "out-of-memory");
  if (events.length) outcome = "OUT OF MEMORY";
  return { vars: board().memoryEstimate().total, peak: board().memoryPeak(), outcome };
}

function bootOnly(profile: BoardProfile, image?: Uint8Array): StepResult {
  const board = new VirtualBoard({ board: profile, seed: 9, cost: new CostMeter(), ...(image ? { flashImage: image } : {}) });
  try {
    if (!image) board.storage.write(".bootcde", bundleFor(profile));
    board.resetMemoryPeak(PEAK_SAMPLE_HITS);
    board.powerOn();
    board.runUntilIdle(5_000);
    const oom = board.costEvents().some((e) => e.kind === "out-of-memory");
    return { vars: board.memoryEstimate().total, peak: board.memoryPeak(), outcome: oom ? "OUT OF MEMORY" : "ok" };
  } finally {
    board.dispose();
  }
}

export async function memoryRows(): Promise<Row[]> {
  const rows: Row[] = [];
  const platform = await Platform.open({});
  try {
    for (const id of ["puckjs", "pico", "nrf52840"]) {
      // the Puck.js as shipped (NFC, no USB); the others over USB
      const overNfc = id === "puckjs";
      const profile = profileFor(id, !overNfc);
      const link = overNfc ? { nfc: true } : { nfcBundle: profile.firmware };
      const pool = profile.vars.count;
      const push = (stepName: string, r: StepResult) => rows.push({
        board: id, pool, step: stepName, vars: r.vars, pctOfPool: r.vars === null ? null : Math.round((r.vars / pool) * 1000) / 10,
        peak: r.peak || null, peakPct: r.peak ? Math.round((r.peak / pool) * 1000) / 10 : null, outcome: r.outcome, real: REAL[id]?.[stepName] ?? "",
      });
      push("blank: boot", bootOnly(profile));
      // blank carrier: INFO and CHANNEL_OPEN (the transport channel a personalisation starts with)
      const rig = await CarrierRig.boot({ board: profile, meter: true, bootcde: true, ...link }).catch(() => null);
      if (rig) {
        try {
          push("blank: INFO", await step(() => rig.board, () => rig.info()));
          push("blank: CHANNEL_OPEN", await step(() => rig.board, () => rig.openChannel(transportIdentity(rig.serial))));
        } finally { rig.board.dispose(); }
      } else push("blank: INFO", { vars: null, peak: 0, outcome: "OUT OF MEMORY (connecting)" });

      // personalised: personalise on the same flash geometry and var layout with room to spare (its
      // peak is a row of its own), then power that flash up on this pool
      const big = await CarrierRig.boot({ board: withPool(profile, roomyPool(pool)), meter: true, bootcde: true, ...link });
      let ids!: Awaited<ReturnType<typeof personaliseFromPlatform>>;
      const perso = await step(() => big.board, async () => { ids = await personaliseFromPlatform(big, platform, PIN); });
      push(`blank: personalisation (pool ${roomyPool(pool)})`, { ...perso, outcome: perso.peak > pool ? `peak over this board's ${pool}` : perso.outcome });
      const image = big.board.flash.snapshot();
      big.board.dispose();
      push("personalised: boot", bootOnly(profile, image));
      const prig = await CarrierRig.boot({ board: profile, meter: true, bootcde: true, flashImage: image, ...link }).catch(() => null);
      if (!prig) { push("personalised: INFO", { vars: null, peak: 0, outcome: "OUT OF MEMORY (the host's first INFO got no reply)" }); continue; }
      try {
        push("personalised: INFO", await step(() => prig.board, () => prig.info()));
        let ch: Awaited<ReturnType<CarrierRig["openChannel"]>> | undefined;
        push("personalised: CHANNEL_OPEN", await step(() => prig.board, async () => { ch = await prig.openChannel({ carrierId: ids.cid, platformId: ids.pid, channelKey: ids.keys.channelKey }); }));
        if (ch) {
          const merchant = platform.registerMerchant({ name: `Bench ${id}` }); // merchant names are unique
          const order = platform.createOrder({ code: platform.issuePaymentCode({ merchantId: merchant.merchantId, amount: 1234, currency: "EUR" }).code });
          const channel = ch;
          const body = payOrderBody(order.cryptogramFields);
          // the online PIN's verdict, fetched from the platform before the step (host work, not the carrier's)
          const verdict = platformVerdict(platform, prig, channel, Buffer.from(ids.cid).toString("hex"), body, PIN);
          push("personalised: PAY", await step(() => prig.board, async () => {
            const r = await prig.pay(channel, body, verdict);
            if (r.status !== 0) throw new Error(`PAY status ${r.status}`);
          }));
        }
      } finally { prig.board.dispose(); }
    }
  } finally {
    platform.close();
  }
  return rows;
}

export const memorySection: Section = {
  name: "memory",
  note: "vars counted by the metered virtual board as Espruino 2v29 counts them (cost-model.md \"JsVars\"; rules checked against the real interpreter, within 5% of its boot figures). vars = after the step (GC'd), peak = highest sample while it ran (every 10 counter hits), real = the real interpreter on the calibrated bundle (board/calibration/real-2v29-*.json; the bench boots today's bundle for each board). puckjs: as shipped, NFC only (the real column ran over a USB stand-in: two links). personalisation: peak on a pool of the same layout with room (pctOfPool against this board's pool)",
  run: memoryRows,
};
