// The NFC peer payment end to end (docs/PEER.md, PROTOCOL.md §12): two virtual nRF52840 carriers
// running the full release bundle from .bootcde, two untrusted hosts (the test), one platform.
// The payee's carrier makes and seals the request after its user's press; the payer's carrier
// instructs after its user's press; the PIN goes to the platform only; the platform settles once.
// Then the failure matrix: lost and duplicated messages in every leg, expiry, two payers, a decline.
// The host-alteration attacks are in hil-tests/attacks/peer-host-alteration.test.ts; the platform
// killed mid-match in hil-tests/peer-crash.test.ts.
import { afterEach, describe, expect, it } from "vitest";
import { Platform } from "../host/src/platform/service.ts";
import { peerDesk } from "../host/src/platform/peer.ts";
import { encodeCbor, decodeCbor, type CborMap } from "../host/src/codec.ts";
import { encodeFrame, FrameParser } from "../host/src/link.ts";
import { inProcessPeerPlatform, payRequest, PeerCommand, PeerError, PeerStatus, requestPayment } from "../host/src/peer/flow.ts";
import { parseRequest, sha256 } from "../host/src/peer/messages.ts";
import { CMD, parseEntry, payOrderBody, platformVerdict, TEST_PIN_OPTIONS, verifyLogPage, type Identity } from "../firmware/test/applets/carrier-harness.ts";
import { PLATFORM_ID } from "./peer-rig.ts";
import { answerNextAsk, PEER_PIN, peerCarrier, type PeerCarrier } from "./peer-rig.ts";

const hex = (b: Uint8Array): string => Buffer.from(b).toString("hex");
let clock = Date.now();
const platforms: Platform[] = [];
const carriers: PeerCarrier[] = [];
afterEach(() => {
  for (const c of carriers.splice(0)) c.rig.board.dispose();
  for (const p of platforms.splice(0)) p.close();
});

async function world(n: number, opts: { nfc?: boolean } = {}) {
  const platform = await Platform.open({ pin: TEST_PIN_OPTIONS, now: () => clock });
  platforms.push(platform);
  const cs: PeerCarrier[] = [];
  for (let i = 0; i < n; i++) {
    const c = await peerCarrier(platform, opts);
    carriers.push(c);
    cs.push(c);
  }
  return { platform, api: inProcessPeerPlatform(platform), cs };
}

const settlements = (p: Platform) => Number(p.ledger.get("SELECT count(*) AS n FROM peer_settlements")!.n);

/** The payee's request, confirmed by a press on its carrier, registered at the platform. */
async function ask(payee: PeerCarrier, api: ReturnType<typeof inProcessPeerPlatform>, amount: number, ttlSeconds = 300) {
  answerNextAsk(payee.rig);
  return requestPayment(payee.rig.kc, api, { amount, currency: "EUR", ttlSeconds, now: () => clock });
}

/** The payer's instruction for R, confirmed by a press, with the PIN to the platform. */
async function payWith(payer: PeerCarrier, api: ReturnType<typeof inProcessPeerPlatform>, request: string, pin = PEER_PIN) {
  answerNextAsk(payer.rig);
  return payRequest(payer.rig.kc, api, request, { pin, carrierId: payer.carrierId });
}

/** One raw outer command, the user answering as told. */
async function raw(c: PeerCarrier, command: number, body: CborMap, how?: "press" | "long") {
  if (how) answerNextAsk(c.rig, how);
  const r = await c.rig.kc.link.request(command, encodeCbor(body), { deadlineMs: 40_000 });
  return { status: r.status, body: decodeCbor(r.body) as CborMap };
}

