// Two (or more) virtual nRF52840 carriers running the full release bundle (keycarrier.full.js, the
// one with the peer applet) from .bootcde, personalised by one platform, and the users' presses:
// the rig for the peer payment's hil-tests (hil-tests/peer.test.ts, hil-tests/attacks/peer-*.test.ts).
import type { Platform } from "../host/src/platform/service.ts";
import { CarrierRig, CMD, enrolPin, transportIdentity } from "../firmware/test/applets/carrier-harness.ts";

export const PEER_PIN = "482913";
export const PLATFORM_ID = new TextEncoder().encode("KC-PLATFORM-TEST");
export const PEER_LIMIT = 500_000;

export interface PeerCarrier { rig: CarrierRig; carrierId: string }

/** Boots a carrier with the full bundle (over USB, or over the virtual NFC reader) and personalises it for `platform`. */
// meter: run the bundle metered by the cost model (evaluated from RAM, as the bench's other rigs).
// pcsc: the carrier lies on a PC/SC reader (a private pcscd and vpcd, hil-tests/pcsc-env.ts).
// bootcde (default: unless metered) runs the bundle from .bootcde as a flashed carrier does.
export async function peerCarrier(platform: Platform, opts: { nfc?: boolean | { loseFieldAfter: (frame: number) => boolean }; meter?: boolean; bootcde?: boolean; pcsc?: { vpcdPort: number; readerName: string } } = {}): Promise<PeerCarrier> {
  const rig = await CarrierRig.boot({
    board: "nrf52840", bootcde: opts.bootcde ?? opts.meter !== true, meter: opts.meter === true, nfcBundle: "keycarrier.full.js",
    ...(opts.nfc ? { nfc: opts.nfc } : {}), ...(opts.pcsc ? { pcsc: opts.pcsc } : {}),
  });
  const carrierId = platform.issueCarrier({ limit: PEER_LIMIT, currency: "EUR" }).carrierId;
  const keys = platform.carrierKeys(carrierId);
  const ch = await rig.openChannel(transportIdentity(rig.serial));
  const r = await rig.inner(ch, CMD.PERSONALISE, new Map<number, Uint8Array | number | string>([
    [1, Buffer.from(carrierId, "hex")], [2, PLATFORM_ID], [3, keys.channelKey], [4, keys.cryptogramKey], [5, PEER_LIMIT],
  ]));
  if (r.status !== 0) throw new Error(`PERSONALISE status ${r.status}: ${String(r.body.get(1))}`);
  enrolPin(platform, carrierId, PEER_PIN);
  rig.payKeys = { carrierId: Buffer.from(carrierId, "hex"), cryptogramKey: keys.cryptogramKey };
  return { rig, carrierId };
}

/**
 * What the user does when the carrier asks (the next request that reaches the board): a short press
 * confirms, a long press declines, "lose-reply" presses and then drops the reply the carrier sends
 * (the host must retry). The rig runs it once the request arrived (USB) or was written (NFC).
 */
export function answerNextAsk(rig: CarrierRig, how: "press" | "long" = "press"): void {
  (rig as unknown as { pending: { during?: () => void } }).pending.during = how === "press"
    ? () => rig.press()
    : () => { rig.board.clickButton(1, 1_500); rig.board.runUntilIdle(2_000); };
}
