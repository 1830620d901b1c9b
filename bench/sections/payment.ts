// One online authorization on the carrier (PROTOCOL.md §7.5), measured with the cost model: the
// release bundle runs on a metered virtual nRF52840 (USB), personalised through the transport
// session; then the channel open and the one PAY round trip are metered: the PAY request (order +
// PIN; checks, trusted UI started, reply deferred) and the user's press (PIN check, ATC + log commit,
// cryptogram, the sealed late reply), each with its own wire bytes. Device ms are the same counts converted with each profile's calibration (as the device
// section does for boards without USB); bytes and round trips are what crossed the USB wire.
import { CarrierRig, payOrderBody, platformVerdict } from "../../firmware/test/applets/carrier-harness.ts";
import { Platform } from "../../host/src/platform/service.ts";
import type { CborMap } from "../../host/src/codec.ts";
import type { CostBreakdown } from "../../board/src/cost/meter.ts";
import { boardProfiles, personaliseFromPlatform } from "../context.ts";
import type { Row, Section } from "./types.ts";

const PIN = "482913";

type Counts = ReturnType<NonNullable<CarrierRig["meter"]>["counts"]>;
type Kind = "request" | "button" | "timers" | "prepared";
interface Step { name: string; counts: Record<Kind, Counts | undefined>; wireBytes: number; roundTrips: number; counted: boolean }

/** Adds cost counts field by field (nested native tallies included). */
function addCounts(a: Counts | undefined, b: Counts): Counts {
  if (!a) return structuredClone(b);
  const add = (x: Record<string, unknown>, y: Record<string, unknown>): void => {
    for (const [k, v] of Object.entries(y)) {
      if (typeof v === "number") x[k] = ((x[k] as number | undefined) ?? 0) + v;
      else if (v && typeof v === "object") add((x[k] ??= {}) as Record<string, unknown>, v as Record<string, unknown>);
    }
  };
  add(a as unknown as Record<string, unknown>, b as unknown as Record<string, unknown>);
  return a;
}

// Event-loop entries by what they are (virtual-board cost scopes): the request handler runs in
// USB.data; the trusted UI's button in a setWatch callback; its LED blinking and the link's
// timeouts in timers, which the rig's virtual clock runs for up to 5 s after each request.
// Other labels (a harness's enclosing "usb request") wrap these and are skipped, not counted twice.
function kindOf(label: string): Kind | undefined {
  if (label === "USB.data") return "request";
  if (label === "watch") return "button";
  if (label === "timer") return "timers";
  return undefined;
}

/** The three largest parts of an estimate ("native 256 ms (SHA256 140), calls 120 ms, …"). */
function topParts(b: CostBreakdown): string {
  const parts = Object.entries(b as unknown as Record<string, unknown>).filter((kv): kv is [string, number] => typeof kv[1] === "number" && kv[1] > 0);
  const topNative = Object.entries(b.nativeByKind).sort((x, y) => y[1] - x[1])[0];
  return parts.sort((x, y) => y[1] - x[1]).slice(0, 3)
    .map(([k, v]) => `${k} ${v.toFixed(0)} ms${k === "native" && topNative ? ` (${topNative[0]} ${topNative[1].toFixed(0)})` : ""}`).join(", ");
}

