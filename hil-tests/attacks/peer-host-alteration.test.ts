// Attack: an untrusted host in the peer payment (docs/PEER.md §6) alters what it relays — the amount
// of the request it hands its carrier, the sealed request or the sealed instruction on their way to
// the platform, or replays an old instruction. Two virtual nRF52840 carriers on the full release
// bundle, one platform. Each attack yields nothing: no settlement, or only the one the two users
// confirmed; the genuine pair still settles exactly once afterwards.
import { afterEach, describe, expect, it } from "vitest";
import { Platform, PlatformError } from "../../host/src/platform/service.ts";
import { peerDesk } from "../../host/src/platform/peer.ts";
import { encodeCbor, decodeCbor, type CborMap } from "../../host/src/codec.ts";
import { inProcessPeerPlatform, payRequest, PeerCommand, requestPayment } from "../../host/src/peer/flow.ts";
import { encodeRequest, parseRequest } from "../../host/src/peer/messages.ts";
import { TEST_PIN_OPTIONS } from "../../firmware/test/applets/carrier-harness.ts";
import { answerNextAsk, PEER_PIN, peerCarrier, type PeerCarrier } from "../peer-rig.ts";

const hex = (b: Uint8Array): string => Buffer.from(b).toString("hex");
const platforms: Platform[] = [];
const carriers: PeerCarrier[] = [];
afterEach(() => {
  for (const c of carriers.splice(0)) c.rig.board.dispose();
  for (const p of platforms.splice(0)) p.close();
});

async function world() {
  const platform = await Platform.open({ pin: TEST_PIN_OPTIONS });
  platforms.push(platform);
  const payee = await peerCarrier(platform);
  const payer = await peerCarrier(platform);
  carriers.push(payee, payer);
  return { platform, desk: peerDesk(platform), api: inProcessPeerPlatform(platform), payee, payer };
}

const settlements = (p: Platform) => Number(p.ledger.get("SELECT count(*) AS n FROM peer_settlements")!.n);

function refusal(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    if (e instanceof PlatformError) return e.reason;
    throw e;
  }
  throw new Error("the platform accepted it");
}

async function peerPay(c: PeerCarrier, r: Uint8Array): Promise<{ atc: number; sealed: string }> {
  answerNextAsk(c.rig);
  const res = await c.rig.kc.link.request(PeerCommand.PEER_PAY, encodeCbor(new Map([[1, r]])), { deadlineMs: 40_000 });
  expect(res.status).toBe(0);
  const m = decodeCbor(res.body) as CborMap;
  return { atc: m.get(1) as number, sealed: hex(m.get(2) as Uint8Array) };
}

describe("attack: a host alters what it relays in a peer payment", () => {
  it("the payer's host changes the amount of the request it hands its carrier: the instruction names a request the platform never received", async () => {
    const { platform, desk, api, payee, payer } = await world();
    answerNextAsk(payee.rig);
    const req = await requestPayment(payee.rig.kc, api, { amount: 2500, currency: "EUR" });
    const fields = parseRequest(Buffer.from(req.request, "hex"));
    for (const amount of [25, 250_000]) {
      const altered = encodeRequest({ ...fields, amount });
      const ins = await peerPay(payer, altered);
      expect(refusal(() => desk.submitInstruction({ sealed: ins.sealed }))).toBe("unknown-request");
    }
    expect(settlements(platform)).toBe(0);
    // the genuine request still settles once, for the amount the payee asked
    answerNextAsk(payer.rig);
    const ok = await payRequest(payer.rig.kc, api, req.request, { pin: PEER_PIN, carrierId: payer.carrierId });
    expect(ok.settlement.amount).toBe(2500);
    expect(settlements(platform)).toBe(1);
  });

  it("the payee's host alters the sealed request, or seals its own: refused before anything is stored", async () => {
    const { platform, desk, payee } = await world();
    answerNextAsk(payee.rig);
    const res = await payee.rig.kc.link.request(PeerCommand.PEER_REQUEST, encodeCbor(new Map<number, number | string>([[1, 700], [2, "EUR"], [3, Math.floor(Date.now() / 1000) + 300]])), { deadlineMs: 40_000 });
    const sealed = (decodeCbor(res.body) as CborMap).get(2) as Uint8Array;
    // every byte of the ciphertext and tag, and the header's id, flipped in turn
    const header = 8 + 8 + 16;
    for (let i = header - 16; i < sealed.length; i++) {
      const x = sealed.slice();
      x[i]! ^= 0x01;
      expect(refusal(() => desk.registerRequest({ sealed: hex(x) }))).toBe("bad-seal");
    }
    expect(Number(platform.ledger.get("SELECT count(*) AS n FROM peer_requests")!.n)).toBe(0);
  });

  it("the payer's host alters the sealed instruction, or pairs it with another request: refused; the genuine one settles once", async () => {
    const { platform, desk, api, payee, payer } = await world();
    answerNextAsk(payee.rig);
    const a = await requestPayment(payee.rig.kc, api, { amount: 1000, currency: "EUR" });
    answerNextAsk(payee.rig);
    const b = await requestPayment(payee.rig.kc, api, { amount: 1000, currency: "EUR" });
    const ins = await peerPay(payer, Buffer.from(a.request, "hex"));
    const bytes = Buffer.from(ins.sealed, "hex");
    for (let i = 20; i < bytes.length; i++) {
      const x = Buffer.from(bytes);
      x[i]! ^= 0x80;
      expect(refusal(() => desk.submitInstruction({ sealed: x.toString("hex") }))).toBe("bad-seal");
    }
    // the instruction names request a inside its seal: the host cannot point it at b
    answerNextAsk(payer.rig);
    const paid = await payRequest(payer.rig.kc, api, a.request, { pin: PEER_PIN, carrierId: payer.carrierId });
    expect(paid.settlement.requestDigest).toBe(a.requestDigest);
    expect((await api.requestStatus(b.requestDigest)).state).toBe("open");
    expect(settlements(platform)).toBe(1);
  });

  it("replay of an old instruction: answered with its settlement, never a second; a settled request cannot be registered open again", async () => {
    const { platform, desk, api, payee, payer } = await world();
    answerNextAsk(payee.rig);
    const req = await requestPayment(payee.rig.kc, api, { amount: 640, currency: "EUR" });
    answerNextAsk(payer.rig);
    const paid = await payRequest(payer.rig.kc, api, req.request, { pin: PEER_PIN, carrierId: payer.carrierId });
    for (let i = 0; i < 3; i++) expect(desk.submitInstruction({ sealed: paid.instruction })).toMatchObject({ created: false, settlementId: paid.settlement.settlementId });
    expect(desk.registerRequest({ sealed: req.sealed })).toMatchObject({ created: false, state: "settled" });
    // the payer's carrier asked again for the same request: the same ATC and instruction (its kept log)
    const again = await peerPay(payer, Buffer.from(req.request, "hex"));
    expect(again).toEqual({ atc: paid.atc, sealed: paid.instruction });
    expect(settlements(platform)).toBe(1);
  });
});
