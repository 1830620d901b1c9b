// Offline card-emulation payment on the carrier (PROTOCOL.md §11), end to end on the virtual
// nRF52840 running the RELEASE full bundle (keycarrier.full.js, the one with KC_OFFLINE): the test
// personalises, installs the offline key and license with OFFLINE_INSTALL in the personalised
// session (playing the platform with the test authority), then plays the POS terminal over the
// outer commands and verifies everything with the independent reference verifier.
import { afterEach, describe, expect, it } from "vitest";
import { randomBytes } from "node:crypto";
import { CarrierRig, ST, type Identity } from "../firmware/test/applets/carrier-harness.ts";
import { encodeCbor, type CborMap } from "../host/src/codec.ts";
import { encodeKeySection } from "../firmware/src/offline/key-store.ts";
import { bin, hssVerify } from "../firmware/test/offline/lms-reference.ts";
import { makeLicense, testHssPublicKey, testInstall } from "../firmware/test/offline/offline-fixture.ts";
import { payOrderBody, transportIdentity } from "../firmware/test/applets/carrier-harness.ts";
import { TEST_SEED } from "../firmware/test/offline/offline-fixture.ts";

const OFF = { LICENSE: 0x50, PAY: 0x51, SIG_READ: 0x52, INSTALL: 0x53 } as const;
const OST = { LIMIT: 0x50, EXHAUSTED: 0x51, NO_LICENSE: 0x52 } as const;
const CARRIER_ID = Buffer.from("c0ffee0000000001", "hex");
const PLATFORM_ID = new TextEncoder().encode("KC-PLATFORM-TEST");
const PIECE = 448;

const rigs: CarrierRig[] = [];
afterEach(() => { for (const r of rigs.splice(0)) r.board.dispose(); });

async function personalised(): Promise<{ rig: CarrierRig; id: Identity }> {
  const rig = await CarrierRig.boot({ board: "nrf52840", nfcBundle: "keycarrier.full.js" });
  rigs.push(rig);
  const channelKey = randomBytes(32), cryptogramKey = randomBytes(32);
  const ch = await rig.openChannel(transportIdentity(rig.serial));
  const r = await rig.inner(ch, 0x60, new Map<number, Uint8Array | number>([[1, CARRIER_ID], [2, PLATFORM_ID], [3, channelKey], [4, cryptogramKey], [5, 1_000_000]]));
  expect(r.status, String(r.body.get(1))).toBe(ST.OK);
  // the rig MACs PIN verdicts for online PAY with these (it plays the platform)
  rig.payKeys = { carrierId: CARRIER_ID, cryptogramKey };
  return { rig, id: { carrierId: CARRIER_ID, platformId: PLATFORM_ID, channelKey } };
}

const LIMITS = { perTxLimit: 5000, cumulativeLimit: 8000, expiry: 20271231, currency: "EUR" };

async function install(rig: CarrierRig, id: Identity, parts: ("key" | "license")[] = ["key", "license"]): Promise<Uint8Array> {
  const ch = await rig.openChannel(id);
  const section = bin(encodeKeySection(testInstall(LIMITS)));
  const { license } = makeLicense({ carrierId: CARRIER_ID, carrierPublicKey: testHssPublicKey(), serial: 7, ...LIMITS });
  for (const [part, bytes] of [[1, section], [2, license]] as const) {
    if (!parts.includes(part === 1 ? "key" : "license")) continue;
    for (let off = 0; off < bytes.length; off += PIECE) {
      const piece = bytes.subarray(off, off + PIECE);
      const r = await rig.inner(ch, OFF.INSTALL, new Map<number, number | Uint8Array>([[1, part], [2, off], [3, bytes.length], [4, piece]]));
      expect(r.status, String(r.body.get(1))).toBe(ST.OK);
      expect(r.body.get(1)).toBe(off + piece.length);
    }
  }
  return license;
}

