// Shared set-up of the attack tests: a production reference platform (no dev flag: its transport
// batch key is secret, in its keystore), a virtual carrier running the RELEASE bundle from
// .bootcde (so BTN1 at power-on really skips it), provisioned by the platform (PROVISION writes the
// per-device kc.tk) and personalised through the transport session, the PIN enrolled online.
import { Platform } from "../../host/src/platform/service.ts";
import { VirtualBoard } from "../../board/src/virtual-board.ts";
import { BoardConsole } from "../../board/src/console/attach.ts";
import { platformIdFor } from "../../host/src/flows/personalise.ts";
import { CarrierRig, CMD, enrolPin, payOrderBody, platformVerdict, ST, TEST_PIN_OPTIONS, type Identity } from "../../firmware/test/applets/carrier-harness.ts";
import type { CborMap } from "../../host/src/codec.ts";

export const LIMIT = 100_000;
let shops = 0;

export interface Carrier {
  platform: Platform;
  rig: CarrierRig;
  carrierId: string;
  identity: Identity;
  keys: { channelKey: Uint8Array; cryptogramKey: Uint8Array };
  merchantId: number;
}

export async function productionPlatform(): Promise<Platform> {
  return Platform.open({ pin: TEST_PIN_OPTIONS });
}

/** Factory step + personalisation + PIN enrolment, as `keycarrier provision` and `personalise` do. */
export async function personalisedCarrier(platform: Platform, pin: string, opts: { carrierId?: string } = {}): Promise<Carrier> {
  const rig = await CarrierRig.boot({ bootcde: true, provision: false });
  const tid = transportId(rig.serial);
  const p = await rig.outer(CMD.PROVISION, new Map([[1, platform.provisionTransportKey(tid)]]));
  if (p.status !== ST.OK) throw new Error(`PROVISION ${p.status}`);
  const issued = opts.carrierId !== undefined ? platform.getCarrier(opts.carrierId) : platform.issueCarrier();
  const keys = platform.carrierKeys(issued.carrierId);
  const identity: Identity = { carrierId: Buffer.from(issued.carrierId, "hex"), platformId: platformIdFor(issued.issuerId), channelKey: keys.channelKey };
  const tch = await rig.openChannel({ carrierId: tid, platformId: new TextEncoder().encode("KC-TRANSPORT"), channelKey: platform.transportChannelKey(tid) });
  const r = await rig.inner(tch, CMD.PERSONALISE, new Map<number, Uint8Array | number | string>([
    [1, identity.carrierId], [2, identity.platformId], [3, keys.channelKey], [4, keys.cryptogramKey], [5, LIMIT],
  ]));
  if (r.status !== ST.OK) throw new Error(`PERSONALISE ${r.status}`);
  if (opts.carrierId === undefined) enrolPin(platform, issued.carrierId, pin);
  // merchant names are unique per platform (docs/PLATFORM.md "API keys"): one shop per carrier set up here
  const merchantId = platform.registerMerchant({ name: `Corner Café ${++shops}` }).merchantId;
  return { platform, rig, carrierId: issued.carrierId, identity, keys, merchantId };
}

export function transportId(serial: string): Uint8Array {
  let id = serial.slice(0, 32);
  while (id.length < 4) id += "_";
  return new TextEncoder().encode(id);
}

export function newOrder(c: Carrier, amount = 1234): { orderId: string; body: CborMap } {
  const order = c.platform.createOrder({ code: c.platform.issuePaymentCode({ merchantId: c.merchantId, amount, currency: "EUR" }).code });
  return { orderId: order.orderId, body: payOrderBody(order.cryptogramFields) };
}

/** The whole online payment as the host runs it: the PIN to the platform, its verdict in PAY, the user's press. */
export async function pay(c: Carrier, pin: string, order = newOrder(c)) {
  const ch = await c.rig.openChannel(c.identity);
  const r = await c.rig.pay(ch, order.body, platformVerdict(c.platform, c.rig, ch, c.carrierId, order.body, pin));
  return { order, reply: r };
}

/**
 * The thief's BTN1 path: power the carrier (its flash image) on with BTN1 held — Espruino skips
 * .bootcde, so the firmware never runs and the REPL is live on USB — and read every Storage file
 * through that REPL, as `require("Storage").read()` typed by a person would.
 */
export function btn1Dump(image: Uint8Array, board = "nrf52840"): Map<string, Buffer> {
  const vb = new VirtualBoard({ board, flashImage: image, seed: 1 });
  try {
    const bc = new BoardConsole(vb, { banner: false });
    vb.pressButton(1);
    bc.powerOn();
    vb.releaseButton(1);
    vb.usb.take();
    const ask = (expr: string): string => {
      vb.usb.write(`print("<<"+${expr}+">>")\r`);
      vb.runUntilIdle(1_000);
      const out = vb.usb.take();
      const m = /\r\n<<([\s\S]*?)>>\r\n/.exec(out);
      if (!m) throw new Error(`the REPL did not answer ${expr}: ${JSON.stringify(out.slice(0, 200))}`);
      return m[1]!;
    };
    const names = JSON.parse(ask(`JSON.stringify(require("Storage").list())`)) as string[];
    const files = new Map<string, Buffer>();
    for (const name of names) files.set(name, Buffer.from(ask(`btoa(require("Storage").read(${JSON.stringify(name)}))`), "base64"));
    return files;
  } finally {
    vb.dispose();
  }
}
