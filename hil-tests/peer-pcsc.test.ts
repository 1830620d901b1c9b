// The peer payment with the payer's carrier on a PC/SC reader (`--port pcsc:"READER"` in the CLI):
// pcsc-lite → a private pcscd → vpcd → the virtual card in front of the board's NFC controller,
// running the full release bundle; the payee's carrier on USB. Skips, saying why, where pcscd, vpcd
// or the binding are missing (hil-tests/pcsc-env.ts).
import { describe, expect, it } from "vitest";
import { Platform } from "../host/src/platform/service.ts";
import { inProcessPeerPlatform, payRequest, requestPayment } from "../host/src/peer/flow.ts";
import { TEST_PIN_OPTIONS } from "../firmware/test/applets/carrier-harness.ts";
import { usePrivatePcscd } from "./pcsc-env.ts";
import { answerNextAsk, PEER_PIN, peerCarrier } from "./peer-rig.ts";

const pcscd = usePrivatePcscd("hil-tests/peer-pcsc.test.ts");

describe("peer payment, the payer's carrier on a PC/SC reader", () => {
  it("payee on USB requests, payer on pcsc instructs, settled once", async (ctx) => {
    const env = pcscd.env;
    if (!env) return ctx.skip(pcscd.skip);
    const platform = await Platform.open({ pin: TEST_PIN_OPTIONS });
    const payee = await peerCarrier(platform);
    const payer = await peerCarrier(platform, { pcsc: { vpcdPort: env.port, readerName: env.readerName } });
    try {
      const api = inProcessPeerPlatform(platform);
      answerNextAsk(payee.rig);
      const req = await requestPayment(payee.rig.kc, api, { amount: 777, currency: "EUR" });
      answerNextAsk(payer.rig);
      const paid = await payRequest(payer.rig.kc, api, req.request, { pin: PEER_PIN, carrierId: payer.carrierId });
      expect(paid.settlement).toMatchObject({ amount: 777, payerId: payer.carrierId, payeeId: payee.carrierId, atc: 1 });
      expect((await api.requestStatus(req.requestDigest)).state).toBe("settled");
      expect(Number(platform.ledger.get("SELECT count(*) AS n FROM peer_settlements")!.n)).toBe(1);
    } finally {
      payer.rig.vicc?.remove();
      payee.rig.board.dispose();
      payer.rig.board.dispose();
      platform.close();
    }
  }, 60_000);
});
