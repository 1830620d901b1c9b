// The platform's peer desk (docs/PEER.md §5) with both carriers played in software (their K_peer
// from the platform's own diversification): one instruction matched to one request and settled once;
// every refusal leaves the ledger without a settlement; the ledger file survives a restart.
import { afterEach, describe, expect, it } from "vitest";
import { randomBytes } from "node:crypto";
import { Platform, PlatformError } from "../../src/platform/service.ts";
import { peerDesk, PIN_ORDER_BYTES } from "../../src/platform/peer.ts";
import { encryptPinBlock, PinPurpose } from "../../src/platform/online-pin.ts";
import {
  encodeInstruction, encodeRequest, instructionId, KIND_INSTRUCTION, KIND_REQUEST, peerKey, sealPeer, sha256,
} from "../../src/peer/messages.ts";
import { enrolPin, tempDir, TEST_PIN, TEST_PIN_OPTIONS } from "../platform/helpers.ts";

const hex = (b: Uint8Array): string => Buffer.from(b).toString("hex");
const unhex = (h: string): Uint8Array => new Uint8Array(Buffer.from(h, "hex"));

let clock = 1_900_000_000_000;
const platforms: Platform[] = [];
const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const p of platforms.splice(0)) p.close();
  for (const c of cleanups.splice(0)) c();
});

async function world(dbFile?: string) {
  const platform = await Platform.open({ pin: TEST_PIN_OPTIONS, now: () => clock, ...(dbFile ? { dbFile } : {}) });
  platforms.push(platform);
  return platform;
}

/** A carrier in software: what the firmware's peer applet seals (firmware/vectors/peer.json pins the bytes). */
function softCarrier(platform: Platform) {
  const carrierId = platform.issueCarrier().carrierId;
  enrolPin(platform, carrierId);
  const kpeer = peerKey(platform.carrierKeys(carrierId).cryptogramKey);
  let atc = 0;
  return {
    carrierId,
    request(amount: number, currency = "EUR", ttlS = 300) {
      const nonce = randomBytes(16);
      const r = encodeRequest({ payeeId: unhex(carrierId), amount, currency, expiry: Math.floor(clock / 1000) + ttlS, nonce });
      return { r, digest: hex(sha256(r)), sealed: hex(sealPeer(kpeer, KIND_REQUEST, unhex(carrierId), nonce, r)) };
    },
    instruct(r: Uint8Array, over: { amount?: number; currency?: string; atc?: number } = {}) {
      const a = over.atc ?? ++atc;
      const req = { amount: Number(Buffer.from(r).readBigUInt64BE(6 + r[5]!)), currency: Buffer.from(r.subarray(14 + r[5]!, 17 + r[5]!)).toString("latin1") };
      const i = encodeInstruction({ payerId: unhex(carrierId), digest: sha256(r), amount: over.amount ?? req.amount, currency: over.currency ?? req.currency, atc: a });
      return hex(sealPeer(kpeer, KIND_INSTRUCTION, unhex(carrierId), instructionId(a), i));
    },
  };
}

function pin(platform: Platform, carrierId: string, digest: string, digits = TEST_PIN) {
  const desk = peerDesk(platform);
  const c = desk.pinChallenge({ carrierId, requestDigest: digest });
  const block = encryptPinBlock(digits, unhex(c.publicKey), { purpose: PinPurpose.PAY, carrierId: unhex(carrierId), orderId: unhex(digest.slice(0, PIN_ORDER_BYTES * 2)), challenge: unhex(c.challenge) });
  return { challenge: c.challenge, pinBlock: hex(block) };
}

function refusal(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    if (e instanceof PlatformError) return e.reason;
    throw e;
  }
  throw new Error("expected a refusal");
}

const settlements = (p: Platform) => Number(p.ledger.get("SELECT count(*) AS n FROM peer_settlements")!.n);