for (const transport of ["USB", "NFC"] as const) {
  describe(`peer payment over ${transport}`, () => {
    it("payee requests, payer instructs, the platform settles once; both see it; the payer's log holds it", async () => {
      const { platform, api, cs: [payee, payer] } = await world(2, { nfc: transport === "NFC" });
      expect(payee!.rig.nfcTransport !== undefined).toBe(transport === "NFC");
      expect(payer!.rig.nfcTransport !== undefined).toBe(transport === "NFC");
      const req = await ask(payee!, api, 1250);
      const fields = parseRequest(Buffer.from(req.request, "hex"));
      expect(hex(fields.payeeId)).toBe(payee!.carrierId);
      expect(fields).toMatchObject({ amount: 1250, currency: "EUR" });
      const paid = await payWith(payer!, api, req.request);
      expect(paid.atc).toBe(1);
      expect(paid.settlement).toMatchObject({ payerId: payer!.carrierId, payeeId: payee!.carrierId, amount: 1250, currency: "EUR", atc: 1, requestDigest: req.requestDigest });
      // the payee's host polls the status route
      expect(await api.requestStatus(req.requestDigest)).toMatchObject({ state: "settled", settlement: { settlementId: paid.settlement.settlementId } });
      expect(settlements(platform)).toBe(1);
      // the payer's carrier logged the instruction: order id = digest[0:16], merchant id = the payee
      const log = await payer!.rig.outer(CMD.LOG_READ);
      const page = verifyLogPage(log.body);
      expect(page.ok).toBe(true);
      const e = parseEntry(page.entries[page.entries.length - 1]!);
      expect(e).toMatchObject({ atc: 1, result: 1, amount: 1250, currency: "EUR" });
      expect(hex(e.orderId)).toBe(req.requestDigest.slice(0, 32));
      expect(hex(e.merchantId)).toBe(payee!.carrierId);
      expect(hex(log.body.get(3) as Uint8Array)).toBe(paid.logHead);
    });
  });
}

describe("peer payment: the NFC field lost at each frame of PEER_PAY in turn", () => {
  it("the request or the decision is lost and nothing else; the retry on the next tap instructs once; each request settles once", async () => {
    let lossAt = -1;
    const platform = await Platform.open({ pin: TEST_PIN_OPTIONS, now: () => clock });
    platforms.push(platform);
    const api = inProcessPeerPlatform(platform);
    const payee = await peerCarrier(platform);
    const payer = await peerCarrier(platform, { nfc: { loseFieldAfter: (n) => n === lossAt } });
    carriers.push(payee, payer);
    // the payer's user presses whenever the carrier asks, on every tap
    const pending = (payer.rig as unknown as { pending: { during?: () => void } }).pending;
    const arm = (): void => { pending.during = () => { payer.rig.press(); arm(); }; };
    arm();
    const first = await ask(payee, api, 100);
    const f0 = payer.rig.reader!.frames;
    const r0 = await payRequest(payer.rig.kc, api, first.request, { pin: PEER_PIN, carrierId: payer.carrierId });
    const frames = payer.rig.reader!.frames - f0;
    expect(frames).toBeGreaterThan(20);
    let atc = r0.atc;
    for (let k = 0; k < frames; k++) {
      const req = await ask(payee, api, 101 + k);
      lossAt = payer.rig.reader!.frames + k;
      const losses = payer.rig.nfcTransport!.stats.fieldLosses;
      const paid = await payRequest(payer.rig.kc, api, req.request, { pin: PEER_PIN, carrierId: payer.carrierId });
      expect(payer.rig.nfcTransport!.stats.fieldLosses, `frame ${k}: the field was lost`).toBeGreaterThan(losses);
      expect(paid.atc, `frame ${k}: one new instruction`).toBe(atc + 1);
      expect(paid.settlement.amount).toBe(101 + k);
      atc = paid.atc;
    }
    lossAt = -1;
    pending.during = undefined;
    expect(settlements(platform)).toBe(frames + 1);
    expect((await payer.rig.info()).get(11)).toBe(atc);
  }, 120_000);
});