const request = (amount: number, nonce = randomBytes(16), over: Partial<{ currency: string; date: number }> = {}): CborMap =>
  new Map<number, number | string | Uint8Array>([[1, amount], [2, over.currency ?? "EUR"], [3, Buffer.from("TERM0001")], [4, nonce], [5, over.date ?? 20261207]]);

/** What the terminal checks: the signature over "KC-OFFLINE-v1" ‖ CBOR {1 cid … 7 atc}, built here from the spec. */
function signedMessage(req: CborMap, atc: number): Uint8Array {
  const m = new Map<number, number | string | Uint8Array>([[1, CARRIER_ID], [2, req.get(1) as number], [3, req.get(2) as string], [4, req.get(3) as Uint8Array], [5, req.get(4) as Uint8Array], [6, req.get(5) as number], [7, atc]]);
  return Buffer.concat([Buffer.from("KC-OFFLINE-v1"), encodeCbor(m)]);
}

async function readSignature(rig: CarrierRig, first: Uint8Array, total: number): Promise<Buffer> {
  const parts = [Buffer.from(first)];
  let have = first.length;
  while (have < total) {
    const r = await rig.outer(OFF.SIG_READ, new Map([[1, have]]));
    expect(r.status).toBe(ST.OK);
    const c = r.body.get(1) as Uint8Array;
    parts.push(Buffer.from(c));
    have += c.length;
  }
  return Buffer.concat(parts);
}

