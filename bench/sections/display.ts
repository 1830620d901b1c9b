// The trusted display's cost (issue 18, docs/DISPLAY.md): keycarrier.full.js on a metered virtual
// nrf52840-oled (screen) and on nrf52840 (same bundle, no screen: the KC_DISPLAY block finds no
// SSD1306 and draws nothing), same personalisation and PAY. The PAY request's device time on the
// two boards differs by the screen update drawn before the button press (Graphics natives, the
// SSD1306 module's flip(): 1,038 B over I2C at 400 kHz, and the JS around them); the vars after
// boot differ by what the screen holds (the 1 KB frame buffer, the module, the hooks).
import { CarrierRig, payOrderBody, platformVerdict } from "../../firmware/test/applets/carrier-harness.ts";
import { Platform } from "../../host/src/platform/service.ts";
import { loadProfile } from "../../board/src/profiles.ts";
import { personaliseFromPlatform } from "../context.ts";
import type { Row, Section } from "./types.ts";

const PIN = "482913";

interface Measured { boardId: string; payRequestMs: number; i2cMs: number; graphicsMs: number; afterPressMs: number; bootVars: number; payVars: number; i2cBytes: number }

async function measure(boardId: string): Promise<Measured> {
  const platform = await Platform.open({});
  const rig = await CarrierRig.boot({ board: boardId, nfcBundle: "keycarrier.full.js", meter: true });
  try {
    const meter = rig.meter!;
    const bootVars = rig.board.memoryEstimate().total;
    const { cid, pid, keys } = await personaliseFromPlatform(rig, platform, PIN);
    const merchant = platform.registerMerchant({ name: "Bench Café" });
    const channel = await rig.openChannel({ carrierId: cid, platformId: pid, channelKey: keys.channelKey });
    const order = platform.createOrder({ code: platform.issuePaymentCode({ merchantId: merchant.merchantId, amount: 1234, currency: "EUR" }).code });
    const body = payOrderBody(order.cryptogramFields);
    const verdict = platformVerdict(platform, rig, channel, Buffer.from(cid).toString("hex"), body, PIN);
    meter.reset();
    let payVars = 0;
    const r = await rig.pay(channel, body, verdict, () => {
      payVars = rig.board.memoryEstimate().total; // while PAY waits: the order is on the screen
      rig.press();
    });
    if (r.status !== 0) throw new Error(`bench display: PAY failed with status ${r.status} on ${boardId}`);
    const profile = loadProfile(boardId);
    const sum = (label: string) => {
      let ms = 0, i2c = 0, gfx = 0, bytes = 0;
      for (const s of meter.scopes.filter((x) => x.label === label)) {
        const e = meter.estimate(profile, s.counts);
        ms += e.ms;
        i2c += e.breakdown.nativeByKind["I2C.writeTo"] ?? 0;
        for (const [k, v] of Object.entries(e.breakdown.nativeByKind)) if (k.startsWith("Graphics.")) gfx += v;
        bytes += s.counts.native["I2C.writeTo"]?.bytes ?? 0;
      }
      return { ms, i2c, gfx, bytes };
    };
    const req = sum("USB.data");
    const press = sum("watch");
    return { boardId, payRequestMs: req.ms, i2cMs: req.i2c, graphicsMs: req.gfx, afterPressMs: press.ms, bootVars, payVars, i2cBytes: req.bytes };
  } finally {
    rig.board.dispose();
    platform.close();
  }
}

export async function displayRows(): Promise<Row[]> {
  const oled = await measure("nrf52840-oled");
  const plain = await measure("nrf52840");
  const round = (x: number) => Math.round(x * 10) / 10;
  const row = (m: Measured): Row => ({
    board: m.boardId, screen: m.boardId === "nrf52840-oled", payRequestMs: round(m.payRequestMs), i2cMs: round(m.i2cMs), graphicsNativeMs: round(m.graphicsMs),
    i2cBytes: m.i2cBytes, afterPressMs: round(m.afterPressMs), varsAfterBoot: m.bootVars, varsWhilePayWaits: m.payVars,
  });
  return [
    row(oled), row(plain),
    {
      board: "= the screen's share", screen: null, payRequestMs: round(oled.payRequestMs - plain.payRequestMs), i2cMs: round(oled.i2cMs), graphicsNativeMs: round(oled.graphicsMs),
      i2cBytes: oled.i2cBytes, afterPressMs: round(oled.afterPressMs - plain.afterPressMs), varsAfterBoot: oled.bootVars - plain.bootVars, varsWhilePayWaits: oled.payVars - plain.payVars,
    },
  ];
}

export const displaySection: Section = {
  name: "display",
  note: "cost model, keycarrier.full.js on metered virtual nrf52840-oled (SSD1306 on I2C at 400 kHz) vs nrf52840 (no screen), nrf52840 calibration. payRequestMs = PAY's request handler (the order drawn before the press); afterPressMs = the button callback (the idle screen redrawn after the reply); vars by the JsVars model (the 1 KB frame buffer ≈ 80 vars flat)",
  run: displayRows,
};
