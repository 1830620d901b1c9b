// The offline key file (firmware/src/offline/key-store.ts) and the signing step (authorize.ts) on the
// virtual board's Storage over the NOR flash model (puckjs geometry), signatures checked by the
// independent reference verifier.
import { describe, expect, it } from "vitest";
import { makeRig } from "../store/harness.ts";
import {
  authPath, installOfflineKey, offlineLogEntry, markOnline, offlineKeyFileBytes, openOfflineKey, reserveLeaf, OFFLINE_KEY_FILE, leavesLeft,
} from "../../src/offline/key-store.ts";
import { offlineRefusal, offlineSignedMessage, signOffline, RULE_BAD, RULE_EXHAUSTED, RULE_LIMIT, RULE_OK, type OfflineRequest } from "../../src/offline/authorize.ts";
import { LMS_SHA256_M32_H5, LMS_SHA256_M32_H10 } from "../../src/offline/lms.ts";
import { createHash } from "node:crypto";
import { bin, hssVerify, nodeLmsNatives, otsPublicKey } from "./lms-reference.ts";
import { testHssPublicKey, testInstall, TEST_I, TEST_SEED } from "./offline-fixture.ts";

const CID = "\x01\x02\x03\x04\x05\x06\x07\x08";
const req = (amount: number, over: Partial<OfflineRequest> = {}): OfflineRequest => ({ amount, currency: "EUR", terminalId: "TERM0001", terminalNonce: "n".repeat(16), date: 20261207, ...over });
const C = "c".repeat(32);
const T = "TERM0001";

