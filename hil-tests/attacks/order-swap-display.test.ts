// Attack (issue 18): a malicious host tells the user "12.50 EUR to Corner Café" and sends the
// carrier another order — an attacker's merchant, 99.99 GBP — with a genuine platform PIN verdict
// for it (the host has the PIN the user typed on it). On an LED-only carrier both orders blink the
// same pattern. On the display board (nrf52840-oled, keycarrier.full.js) the carrier's own screen,
// drawn by the firmware through Espruino's Graphics and the SSD1306 module over the virtual I2C bus,
// shows the values it will sign. Read back from the PNG the virtual board exports and compared bit
// for bit (OCR-free) with the firmware's own rendering (firmware/src/ui/display.ts drawing into the
// board's Graphics model with the real 6x8 glyphs) of the swapped order — and it differs from the
// rendering of the order the user meant. The user declines; nothing is signed. Control: the
// genuine order shows the café's values, the press authorizes exactly those, the platform settles.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Platform } from "../../host/src/platform/service.ts";
import { personalise, platformIdFor, provision } from "../../host/src/flows/personalise.ts";
import { Status } from "../../host/src/status.ts";
import { bytesOf, CarrierRig, hex, payOrderBody, platformVerdict, ST, TEST_PIN_OPTIONS, type Identity } from "../../firmware/test/applets/carrier-harness.ts";
import { GraphicsBuffer, renderText } from "../../board/src/display/graphics.ts";
import { frameDiff, frameToText, pngToFrame, type Frame } from "../../board/src/display/frame.ts";
import { attachScreen, showIdle, showPayment, type PaymentSubject } from "../../firmware/src/ui/display.ts";
import type { CborMap } from "../../host/src/codec.ts";

const PIN = "482913";
const SCALE = 3;
let platform: Platform;
let rig: CarrierRig;
let identity: Identity;
let carrierId: string;
let cafe: number;
let attacker: number;

beforeAll(async () => {
  platform = await Platform.open({ pin: TEST_PIN_OPTIONS });
  rig = await CarrierRig.boot({ board: "nrf52840-oled", nfcBundle: "keycarrier.full.js", provision: false });
  await provision(rig.kc, platform);
  const done = await personalise(rig.kc, platform, { pin: PIN });
  carrierId = done.carrierId;
  rig.payKeys = { carrierId: Buffer.from(done.carrierId, "hex"), cryptogramKey: platform.carrierKeys(done.carrierId).cryptogramKey };
  identity = { carrierId: Buffer.from(done.carrierId, "hex"), platformId: platformIdFor(done.issuerId), channelKey: platform.carrierKeys(done.carrierId).channelKey };
  cafe = platform.registerMerchant({ name: "Corner Café" }).merchantId;
  attacker = platform.registerMerchant({ name: "Attacker Ltd" }).merchantId;
}, 60_000);
afterAll(() => {
  rig?.board.dispose();
  platform?.close();
});

/** What the firmware draws for an order, rendered host side through the same code and fonts. */
function expectedScreen(body: CborMap): Frame {
  const g = new GraphicsBuffer(128, 64, 1, new Uint8Array(1024), { verticalByte: true, msb: false });
  attachScreen({ clear: () => g.clear(), setFont: (f) => g.setFont(f), drawString: (t, x, y) => g.drawString(t, x, y), stringWidth: (t) => g.stringWidth(t), flip: () => {} });
  try {
    const subject: PaymentSubject = {
      orderId: Buffer.from(bytesOf(body.get(1))).toString("latin1"), merchantId: Buffer.from(bytesOf(body.get(2))).toString("latin1"),
      amount: body.get(3) as number, currency: body.get(4) as string,
    };
    showPayment(subject);
  } finally {
    attachScreen(null);
  }
  return g.pixels();
}

/** Independently of the firmware's layout code: the amount band, drawn by the board's Graphics alone. */
function amountBand(text: string): Frame {
  return renderText(128, 64, (g) => { g.setFont("6x8:2"); g.drawString(text, 0, 14); }).pixels().slice(14, 30);
}

function order(merchantId: number, amount: number, currency: string): CborMap {
  return payOrderBody(platform.createOrder({ code: platform.issuePaymentCode({ merchantId, amount, currency }).code }).cryptogramFields);
}