describe("peer desk: match and settle once", () => {
  it("settles one instruction against one request; a resend gets the same settlement; both sides see it", async () => {
    const p = await world();
    const desk = peerDesk(p);
    const payee = softCarrier(p);
    const payer = softCarrier(p);
    const req = payee.request(1250);
    const reg = desk.registerRequest({ sealed: req.sealed });
    expect(reg).toMatchObject({ created: true, requestDigest: req.digest, payeeId: payee.carrierId, amount: 1250, currency: "EUR", state: "open" });
    expect(desk.registerRequest({ sealed: req.sealed }).created).toBe(false);
    const ins = payer.instruct(req.r);
    const s = desk.submitInstruction({ sealed: ins, ...pin(p, payer.carrierId, req.digest) });
    expect(s).toMatchObject({ created: true, payerId: payer.carrierId, payeeId: payee.carrierId, amount: 1250, currency: "EUR", atc: 1, requestDigest: req.digest });
    // the answer was lost: the same instruction again, no PIN needed (its OK verdict is recorded)
    const again = desk.submitInstruction({ sealed: ins });
    expect(again).toMatchObject({ created: false, settlementId: s.settlementId });
    expect(desk.requestStatus(req.digest)).toMatchObject({ state: "settled", settlement: { settlementId: s.settlementId } });
    expect(settlements(p)).toBe(1);
  });

  it("refuses a second payer, a replayed ATC, an unknown or altered request, a mismatch, expiry, own request, bad seals — nothing settles twice", async () => {
    const p = await world();
    const desk = peerDesk(p);
    const payee = softCarrier(p);
    const payer = softCarrier(p);
    const other = softCarrier(p);
    const req = payee.request(500);
    desk.registerRequest({ sealed: req.sealed });

    // an instruction for a request the platform never received (a host changed the amount: R's digest changes)
    const altered = Uint8Array.from(req.r);
    altered[6 + altered[5]! + 7] = 0xff;
    expect(refusal(() => desk.submitInstruction({ sealed: payer.instruct(altered) }))).toBe("unknown-request");
    // a seal altered in transit, or a request sealed under another carrier's key
    const flipped = unhex(payer.instruct(req.r, { atc: 50 }));
    flipped[flipped.length - 20]! ^= 1;
    expect(refusal(() => desk.submitInstruction({ sealed: hex(flipped) }))).toBe("bad-seal");
    expect(refusal(() => desk.registerRequest({ sealed: payer.instruct(req.r, { atc: 51 }) }))).toBe("bad-seal");
    // amount or currency that disagree with the request (only a forger holding K_peer could seal one)
    expect(refusal(() => desk.submitInstruction({ sealed: payer.instruct(req.r, { amount: 5, atc: 52 }) }))).toBe("mismatch");
    // no PIN yet; a wrong PIN settles nothing
    expect(refusal(() => desk.submitInstruction({ sealed: payer.instruct(req.r, { atc: 53 }) }))).toBe("pin-required");
    expect(refusal(() => desk.submitInstruction({ sealed: payer.instruct(req.r, { atc: 53 }), ...pin(p, payer.carrierId, req.digest, "000000") }))).toBe("pin-wrong");
    // the payee paying itself
    expect(refusal(() => desk.submitInstruction({ sealed: payee.instruct(req.r) }))).toBe("own-request");
    expect(settlements(p)).toBe(0);

    const first = desk.submitInstruction({ sealed: payer.instruct(req.r, { atc: 53 }), ...pin(p, payer.carrierId, req.digest) });
    expect(first.created).toBe(true);
    // a second payer for the same request
    expect(refusal(() => desk.submitInstruction({ sealed: other.instruct(req.r), ...pin(p, other.carrierId, req.digest) }))).toBe("request-paid");
    // the payer's used ATC replayed for another request
    const req2 = payee.request(700);
    desk.registerRequest({ sealed: req2.sealed });
    expect(refusal(() => desk.submitInstruction({ sealed: payer.instruct(req2.r, { atc: 53 }), ...pin(p, payer.carrierId, req2.digest) }))).toBe("replayed");
    expect(settlements(p)).toBe(1);

    // expiry: registered while open, instructed after it
    const req3 = payee.request(800, "EUR", 60);
    desk.registerRequest({ sealed: req3.sealed });
    const pinned = pin(p, payer.carrierId, req3.digest);
    clock += 61_000;
    expect(refusal(() => desk.submitInstruction({ sealed: payer.instruct(req3.r), ...pinned }))).toBe("request-expired");
    expect(desk.requestStatus(req3.digest).state).toBe("expired");
    // registering one already expired, or one that asks for too long
    // req3 is registered: registering it again answers its (expired) status
    expect(desk.registerRequest({ sealed: req3.sealed })).toMatchObject({ created: false, state: "expired" });
    expect(refusal(() => desk.registerRequest({ sealed: payee.request(800, "EUR", 3600).sealed }))).toBe("expiry-too-far");
    expect(settlements(p)).toBe(1);
  });

  it("a blocked payer's carrier pays nothing", async () => {
    const p = await world();
    const desk = peerDesk(p);
    const payee = softCarrier(p);
    const payer = softCarrier(p);
    const req = payee.request(100);
    desk.registerRequest({ sealed: req.sealed });
    for (let i = 0; i < 3; i++) refusal(() => desk.submitInstruction({ sealed: payer.instruct(req.r, { atc: 9 }), ...pin(p, payer.carrierId, req.digest, "111111") }));
    expect(refusal(() => desk.submitInstruction({ sealed: payer.instruct(req.r, { atc: 9 }), ...pin(p, payer.carrierId, req.digest) }))).toBe("carrier-blocked");
    expect(settlements(p)).toBe(0);
  });

  it("survives a restart: the settled pair stays settled, a resend gets it, nothing settles twice", async () => {
    const t = tempDir();
    cleanups.push(t.cleanup);
    const p1 = await world(t.file);
    const payee = softCarrier(p1);
    const payer = softCarrier(p1);
    const req = payee.request(4200);
    peerDesk(p1).registerRequest({ sealed: req.sealed });
    const ins = payer.instruct(req.r);
    const s = peerDesk(p1).submitInstruction({ sealed: ins, ...pin(p1, payer.carrierId, req.digest) });
    p1.close();
    platforms.splice(platforms.indexOf(p1), 1);
    const p2 = await world(t.file);
    expect(peerDesk(p2).submitInstruction({ sealed: ins })).toMatchObject({ created: false, settlementId: s.settlementId });
    expect(settlements(p2)).toBe(1);
  });
});
