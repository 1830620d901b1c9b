// NFC tap budget (PROTOCOL.md §10): INFO, channel open and one authorization over the NFC mailbox,
// release bundle on a metered virtual nRF52840 through the host's mailbox transport (virtual
// reader). Per step: reader frames, retries, the device time of everything the firmware ran in that
// step converted per board, an estimate of the radio time, and how long the card must stay in the
// field (radio + device time, the user's decision excluded).
import { CarrierRig, CMD, enrolPin, payOrderBody, platformVerdict, ST, TEST_PIN_OPTIONS, transportIdentity, type Identity } from "../../firmware/test/applets/carrier-harness.ts";
import { Platform } from "../../host/src/platform/service.ts";
import { loadProfile } from "../../board/src/profiles.ts";
import type { CostCounts } from "../../board/src/cost/meter.ts";
import type { Row, Section } from "./types.ts";

const PIN = "482913";
const BOARDS = ["puckjs", "nrf52840"];
// ISO/IEC 14443-3A at 106 kbit/s: 9 bits per byte with parity, CRC_A on frames of bytes, and about
// 0.1 ms of frame delay and guard time per exchange (an estimate, not a measurement).
const BIT_MS = 1 / 106;
function airMs(frame: Uint8Array, answerBytes: number): number {
  const out = (frame.length + 2) * 9 * BIT_MS;
  const back = answerBytes === 0 ? 4 * BIT_MS : (answerBytes + 2) * 9 * BIT_MS;
  return out + back + 0.1;
}

export const nfcSection: Section = {
  name: "nfc",
  note: "cost model, NFC release bundle (keycarrier.nfc.js) on a metered virtual nRF52840 over the NFC mailbox (virtual reader); deviceMs = everything the firmware ran in the step (every NFCrx handler with the link work after its answer, the button decision for PAY), per board calibration; airMs = estimated radio time at 106 kbit/s; inFieldMs = airMs + deviceMs, how long the card must stay in the field (the user's decision not counted); wallMs = host time on the virtual board. Goal for a later step: a whole tap (channel open + PAY) under 500 ms device time",
  async run(): Promise<Row[]> {
    const rig = await CarrierRig.boot({ board: "nrf52840", nfc: true, meter: true });
    const platform = await Platform.open({ pin: TEST_PIN_OPTIONS });
    const rows: Row[] = [];
    try {
      const meter = rig.meter!;
      const reader = rig.reader!;
      const tr = rig.nfcTransport!;
      // radio time: every frame the reader sent and the size of what came back
      let air = 0;
      const transceive = rig.board.nfc.transceive;
      rig.board.nfc.transceive = async (f, o) => {
        const r = await transceive(f, o);
        air += airMs(f, r.ack4 !== undefined ? 0 : r.length);
        return r;
      };
      const step = async (name: string, fn: () => Promise<unknown>) => {
        const c0: CostCounts = meter.counts();
        const f0 = reader.frames, r0 = tr.stats.retries + tr.stats.polls, a0 = air, t0 = performance.now();
        await fn();
        const wallMs = performance.now() - t0;
        const c1 = meter.counts();
        const delta = diffCounts(c0, c1);
        for (const b of BOARDS) {
          const deviceMs = meter.estimate(loadProfile(b), delta).ms;
          rows.push({ step: name, board: b, frames: reader.frames - f0, retriesAndPolls: tr.stats.retries + tr.stats.polls - r0, deviceMs: round(deviceMs), airMs: round(air - a0), inFieldMs: round(air - a0 + deviceMs), wallMs: round(wallMs) });
        }
      };
      await step("INFO", () => rig.info());
      const carrierId = platform.issueCarrier().carrierId;
      const keys = platform.carrierKeys(carrierId);
      const merchantId = platform.registerMerchant({ name: "Bench kiosk" }).merchantId;
      const tch = await rig.openChannel(transportIdentity(rig.serial));
      const perso = await rig.inner(tch, CMD.PERSONALISE, new Map<number, Uint8Array | number | string>([
        [1, Buffer.from(carrierId, "hex")], [2, new TextEncoder().encode("KC-BENCH")], [3, keys.channelKey], [4, keys.cryptogramKey], [5, 500_000],
      ]));
      if (perso.status !== ST.OK) throw new Error(`bench nfc: PERSONALISE status ${perso.status}`);
      enrolPin(platform, carrierId, PIN);
      const identity: Identity = { carrierId: Buffer.from(carrierId, "hex"), platformId: new TextEncoder().encode("KC-BENCH"), channelKey: keys.channelKey };
      let ch = await rig.openChannel(identity);
      await step("channel open (OPEN + CONFIRM)", async () => { ch = await rig.openChannel(identity); });
      const order = platform.createOrder({ code: platform.issuePaymentCode({ merchantId, amount: 1250, currency: "EUR" }).code });
      // online PIN: the platform's verdict (host ↔ platform, no carrier time) is fetched before the
      // step; the step is the one PAY carrying it, as on a tap
      const body = payOrderBody(order.cryptogramFields);
      const verdict = platformVerdict(platform, rig, ch, carrierId, body, PIN);
      await step("PAY (one authorization)", async () => {
        const r = await rig.pay(ch, body, verdict);
        if (r.status !== ST.OK) throw new Error(`bench nfc: PAY status ${r.status}`);
      });
      // the tap a payment needs: channel open + PAY
      for (const b of BOARDS) {
        const parts = rows.filter((r) => r["board"] === b && r["step"] !== "INFO");
        const sum = (k: string) => round(parts.reduce((n, r) => n + (r[k] as number), 0));
        rows.push({ step: "= tap: channel open + PAY", board: b, frames: sum("frames"), retriesAndPolls: sum("retriesAndPolls"), deviceMs: sum("deviceMs"), airMs: sum("airMs"), inFieldMs: sum("inFieldMs"), wallMs: sum("wallMs") });
      }
    } finally {
      platform.close();
      rig.board.dispose();
    }
    return rows;
  },
};

function round(n: number): number {
  return Math.round(n * 10) / 10;
}

function diffCounts(a: CostCounts, b: CostCounts): CostCounts {
  const out = { ...b, native: {} as CostCounts["native"] } as CostCounts;
  for (const k of Object.keys(b) as (keyof CostCounts)[]) {
    if (typeof b[k] === "number") (out as unknown as Record<string, number>)[k] = (b[k] as number) - ((a[k] as number) ?? 0);
  }
  for (const [kind, t] of Object.entries(b.native)) {
    const p = a.native[kind] ?? { calls: 0, bytes: 0, units: 0 };
    out.native[kind] = { calls: t.calls - p.calls, bytes: t.bytes - p.bytes, units: t.units - p.units };
  }
  return out;
}