describe("peer payment: failure matrix (USB)", () => {
  it("lost and duplicated messages in every leg: the same request, the same instruction, one settlement", async () => {
    const { platform, api, cs: [payee, payer] } = await world(2);
    // leg 1, payee carrier → payee host: the reply is lost; the link retransmits the identical
    // frame, which the carrier answers from its cache (one request, one nonce)
    const wire = payee!.rig.wire;
    answerNextAsk(payee!.rig);
    const body = encodeCbor(new Map<number, number | string>([[1, 900], [2, "EUR"], [3, Math.floor(clock / 1000) + 300]]));
    const sent: Uint8Array[] = [];
    const listen = payee!.rig.board.usb.onData((b) => sent.push(b.slice()));
    const first = await payee!.rig.kc.link.request(PeerCommand.PEER_REQUEST, body, { deadlineMs: 40_000 });
    listen();
    expect(first.status).toBe(0);
    // the host resends the identical frame (its answer "lost"): the cached reply, byte for byte,
    // and the user is not asked again
    const lastRequest = wire.chunks.filter((c) => c[0] === 0xf5 && c[3] === 0x00).pop()!;
    const replayed: Uint8Array[] = [];
    const off = payee!.rig.board.usb.onData((b) => replayed.push(b.slice()));
    payee!.rig.board.usb.write(lastRequest);
    payee!.rig.board.runUntilIdle(1_000);
    off();
    expect(Buffer.concat(replayed).toString("hex")).toBe(Buffer.concat(sent).toString("hex"));
    const reqMap = decodeCbor(first.body) as CborMap;
    const r = reqMap.get(1) as Uint8Array;
    const sealed = hex(reqMap.get(2) as Uint8Array);
    // leg 2, payee host → platform: registered twice (the first answer lost) → one request
    const reg1 = await api.registerRequest(sealed);
    const reg2 = await api.registerRequest(sealed);
    expect(reg2.requestDigest).toBe(reg1.requestDigest);
    expect(Number(platform.ledger.get("SELECT count(*) AS n FROM peer_requests")!.n)).toBe(1);
    // leg 3, payer carrier → payer host: PEER_PAY's answer lost, the host asks again (a new frame):
    // the same ATC and the same sealed instruction, no second log entry
    const a = await raw(payer!, PeerCommand.PEER_PAY, new Map([[1, r]]), "press");
    const b = await raw(payer!, PeerCommand.PEER_PAY, new Map([[1, r]]), "press");
    expect(a.status).toBe(0);
    expect(b.body.get(1)).toBe(a.body.get(1));
    expect(hex(b.body.get(2) as Uint8Array)).toBe(hex(a.body.get(2) as Uint8Array));
    expect((await payer!.rig.info()).get(11)).toBe(1);
    // leg 4, payer host → platform: the instruction sent three times (answers lost) → one settlement
    const desk = peerDesk(platform);
    const digest = hex(sha256(r));
    const pinned = await payWithPin(platform, payer!.carrierId, digest);
    const s1 = desk.submitInstruction({ sealed: hex(a.body.get(2) as Uint8Array), ...pinned });
    const s2 = desk.submitInstruction({ sealed: hex(a.body.get(2) as Uint8Array) });
    const s3 = desk.submitInstruction({ sealed: hex(b.body.get(2) as Uint8Array) });
    expect(s1.created).toBe(true);
    expect([s2.created, s3.created]).toEqual([false, false]);
    expect(s2.settlementId).toBe(s1.settlementId);
    expect(settlements(platform)).toBe(1);
    // leg 5, platform → payee host: the status route answers the same whenever polled
    expect((await api.requestStatus(digest)).settlement?.settlementId).toBe(s1.settlementId);
  });

  it("two payers for one request: exactly one settles; the other is refused, its carrier's instruction pays nothing", async () => {
    const { platform, api, cs: [payee, payer, other] } = await world(3);
    const req = await ask(payee!, api, 300);
    const paid = await payWith(payer!, api, req.request);
    await expect(payWith(other!, api, req.request)).rejects.toMatchObject({ reason: "request-paid" });
    // the second payer's host does not even ask its carrier once the request is settled; forced
    // through anyway, its sealed instruction is refused by the platform
    const forced = await raw(other!, PeerCommand.PEER_PAY, new Map([[1, Buffer.from(req.request, "hex")]]), "press");
    expect(forced.status).toBe(0);
    expect(() => peerDesk(platform).submitInstruction({ sealed: hex(forced.body.get(2) as Uint8Array) })).toThrow(/already paid/);
    expect(settlements(platform)).toBe(1);
    expect((await api.requestStatus(req.requestDigest)).settlement?.payerId).toBe(paid.settlement.payerId);
  });

  it("expiry: a request instructed after it expired is refused; nothing settles", async () => {
    const { platform, api, cs: [payee, payer] } = await world(2);
    const req = await ask(payee!, api, 450, 60);
    clock += 61_000;
    await expect(payWith(payer!, api, req.request)).rejects.toMatchObject({ reason: "request-expired" });
    expect((await api.requestStatus(req.requestDigest)).state).toBe("expired");
    expect(settlements(platform)).toBe(0);
  });

  it("a decline on either carrier makes nothing; a wrong PIN settles nothing and the same instruction settles with the right one", async () => {
    const { platform, api, cs: [payee, payer] } = await world(2);
    const declined = await raw(payee!, PeerCommand.PEER_REQUEST, new Map<number, number | string>([[1, 100], [2, "EUR"], [3, Math.floor(clock / 1000) + 300]]), "long");
    expect(declined.status).toBe(PeerStatus.PEER_DECLINED);
    const req = await ask(payee!, api, 100);
    const no = await raw(payer!, PeerCommand.PEER_PAY, new Map([[1, Buffer.from(req.request, "hex")]]), "long");
    expect(no.status).toBe(PeerStatus.PEER_DECLINED);
    expect((await payer!.rig.info()).get(11)).toBe(0); // nothing logged, no ATC used
    await expect(payWith(payer!, api, req.request, "000000")).rejects.toMatchObject({ reason: "pin-wrong" });
    expect(settlements(platform)).toBe(0);
    const ok = await payWith(payer!, api, req.request);
    expect(ok.atc).toBe(1); // the same instruction again (the kept log), now with the right PIN
    expect(settlements(platform)).toBe(1);
  });

  it("the carrier refuses at once: a malformed request, its own request, over its limit, bad request fields", async () => {
    const { api, cs: [payee, payer] } = await world(2);
    const bad = await raw(payer!, PeerCommand.PEER_PAY, new Map([[1, Buffer.from("4b435052", "hex")]]));
    expect(bad.status).toBe(PeerStatus.PEER_BAD_REQUEST);
    const req = await ask(payee!, api, 100);
    const own = await raw(payee!, PeerCommand.PEER_PAY, new Map([[1, Buffer.from(req.request, "hex")]]));
    expect(own.status).toBe(PeerStatus.PEER_OWN_REQUEST);
    const big = await ask(payee!, api, 600_000);
    const over = await raw(payer!, PeerCommand.PEER_PAY, new Map([[1, Buffer.from(big.request, "hex")]]));
    expect(over.status).toBe(PeerStatus.PAY_OVER_LIMIT);
    const badFields = await raw(payee!, PeerCommand.PEER_REQUEST, new Map<number, number | string>([[1, 0], [2, "EUR"], [3, 1]]));
    expect(badFields.status).toBe(0x05);
  });
});

