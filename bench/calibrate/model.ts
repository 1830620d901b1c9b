// The model side of the calibration: what the virtual board (board/src) itself says for the same
// program or step. This is the ONE place that couples the tool to the cost model (board/src/cost:
// vars.ts is being rewritten); everything else compares numbers.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { VirtualBoard } from "../../board/src/virtual-board.ts";
import { CostMeter } from "../../board/src/cost/meter.ts";
import { loadProfile, type BoardProfile } from "../../board/src/profiles.ts";
import { payOrderBody, platformVerdict, type CarrierRig } from "../../firmware/test/applets/carrier-harness.ts";
import { Platform } from "../../host/src/platform/service.ts";
import { personaliseFromPlatform, ROOT } from "../context.ts";
import { parseProbeOutput, type ProbeResult } from "./parse.ts";
import { bootBundle } from "./fixture.ts";

/** The conversion the model states (board/docs/cost-model.md): ~1.25 cycles per instruction. */
export const CYCLES_PER_INSTRUCTION = 1.25;

export interface ModelStep { name: string; vars: number; ms: number; instructions: number; ok: boolean; note?: string }
export interface ModelFigures { board: string; probes: ProbeResult[]; steps: ModelStep[]; mhz: number }

export const STEP_NAMES = ["boot (blank)", "INFO (blank)", "boot (personalised)", "INFO (personalised)", "CHANNEL_OPEN (OPEN+CONFIRM)", "PAY request", "PAY press → reply"] as const;

const PIN = "482913";
// Entries of the firmware's own work (virtual-board cost scopes, board/docs/cost-model.md).
const WORK = new Set(["boot", "evaluate", "USB.data", "watch", "timer"]);

/** The profile with a USB port: the Linux interpreter's console/USB is stdin/stdout on every pool. */
function withUsb(board: string): BoardProfile {
  const p = loadProfile(board);
  return { ...p, peripherals: { ...p.peripherals, usb: true } };
}

/**
 * The virtual board's own figures for `board` ("puckjs" | "pico"): the probe program's output (its
 * process.memory() deltas) and, per firmware step, vars in use after it (memoryEstimate), device ms
 * (cost model) and the same ms as instructions at CYCLES_PER_INSTRUCTION and the profile's clock.
 * `bundle`: the firmware the real run measured (its committed fixture, bench/calibrate/fixture.ts),
 * run from `.bootcde`; required for the firmware part.
 */
export async function modelFigures(board: string, parts: { probes: boolean; firmware: boolean; bundle?: string; chunks?: readonly { storageName: string; code: string }[] }): Promise<ModelFigures> {
  const profile = withUsb(board);
  const mhz = profile.cpu.mhz;
  const toInstructions = (ms: number): number => Math.round((ms * 1000 * mhz) / CYCLES_PER_INSTRUCTION);
  const out: ModelFigures = { board, probes: [], steps: [], mhz };

  if (parts.probes) {
    const vb = new VirtualBoard({ board: profile, seed: 3, cost: new CostMeter() });
    vb.storage.write(".bootcde", readFileSync(join(ROOT, "board", "calibration", "probes.js"), "latin1"));
    vb.powerOn();
    vb.runUntilIdle(5_000);
    out.probes = parseProbeOutput(vb.transcript()).probes;
    vb.dispose();
  }
  if (!parts.firmware) return out;
  const bundle = parts.bundle;
  if (bundle === undefined) throw new Error("modelFigures: the firmware part needs the bundle the real run measured");

  const platform = await Platform.open({});
  const chunks = parts.chunks ?? [];
  let rig = await bootBundle(bundle, { board: profile, meter: true, chunks });
  try {
    const stepOf = async (name: string, run: () => Promise<unknown>, labels = WORK): Promise<void> => {
      const meter = rig.meter!;
      const from = meter.scopes.length;
      let ok = true;
      let note: string | undefined;
      try { await run(); } catch (e) { ok = false; note = (e as Error).message.split("\n")[0]; }
      let ms = 0;
      for (const s of meter.scopes.slice(from)) if (labels.has(s.label)) ms += meter.estimate(profile, s.counts).ms;
      out.steps.push({ name, vars: rig.board.memoryEstimate().total, ms, instructions: toInstructions(ms), ok, ...(note ? { note } : {}) });
    };
    const bootStep = (name: string): void => {
      const meter = rig.meter!;
      let ms = 0;
      for (const s of meter.scopes) if (s.label === "boot") ms += meter.estimate(profile, s.counts).ms;
      out.steps.push({ name, vars: rig.board.memoryEstimate().total, ms, instructions: toInstructions(ms), ok: true });
    };
    bootStep("boot (blank)");
    await stepOf("INFO (blank)", () => rig.info());
    let personalised: Awaited<ReturnType<typeof personaliseFromPlatform>>;
    try {
      personalised = await personaliseFromPlatform(rig, platform, PIN);
    } catch {
      // Out of memory on this pool: personalise on the same flash geometry with a bigger pool, as the
      // real run does with --personalise-with, then measure the personalised steps on this pool.
      rig.board.dispose();
      rig = await bootBundle(bundle, { board: { ...profile, vars: { ...profile.vars, count: 12_500 } }, chunks });
      personalised = await personaliseFromPlatform(rig, platform, PIN);
    }
    const { cid, pid, keys } = personalised;
    const image = rig.board.flash.snapshot();
    rig.board.dispose();
    rig = await bootBundle(bundle, { board: profile, meter: true, flashImage: image });
    bootStep("boot (personalised)");
    await stepOf("INFO (personalised)", () => rig.info());
    let channel: Awaited<ReturnType<CarrierRig["openChannel"]>> | undefined;
    await stepOf("CHANNEL_OPEN (OPEN+CONFIRM)", async () => { channel = await rig.openChannel({ carrierId: cid, platformId: pid, channelKey: keys.channelKey }); });
    const merchant = platform.registerMerchant({ name: "Calibration" });
    const code = platform.issuePaymentCode({ merchantId: merchant.merchantId, amount: 1234, currency: "EUR" });
    const order = payOrderBody(platform.createOrder({ code: code.code }).cryptogramFields);
    // PAY: the request (USB.data) and the press → reply (the button's watch callback and its timers).
    const meter = rig.meter!;
    const from = meter.scopes.length;
    let ok = true;
    let note: string | undefined;
    try {
      // the online PIN (host → platform, not metered: it is not the carrier's work), then PAY with its verdict
      const verdict = platformVerdict(platform, rig, channel!, Buffer.from(cid).toString("hex"), order, PIN);
      const r = await rig.pay(channel!, order, verdict);
      if (r.status !== 0) { ok = false; note = `PAY status ${r.status}`; }
    } catch (e) { ok = false; note = (e as Error).message.split("\n")[0]; }
    let req = 0;
    let press = 0;
    for (const s of meter.scopes.slice(from)) {
      if (s.label === "USB.data") req += meter.estimate(profile, s.counts).ms;
      else if (s.label === "watch" || s.label === "timer") press += meter.estimate(profile, s.counts).ms;
    }
    const vars = rig.board.memoryEstimate().total;
    out.steps.push({ name: "PAY request", vars, ms: req, instructions: toInstructions(req), ok, ...(note ? { note } : {}) });
    out.steps.push({ name: "PAY press → reply", vars, ms: press, instructions: toInstructions(press), ok, ...(note ? { note } : {}) });
  } finally {
    rig.board.dispose();
    platform.close();
  }
  return out;
}