describe("offline key file", () => {
  it("installs, reopens after a reboot and signs payments that verify, one leaf each, in order", () => {
    const rig = makeRig();
    installOfflineKey(rig.env, testInstall());
    expect(rig.storage.read(OFFLINE_KEY_FILE)!.length).toBe(offlineKeyFileBytes(LMS_SHA256_M32_H5));
    let key = openOfflineKey(rig.env)!;
    expect(key).not.toBeNull();
    expect([key.next, key.cumulative, key.currency, key.perTxLimit, key.cumulativeLimit, key.expiry]).toEqual([0, 0, "EUR", 5000, 20000, 20271231]);
    const pub = testHssPublicKey();
    for (const amount of [100, 250]) {
      const a = signOffline(rig.env, key, nodeLmsNatives, CID, req(amount), C)!;
      expect(hssVerify(pub, bin(offlineSignedMessage(CID, req(amount), a.atc)), bin(a.signature))).toBe(true);
      expect(bin(a.signature).readUInt32BE(4)).toBe(a.atc - 1); // q inside the signature = ATC − 1
    }
    rig.reboot();
    key = openOfflineKey(rig.env)!;
    expect([key.next, key.cumulative, leavesLeft(key)]).toEqual([2, 350, 30]);
    expect(offlineLogEntry(rig.env, key, 1)).toEqual({ atc: 2, amount: 250, terminalId: "TERM0001", date: 20261207 });
    expect(offlineLogEntry(rig.env, key, 2)).toBeNull();
    const third = signOffline(rig.env, key, nodeLmsNatives, CID, req(1), C)!;
    expect(third.atc).toBe(3);
    expect(hssVerify(pub, bin(offlineSignedMessage(CID, req(1), 3)), bin(third.signature))).toBe(true);
  });

  it("online contact resets the cumulative amount, durably; no mark is written when nothing was spent", () => {
    const rig = makeRig();
    installOfflineKey(rig.env, testInstall());
    let key = openOfflineKey(rig.env)!;
    reserveLeaf(rig.env, key, 700, T, 1);
    reserveLeaf(rig.env, key, 300, T, 1);
    markOnline(rig.env, key);
    expect(key.cumulative).toBe(0);
    const marks = key.nextMark;
    markOnline(rig.env, key);
    expect(key.nextMark).toBe(marks);
    reserveLeaf(rig.env, key, 40, T, 1);
    rig.reboot();
    key = openOfflineKey(rig.env)!;
    expect([key.next, key.since, key.cumulative]).toEqual([3, 2, 40]);
  });

  it("risk rules: currency, expiry, per-transaction and cumulative limits (go online), keys exhausted", () => {
    const rig = makeRig();
    installOfflineKey(rig.env, testInstall({ cumulativeLimit: 6000 }));
    const key = openOfflineKey(rig.env)!;
    expect(offlineRefusal(key, req(100))[0]).toBe(RULE_OK);
    expect(offlineRefusal(key, req(100, { currency: "USD" }))).toEqual([RULE_BAD, "currency EUR only"]);
    expect(offlineRefusal(key, req(100, { date: 20280101 }))[0]).toBe(RULE_LIMIT);
    expect(offlineRefusal(key, req(5001))[1]).toMatch(/per-transaction limit 5000: go online/);
    reserveLeaf(rig.env, key, 5000, T, 1);
    expect(offlineRefusal(key, req(1000))[0]).toBe(RULE_OK);
    expect(offlineRefusal(key, req(1001))[1]).toMatch(/offline limit reached \(5000 of 6000 .*\): go online/);
    markOnline(rig.env, key);
    expect(offlineRefusal(key, req(5000))[0]).toBe(RULE_OK);
    while (reserveLeaf(rig.env, key, 0, T, 1) >= 0);
    expect(key.next).toBe(32);
    expect(offlineRefusal(key, req(1))).toEqual([RULE_EXHAUSTED, "no one-time keys left: re-issue"]);
    expect(signOffline(rig.env, key, nodeLmsNatives, CID, req(1), C)).toBeNull();
  });

  it("a torn or foreign file is no key; bad install input is refused with a reason", () => {
    const rig = makeRig();
    expect(openOfflineKey(rig.env)).toBeNull();
    installOfflineKey(rig.env, testInstall());
    const size = offlineKeyFileBytes(LMS_SHA256_M32_H5);
    const whole = rig.storage.read(OFFLINE_KEY_FILE)!;
    rig.storage.erase(OFFLINE_KEY_FILE);
    // the same bytes with one tree node bit flipped: CRC fails
    const flipped = whole.substr(0, 200) + String.fromCharCode(whole.charCodeAt(200) ^ 1) + whole.substr(201);
    rig.storage.write(OFFLINE_KEY_FILE, flipped, 0, size);
    expect(openOfflineKey(rig.env)).toBeNull();
    expect(() => installOfflineKey(rig.env, testInstall({ nodes: "x" }))).toThrow(/tree nodes expected/);
    expect(() => installOfflineKey(rig.env, testInstall({ id: "short" }))).toThrow(/I must be 16 B/);
    expect(() => installOfflineKey(rig.env, testInstall({ currency: "EURO" }))).toThrow(/bad limits/);
  });

  it("the chosen set (H10) needs 90,200 B: refused with StoreFull on a 40 KB Puck.js Storage, nothing left behind", () => {
    const rig = makeRig();
    const k = testInstall();
    expect(offlineKeyFileBytes(LMS_SHA256_M32_H10)).toBe(90200);
    let thrown: unknown;
    try {
      installOfflineKey(rig.env, { ...k, lmsType: LMS_SHA256_M32_H10, nodes: "\x00".repeat(2046 * 32) });
    } catch (e) { thrown = e; }
    expect(thrown).toMatchObject({ storeFull: true });
    expect(rig.storage.read(OFFLINE_KEY_FILE)).toBeUndefined();
  });

  it("authPath of leaf 5 starts with the leaf node of its sibling, leaf 4, computed independently", () => {
    const rig = makeRig();
    installOfflineKey(rig.env, testInstall());
    const key = openOfflineKey(rig.env)!;
    const path = authPath(rig.env, key, 5);
    expect(path.length).toBe(5 * 32);
    const r = 32 + 4;
    const leaf4 = createHash("sha256").update(Buffer.concat([TEST_I, Buffer.from([0, 0, 0, r, 0x82, 0x82]), otsPublicKey(3, TEST_I, 4, TEST_SEED)])).digest();
    expect(bin(path.substr(0, 32)).equals(leaf4)).toBe(true);
  });
});