describe("peer payment: one decision at a time across USB and NFC (nrf52840 has both)", () => {
  it("while PEER_PAY waits for the press on the NFC link, USB's PEER_REQUEST is BUSY and INFO is served; the press then answers the NFC request", async () => {
    const { api, cs: [payee, payer] } = await world(2, { nfc: true });
    const req = await ask(payee!, api, 321);
    const usbAnswers: number[] = [];
    const usb = (seq: number, command: number, body: CborMap): void => {
      const parser = new FrameParser();
      const off = payer!.rig.board.usb.onData((b) => { for (const f of parser.push(b)) usbAnswers.push(f.code); });
      payer!.rig.board.usb.write(encodeFrame({ version: 1, type: 0, seq, code: command, body: encodeCbor(body) }));
      payer!.rig.board.runUntilIdle(1_000);
      off();
    };
    (payer!.rig as unknown as { pending: { during?: () => void } }).pending.during = () => {
      usb(201, PeerCommand.PEER_REQUEST, new Map<number, number | string>([[1, 5], [2, "EUR"], [3, Math.floor(clock / 1000) + 300]]));
      usb(202, CMD.INFO, new Map());
      payer!.rig.press();
    };
    const r = await payer!.rig.kc.link.request(PeerCommand.PEER_PAY, encodeCbor(new Map([[1, Buffer.from(req.request, "hex")]])), { deadlineMs: 40_000 });
    expect(usbAnswers).toEqual([PeerStatus.BUSY, 0]);
    expect(r.status).toBe(0);
    expect((decodeCbor(r.body) as CborMap).get(1)).toBe(1);
  });
});

