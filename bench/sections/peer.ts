// One peer payment (docs/PEER.md, PROTOCOL.md §12), per side, with the cost model: two metered
// virtual nRF52840s running the full release bundle (keycarrier.full.js, the one with the peer
// applet), personalised by one in-process platform. Each side is one outer round trip to its own
// carrier: the command (checked, trusted UI started, reply deferred) and the user's press (the
// payee: nonce, R, seal; the payer: ATC + log commit, seal of the instruction, log head). Device ms
// are the counts converted with each profile's calibration; bytes are what crossed each carrier's
// USB wire (request + reply frames). "first" includes deriving K_peer's pads after boot. Memory rows:
// JsVars of a carrier running the full bundle from .bootcde (nrf52840, 12,500-var pool).
import { Platform } from "../../host/src/platform/service.ts";
import { inProcessPeerPlatform, payRequest, requestPayment } from "../../host/src/peer/flow.ts";
import { TEST_PIN_OPTIONS } from "../../firmware/test/applets/carrier-harness.ts";
import { answerNextAsk, PEER_PIN, peerCarrier, type PeerCarrier } from "../../hil-tests/peer-rig.ts";
import { boardProfiles } from "../context.ts";
import type { Row, Section } from "./types.ts";

type Counts = NonNullable<PeerCarrier["rig"]["meter"]> extends { scopes: Array<{ counts: infer C }> } ? C : never;
interface Step { side: string; step: string; request: Counts[]; button: Counts[]; wireBytes: number; c: PeerCarrier }

async function measure(c: PeerCarrier, side: string, step: string, run: () => Promise<unknown>): Promise<Step> {
  const meter = c.rig.meter!;
  meter.reset();
  const before = c.rig.wire.bytes;
  await run();
  const request = meter.scopes.filter((s) => s.label === "USB.data").map((s) => s.counts as Counts);
  const button = meter.scopes.filter((s) => s.label === "watch").map((s) => s.counts as Counts);
  return { side, step, request, button, wireBytes: c.rig.wire.bytes - before, c };
}

export async function peerRows(): Promise<Row[]> {
  const platform = await Platform.open({ pin: TEST_PIN_OPTIONS });
  const api = inProcessPeerPlatform(platform);
  const payee = await peerCarrier(platform, { meter: true });
  const payer = await peerCarrier(platform, { meter: true });
  try {
    const steps: Step[] = [];
    for (const when of ["first after boot", "steady"]) {
      let request = "";
      steps.push(await measure(payee, "payee", `PEER_REQUEST, ${when}`, async () => {
        answerNextAsk(payee.rig);
        request = (await requestPayment(payee.rig.kc, api, { amount: 1250, currency: "EUR" })).request;
      }));
      steps.push(await measure(payer, "payer", `PEER_PAY, ${when}`, async () => {
        answerNextAsk(payer.rig);
        const paid = await payRequest(payer.rig.kc, api, request, { pin: PEER_PIN, carrierId: payer.carrierId });
        if (paid.settlement.amount !== 1250) throw new Error("bench: the peer payment did not settle");
      }));
    }
    const rows: Row[] = [];
    // JsVars on the nrf52840 running the full bundle from .bootcde (as flashed): after each step
    // (GC'd) and the peak sampled while it ran.
    const mem = await peerMemory(platform, api);
    const round = (ms: number): number => Math.round(ms * 10) / 10;
    for (const profile of boardProfiles()) {
      for (const s of steps) {
        const meter = s.c.rig.meter!;
        const ms = (list: Counts[]) => list.reduce((sum, c) => sum + meter.estimate(profile, c as never).ms, 0);
        const requestMs = ms(s.request);
        const pressMs = ms(s.button);
        rows.push({
          board: profile.id, side: s.side, step: s.step, commandMs: round(requestMs), pressMs: round(pressMs), deviceMs: round(requestMs + pressMs),
          wireBytes: s.wireBytes, roundTrips: 1,
        });
      }
    }
    for (const m of mem) rows.push({ board: "nrf52840", side: m.side, step: `memory: ${m.step}`, vars: m.vars, peakVars: m.peak });
    return rows;
  } finally {
    payee.rig.board.dispose();
    payer.rig.board.dispose();
    platform.close();
  }
}

async function peerMemory(platform: Platform, api: ReturnType<typeof inProcessPeerPlatform>): Promise<Array<{ side: string; step: string; vars: number; peak: number | null }>> {
  const payee = await peerCarrier(platform, { meter: true, bootcde: true });
  const payer = await peerCarrier(platform, { meter: true, bootcde: true });
  const out: Array<{ side: string; step: string; vars: number; peak: number | null }> = [];
  const sample = async (c: PeerCarrier, side: string, step: string, run: () => Promise<unknown>) => {
    c.rig.board.resetMemoryPeak(10);
    await run();
    const peak = c.rig.board.memoryPeak();
    out.push({ side, step, vars: c.rig.board.memoryEstimate().total, peak: peak === 0 ? null : peak });
  };
  try {
    await sample(payee, "payee", "personalised, idle", async () => {});
    await sample(payer, "payer", "personalised, idle", async () => {});
    let request = "";
    await sample(payee, "payee", "after PEER_REQUEST", async () => {
      answerNextAsk(payee.rig);
      request = (await requestPayment(payee.rig.kc, api, { amount: 1250, currency: "EUR" })).request;
    });
    await sample(payer, "payer", "after PEER_PAY", async () => {
      answerNextAsk(payer.rig);
      await payRequest(payer.rig.kc, api, request, { pin: PEER_PIN, carrierId: payer.carrierId });
    });
    return out;
  } finally {
    payee.rig.board.dispose();
    payer.rig.board.dispose();
  }
}

export const peerSection: Section = {
  name: "peer",
  note: "One peer payment per side (docs/PEER.md): the payee's PEER_REQUEST and the payer's PEER_PAY, each one round trip to its carrier over USB, command + the user's press; nrf52840 runs keycarrier.full.js, the other rows convert the same counts with their calibration (the peer applet is only in the full bundle). The PIN and the sealed messages go host ↔ platform, not on the carriers' wires.",
  run: peerRows,
};