describe("the idle screen after personalisation", () => {
  it("shows the carrier's state and the PIN tries it has left, as the firmware draws them", async () => {
    const tries = (await rig.info()).get(9) as number;
    const g = new GraphicsBuffer(128, 64, 1, new Uint8Array(1024), { verticalByte: true, msb: false });
    attachScreen({ clear: () => g.clear(), setFont: (f) => g.setFont(f), drawString: (t, x, y) => g.drawString(t, x, y), stringWidth: (t) => g.stringWidth(t), flip: () => {} });
    try {
      showIdle("PERSONALISED", tries);
    } finally {
      attachScreen(null);
    }
    expect(frameDiff(rig.board.display!.frame(), g.pixels())).toEqual([]);
  });
});

describe("INFO capability 0x10: the carrier says whether it has a screen", () => {
  it("set on the display board; clear on nrf52840 running the same bundle (no SSD1306 there)", async () => {
    expect(((await rig.info()).get(6) as number) & 0x10).toBe(0x10);
    const plain = await CarrierRig.boot({ board: "nrf52840", nfcBundle: "keycarrier.full.js", provision: false });
    try {
      expect(((await plain.info()).get(6) as number) & 0x10).toBe(0);
    } finally {
      plain.board.dispose();
    }
  });
});

describe("attack: the host swaps the order (merchant, amount, currency); the carrier's screen shows what it will sign", () => {
  it("the screenshot is the swapped order, not the one the user meant; the user declines and nothing is signed", async () => {
    const meant = order(cafe, 1250, "EUR");
    const swapped = order(attacker, 9999, "GBP");
    const ch = await rig.openChannel(identity);
    const verdict = platformVerdict(platform, rig, ch, carrierId, swapped, PIN);
    let shot: Buffer | undefined;
    const r = await rig.pay(ch, swapped, verdict, () => {
      shot = rig.board.display!.png(SCALE); // what the user sees while the carrier waits for the button
      rig.board.clickButton(1, 1_500); // long press: "this is not my payment"
      rig.board.runUntilIdle(2_000);
    });
    expect(r.status).toBe(Status.PAY_DECLINED);
    expect(r.body.get(2)).toBeUndefined();

    const screen = pngToFrame(shot!, SCALE);
    console.log(`carrier screen during the swapped PAY:\n${frameToText(screen)}`);
    expect(frameDiff(screen, expectedScreen(swapped)), "screen ≠ the swapped order as the firmware draws it").toEqual([]);
    expect(frameDiff(screen, expectedScreen(meant)).length, "screen shows the order the user meant").toBeGreaterThan(0);
    expect(frameDiff(screen.slice(14, 30), amountBand("99.99 GBP"))).toEqual([]);
    expect(frameDiff(screen.slice(14, 30), amountBand("12.50 EUR")).length).toBeGreaterThan(0);
    // each swapped field alone changes the picture (merchant, amount, currency)
    for (const [field, value] of [[2, Buffer.from([0, 0, 0, cafe])], [3, 1250], [4, "EUR"]] as const) {
      expect(frameDiff(screen, expectedScreen(new Map(swapped).set(field, value))).length, `field ${field}`).toBeGreaterThan(0);
    }
  });

  it("control: the genuine order shows the café's values; the press authorizes exactly those and the platform settles", async () => {
    const meant = order(cafe, 1250, "EUR");
    const ch = await rig.openChannel(identity);
    let screen: Frame | undefined;
    const r = await rig.pay(ch, meant, platformVerdict(platform, rig, ch, carrierId, meant, PIN), () => {
      screen = pngToFrame(rig.board.display!.png(SCALE), SCALE);
      rig.press();
    });
    expect(r.status).toBe(ST.OK);
    expect(frameDiff(screen!, expectedScreen(meant))).toEqual([]);
    expect(frameDiff(screen!.slice(14, 30), amountBand("12.50 EUR"))).toEqual([]);
    const settled = platform.authorize({ orderId: hex(bytesOf(meant.get(1))), carrierId, atc: r.body.get(1) as number, cryptogram: hex(bytesOf(r.body.get(2))) });
    expect([settled.amount, settled.currency, settled.merchantId]).toEqual([1250, "EUR", cafe]);
    // after the decision the carrier is back on its idle screen (state and PIN tries)
    const idle = rig.board.display!.frame();
    expect(frameDiff(idle, screen!).length).toBeGreaterThan(0);
  });
});