describe("peer payment and PAY share the trusted UI", () => {
  it("a PEER_REQUEST while PAY waits for the press is BUSY; PAY then completes; the peer request goes through after", async () => {
    const { platform, api, cs: [c] } = await world(1);
    const merchantId = platform.registerMerchant({ name: "Kiosk" }).merchantId;
    const order = platform.createOrder({ code: platform.issuePaymentCode({ merchantId, amount: 500, currency: "EUR" }).code });
    const body = payOrderBody(order.cryptogramFields);
    const id: Identity = { carrierId: Buffer.from(c!.carrierId, "hex"), platformId: PLATFORM_ID, channelKey: platform.carrierKeys(c!.carrierId).channelKey };
    const ch = await c!.rig.openChannel(id);
    const verdict = platformVerdict(platform, c!.rig, ch, c!.carrierId, body, PEER_PIN);
    const answers: number[] = [];
    const paid = await c!.rig.pay(ch, body, verdict, () => {
      const parser = new FrameParser();
      const off = c!.rig.board.usb.onData((b) => { for (const f of parser.push(b)) answers.push(f.code); });
      c!.rig.board.usb.write(encodeFrame({ version: 1, type: 0, seq: 99, code: PeerCommand.PEER_REQUEST, body: encodeCbor(new Map<number, number | string>([[1, 5], [2, "EUR"], [3, Math.floor(clock / 1000) + 300]])) }));
      c!.rig.board.runUntilIdle(1_000);
      off();
      c!.rig.press();
    });
    expect(answers).toEqual([PeerStatus.BUSY]);
    expect(paid.status).toBe(0);
    expect(paid.body.get(1)).toBe(1);
    const req = await ask(c!, api, 250);
    expect((await api.requestStatus(req.requestDigest)).state).toBe("open");
  });

  it("PAY, a peer instruction, PAY on the same carrier: consecutive ATCs, one hash chain over all three", async () => {
    const { platform, api, cs: [payee, payer] } = await world(2);
    const merchantId = platform.registerMerchant({ name: "Kiosk" }).merchantId;
    const identity = { carrierId: Buffer.from(payer!.carrierId, "hex"), platformId: PLATFORM_ID, channelKey: platform.carrierKeys(payer!.carrierId).channelKey };
    const qrPay = async (amount: number) => {
      const order = platform.createOrder({ code: platform.issuePaymentCode({ merchantId, amount, currency: "EUR" }).code });
      const body = payOrderBody(order.cryptogramFields);
      const ch = await payer!.rig.openChannel(identity);
      const paid = await payer!.rig.pay(ch, body, platformVerdict(platform, payer!.rig, ch, payer!.carrierId, body, PEER_PIN));
      expect(paid.status).toBe(0);
      const atc = paid.body.get(1) as number;
      expect(platform.authorize({ orderId: order.orderId, carrierId: payer!.carrierId, atc, cryptogram: hex(paid.body.get(2) as Uint8Array) }).amount).toBe(amount);
      return { atc, head: hex(paid.body.get(3) as Uint8Array) };
    };
    expect((await qrPay(500)).atc).toBe(1);
    const req = await ask(payee!, api, 900);
    expect((await payWith(payer!, api, req.request)).atc).toBe(2);
    const last = await qrPay(600);
    expect(last.atc).toBe(3);
    const log = await payer!.rig.outer(CMD.LOG_READ);
    const page = verifyLogPage(log.body);
    expect(page.ok).toBe(true);
    expect(page.entries.map((e) => parseEntry(e).atc)).toEqual([1, 2, 3]);
    expect(hex(log.body.get(3) as Uint8Array)).toBe(last.head);
  });
});

/** The payer host's PIN step for a request, done by hand (the flow does it inside payRequest). */
async function payWithPin(platform: Platform, carrierId: string, digest: string) {
  const { encryptPinBlock, PinPurpose } = await import("../host/src/platform/online-pin.ts");
  const c = peerDesk(platform).pinChallenge({ carrierId, requestDigest: digest });
  const block = encryptPinBlock(PEER_PIN, Buffer.from(c.publicKey, "hex"), { purpose: PinPurpose.PAY, carrierId: Buffer.from(carrierId, "hex"), orderId: Buffer.from(digest.slice(0, 24), "hex"), challenge: Buffer.from(c.challenge, "hex") });
  return { challenge: c.challenge, pinBlock: hex(block) };
}

// keep the import used when a refusal type changes
void PeerError;