describe("offline payment on the carrier (full bundle, virtual nRF52840)", () => {
  it("license, payment with a press, signature chunks: everything verifies offline; a repeated request gets the same authorization", async () => {
    const { rig, id } = await personalised();
    expect((await rig.outer(OFF.LICENSE)).status).toBe(OST.NO_LICENSE);
    const license = await install(rig, id);
    // the terminal reads the license in chunks
    const l0 = await rig.outer(OFF.LICENSE);
    expect(l0.status).toBe(ST.OK);
    const total = l0.body.get(2) as number;
    const chunks = [Buffer.from(l0.body.get(1) as Uint8Array)];
    for (let off = chunks[0]!.length; off < total; off += 480) chunks.push(Buffer.from((await rig.outer(OFF.LICENSE, new Map([[1, off]]))).body.get(1) as Uint8Array));
    expect(Buffer.concat(chunks).equals(Buffer.from(license))).toBe(true);

    const req = request(1234);
    const r = await rig.outer(OFF.PAY, req, () => rig.press());
    expect(r.status, String(r.body.get(1))).toBe(ST.OK);
    const atc = r.body.get(1) as number;
    expect(atc).toBe(1);
    const sig = await readSignature(rig, r.body.get(3) as Uint8Array, r.body.get(2) as number);
    expect(hssVerify(testHssPublicKey(), Buffer.from(signedMessage(req, atc)), sig)).toBe(true);
    // altered amount: the same signature does not verify
    expect(hssVerify(testHssPublicKey(), Buffer.from(signedMessage(request(1235, Buffer.from(req.get(4) as Uint8Array)), atc)), sig)).toBe(false);
    // the terminal lost the reply and sends the same request: the same authorization, no new leaf
    const again = await rig.outer(OFF.PAY, req);
    expect(again.status).toBe(ST.OK);
    expect(again.body.get(1)).toBe(1);
    // the next payment takes the next leaf
    const req2 = request(100);
    const r2 = await rig.outer(OFF.PAY, req2, () => rig.press());
    expect(r2.body.get(1)).toBe(2);
    const sig2 = await readSignature(rig, r2.body.get(3) as Uint8Array, r2.body.get(2) as number);
    expect(sig2.readUInt32BE(4)).toBe(1);
    expect(hssVerify(testHssPublicKey(), Buffer.from(signedMessage(req2, 2)), sig2)).toBe(true);
  });

  it("risk rules and the user: per-transaction and cumulative limits say go online; a long press declines; the leaf survives a reboot", async () => {
    const { rig, id } = await personalised();
    await install(rig, id);
    const over = await rig.outer(OFF.PAY, request(5001));
    expect(over.status).toBe(OST.LIMIT);
    expect(String(over.body.get(1))).toMatch(/per-transaction limit 5000: go online/);
    expect((await rig.outer(OFF.PAY, request(1, undefined, { currency: "USD" }))).status).toBe(ST.BAD_ARGUMENT);
    const declined = await rig.outer(OFF.PAY, request(4000), () => { rig.board.clickButton(1, 1_500); rig.board.runUntilIdle(2_000); });
    expect(declined.status).toBe(ST.PAY_DECLINED);
    expect((await rig.outer(OFF.PAY, request(5000), () => rig.press())).body.get(1)).toBe(1);
    // power-cycle: the same flash, the full bundle booted again
    const image = rig.board.flash.snapshot();
    rig.board.dispose();
    rigs.pop();
    const rig2 = await CarrierRig.boot({ board: "nrf52840", nfcBundle: "keycarrier.full.js", flashImage: image, provision: false });
    rigs.push(rig2);
    // 5,000 of 8,000 spent offline since the last online contact: 3,001 more is refused, 3,000 is fine
    const cum = await rig2.outer(OFF.PAY, request(3001));
    expect(cum.status).toBe(OST.LIMIT);
    expect(String(cum.body.get(1))).toMatch(/offline limit reached \(5000 of 8000/);
    const ok = await rig2.outer(OFF.PAY, request(3000), () => rig2.press());
    expect(ok.status).toBe(ST.OK);
    expect(ok.body.get(1)).toBe(2); // leaf 0 was not reused after the reboot
  });

  it("a key without a license, or no install at all, is NO_LICENSE; OFFLINE_INSTALL is inner only", async () => {
    const { rig, id } = await personalised();
    expect((await rig.outer(OFF.INSTALL, new Map())).status).toBe(0x03); // UNKNOWN_COMMAND at the outer level
    await install(rig, id, ["key"]);
    expect((await rig.outer(OFF.PAY, request(1))).status).toBe(OST.NO_LICENSE);
    expect((await rig.outer(OFF.SIG_READ, new Map([[1, 0]]))).status).toBe(ST.BAD_ARGUMENT);
  });

  it("an OK online PAY is the online contact: the cumulative offline amount starts again", async () => {
    const { rig, id } = await personalised();
    await install(rig, id);
    expect((await rig.outer(OFF.PAY, request(5000), () => rig.press())).status).toBe(ST.OK);
    expect((await rig.outer(OFF.PAY, request(3001))).status).toBe(OST.LIMIT);
    const ch = await rig.openChannel(id);
    const online = await rig.pay(ch, payOrderBody({ orderId: "0102030405060708090a0b0c", merchantId: "00000007", amount: 1250, currency: "EUR" }), "ok");
    expect(online.status, String(online.body.get(1))).toBe(ST.OK);
    const after = await rig.outer(OFF.PAY, request(5000), () => rig.press());
    expect(after.status, String(after.body.get(1))).toBe(ST.OK);
    expect(after.body.get(1)).toBe(2);
  });

  it("WIPE takes the offline key and license with the other keys: SEED is gone from the flash", async () => {
    const { rig, id } = await personalised();
    await install(rig, id);
    expect(Buffer.from(rig.board.flash.snapshot()).includes(TEST_SEED)).toBe(true);
    rig.board.clickButton(1, 3_200);
    rig.board.runUntilIdle(1_000);
    const w = await rig.outer(0x20);
    expect(w.status).toBe(ST.OK);
    expect(rig.board.storage.read("kc.olk")).toBeUndefined();
    expect(rig.board.storage.read("kc.olic")).toBeUndefined();
    expect(Buffer.from(rig.board.flash.snapshot()).includes(TEST_SEED)).toBe(false);
    expect((await rig.outer(OFF.LICENSE)).status).toBe(ST.NOT_ALLOWED);
  });
});