export async function paymentRows(): Promise<Row[]> {
  const platform = await Platform.open({});
  const rig = await CarrierRig.boot({ board: "nrf52840", meter: true });
  try {
    const meter = rig.meter!;
    const { cid, pid, keys } = await personaliseFromPlatform(rig, platform, PIN);
    const merchant = platform.registerMerchant({ name: "Bench" });

    const steps: Step[] = [];
    // The timer scopes of a step in the order they ran (the first after a PAY request is the
    // preparation it leaves behind, checked below).
    let timerScopes: Counts[] = [];
    async function measure<T>(name: string, roundTrips: number, run: () => Promise<T>): Promise<T> {
      meter.reset();
      const before = rig.wire.bytes;
      const result = await run();
      const counts: Record<Kind, Counts | undefined> = { request: undefined, button: undefined, timers: undefined, prepared: undefined };
      timerScopes = [];
      for (const scope of meter.scopes) {
        const kind = kindOf(scope.label);
        if (kind) counts[kind] = addCounts(counts[kind], scope.counts);
        if (kind === "timers") timerScopes.push(scope.counts);
      }
      steps.push({ name, counts, wireBytes: rig.wire.bytes - before, roundTrips, counted: false });
      return result;
    }

    const channel = await measure("channel open (OPEN + CONFIRM)", 2, () => rig.openChannel({ carrierId: cid, platformId: pid, channelKey: keys.channelKey }));
    // One authorization: its request, the preparation while the user decides, its decision.
    async function authorize(label: string): Promise<void> {
      const code = platform.issuePaymentCode({ merchantId: merchant.merchantId, amount: 1234, currency: "EUR" });
      const order = platform.createOrder({ code: code.code });
      const orderBody: CborMap = payOrderBody(order.cryptogramFields);
      let requestBytes = 0;
      const payStart = rig.wire.bytes;
      // online PIN: host → platform (not the carrier's wire); PAY carries the platform's verdict
      const verdict = platformVerdict(platform, rig, channel, Buffer.from(cid).toString("hex"), orderBody, PIN);
      const auth = await measure("PAY", 1, () => rig.pay(channel, orderBody, verdict, () => {
        requestBytes = rig.wire.bytes - payStart;
        rig.press();
      }));
      if (auth.status !== 0) throw new Error(`bench: PAY failed with status ${auth.status}`);
      // The PAY request leaves one timer behind that prepares the authorization while the LEDs ask
      // the user (qr-payment.ts prepare()): the first timer to run, the only one that hashes.
      const prepared = timerScopes[0];
      if (!prepared || !prepared.native["SHA256"]) throw new Error("bench: the first timer after the PAY request is not the authorization's preparation");
      let otherTimers: Counts | undefined;
      for (const t of timerScopes.slice(1)) otherTimers = addCounts(otherTimers, t);
      // One round trip, two device entries: split the PAY step into its request and its decision.
      const paid = steps.pop()!;
      steps.push(
        { name: `${label}: PAY request (unwrap, order + verdict read, checks, trusted UI shown, reply deferred)`, counts: { request: paid.counts.request, button: undefined, timers: undefined, prepared: undefined }, wireBytes: requestBytes, roundTrips: 1, counted: true },
        { name: `${label}: prepared while the user decides (verdict MAC, cryptogram, log entry + chain hash; first after boot K_ac/K_pv pads): NOT counted, runs in the wait`, counts: { request: undefined, button: undefined, timers: undefined, prepared }, wireBytes: 0, roundTrips: 0, counted: false },
        { name: `${label}: press → verdict counted (try spent, MAC compared, try restored), ATC + log commit, sealed late reply`, counts: { request: undefined, button: paid.counts.button, timers: otherTimers, prepared: undefined }, wireBytes: paid.wireBytes - requestBytes, roundTrips: 0, counted: true },
      );
      const settled = platform.authorize({ orderId: order.orderId, carrierId: Buffer.from(cid).toString("hex"), atc: auth.body.get(1) as number, cryptogram: Buffer.from(auth.body.get(2) as Uint8Array).toString("hex") });
      if (settled.amount !== 1234) throw new Error("bench: the platform did not settle the measured authorization");
    }
    await authorize("first after boot");
    await authorize("second");

    const rows: Row[] = [];
    for (const profile of boardProfiles()) {
      const round = (ms: number): number => Math.round(ms * 10) / 10;
      const ms = (c: Counts | undefined): number => (c ? meter.estimate(profile, c).ms : 0);
      let auth = { ms: 0, bytes: 0, trips: 0 };
      for (const s of steps) {
        const own = s.counts.request ?? s.counts.button ?? s.counts.prepared;
        const e = own ? meter.estimate(profile, own) : undefined;
        // device time per authorization = the request's entry + the button's entry (PROTOCOL.md §7.5)
        const deviceMs = ms(s.counts.request) + ms(s.counts.button);
        rows.push({
          board: profile.id, step: s.name, deviceMs: round(s.counts.prepared ? ms(s.counts.prepared) : deviceMs), nativeMs: e ? round(e.breakdown.native) : 0,
          jsStatements: e ? e.counts.statements : 0, flashWordWrites: own ? own.flashWordWrites : 0,
          uiTimersMs: round(ms(s.counts.timers)), wireBytes: s.wireBytes, roundTrips: s.roundTrips,
          whereTimeGoes: e ? topParts(e.breakdown) : "",
        });
        if (!s.counted) continue;
        auth = { ms: auth.ms + deviceMs, bytes: auth.bytes + s.wireBytes, trips: auth.trips + s.roundTrips };
        if (s.counts.button) {
          const which = s.name.slice(0, s.name.indexOf(":"));
          rows.push({
            board: profile.id, step: `= authorization after the channel is open (${which})`, deviceMs: round(auth.ms), nativeMs: null,
            jsStatements: null, flashWordWrites: null, uiTimersMs: null, wireBytes: auth.bytes, roundTrips: auth.trips, whereTimeGoes: "request + press",
          });
          auth = { ms: 0, bytes: 0, trips: 0 };
        }
      }
    }
    return rows;
  } finally {
    rig.board.dispose();
    platform.close();
  }
}

export const paymentSection: Section = {
  name: "payment",
  note: "cost model, release bundle on a metered virtual nRF52840 over USB; each board converts the same counts with its calibration (puckjs has no USB: the link path on its calibration). deviceMs = the request handler (USB.data) or the button callback (the 'prepared' row: the timer the PAY request leaves behind, which runs while the user decides and is not counted in the authorization); uiTimersMs = LED blinking and link timers in the 5 s of virtual time after each request (not in deviceMs); wireBytes = frames both ways",
  run: paymentRows,
};
