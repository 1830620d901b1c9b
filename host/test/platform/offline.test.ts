import { describe, it, expect, beforeEach, afterEach } from "vitest";
import { Platform } from "../../src/platform/service.ts";
import { startPlatformServer } from "../../src/platform/http.ts";
import { PlatformClient, PlatformRequestError } from "../../src/platform/client.ts";
import { OfflineError, decodeLicense, verifyLicense, verifyRevocationList, verifyAuthorization, encodeLicenseBody, encodeLicense, licenseSignedMessage } from "../../src/offline/index.ts";
import { HssSigner, hssKeyFromSeed, parseHssState } from "../../src/lms/index.ts";
import { NOW_MS, TEST_AUTHORITY_LEVELS, TEST_CARRIER_LEVELS, TODAY, SoftSigner, payRequest, record, hex } from "../offline/fixtures.ts";
import { tempDir, reasonOf } from "./helpers.ts";

const LIMITS = { currency: "EUR", perTransactionLimit: 5000, cumulativeLimit: 12000, expiry: 20271231 };

let platform: Platform;
let clock: number;
let cleanup: () => void;
let file: string;
const platformKey = new Uint8Array(32).fill(0x5a);
const open = () => Platform.open({ dbFile: file, platformKey, now: () => clock, offline: { authorityLevels: TEST_AUTHORITY_LEVELS } });

beforeEach(async () => {
  const t = tempDir();
  cleanup = t.cleanup;
  file = t.file;
  clock = NOW_MS;
  platform = await open();
});
afterEach(() => {
  platform.close();
  cleanup();
});

function carrierWithKey(limits = LIMITS) {
  const carrier = platform.issueCarrier();
  const issued = platform.offline.issueOfflineKey(carrier.carrierId, TEST_CARRIER_LEVELS, limits);
  return { carrier, issued, signer: new SoftSigner(issued.body.carrierId, issued.privateState) };
}

function merchant(name = "Kiosk") {
  return platform.registerMerchant({ name }).merchantId;
}

describe("credit authority key", () => {
  it("is created on first use, sealed under the platform key, and its index survives a restart", async () => {
    const pub = platform.offline.publicKey();
    const row = platform.ledger.get("SELECT private_state, key_protection, next_index FROM offline_authority")!;
    expect(row.key_protection).toBe("aes-256-gcm");
    expect(() => parseHssState(row.private_state as Uint8Array)).toThrow(/magic/); // not plaintext
    expect(Number(row.next_index)).toBe(1); // the empty revocation list was signed
    const { carrier } = carrierWithKey();
    expect(Number(platform.ledger.get("SELECT next_index FROM offline_authority")!.next_index)).toBe(2);
    platform.close();
    platform = await open();
    expect(hex(platform.offline.publicKey())).toBe(hex(pub));
    const again = platform.offline.issueOfflineKey(carrier.carrierId, TEST_CARRIER_LEVELS, LIMITS);
    // Every authority one-time key signs once: the licenses and the list carry distinct indices.
    const indices = platform.ledger.all("SELECT authority_index AS i FROM offline_licenses UNION ALL SELECT authority_index FROM offline_revocation_lists").map((r) => Number(r.i));
    expect(new Set(indices).size).toBe(indices.length);
    expect(again.serial).toBe(2);
  });
});

describe("credit authority key: signing state across failures", () => {
  it("a license whose transaction rolls back releases nothing, and the next one continues from the ledger's index", () => {
    const carrier = platform.issueCarrier();
    const own = new HssSigner(hssKeyFromSeed(TEST_CARRIER_LEVELS, new Uint8Array(32).fill(1), new Uint8Array(16).fill(1))).publicKey;
    platform.offline.issueLicense(carrier.carrierId, own, LIMITS); // index 1 (0 signed the empty revocation list)
    expect(() => platform.ledger.transaction(() => {
      platform.offline.issueLicense(carrier.carrierId, own, LIMITS); // signs with index 2 in memory…
      throw new Error("disk full"); // …and the transaction never commits
    })).toThrow(/disk full/);
    expect(Number(platform.ledger.get("SELECT next_index FROM offline_authority")!.next_index)).toBe(2);
    const next = platform.offline.issueLicense(carrier.carrierId, own, LIMITS);
    expect(Number(platform.ledger.get("SELECT authority_index FROM offline_licenses WHERE serial = ?", [next.serial])!.authority_index)).toBe(2);
    expect(verifyLicense(next.license, platform.offline.publicKey(), { today: TODAY }).body.serial).toBe(2);
  });

  it("after a crash the platform continues after the last committed signature", async () => {
    const carrier = platform.issueCarrier();
    const first = platform.offline.issueOfflineKey(carrier.carrierId, TEST_CARRIER_LEVELS, LIMITS);
    platform.crash();
    platform = await open();
    const second = platform.offline.issueOfflineKey(carrier.carrierId, TEST_CARRIER_LEVELS, LIMITS);
    const idx = platform.ledger.all("SELECT authority_index AS i FROM offline_licenses ORDER BY serial").map((r) => Number(r.i));
    expect(idx).toEqual([1, 2]);
    expect(second.serial).toBe(first.serial + 1);
    expect(platform.offlineAuthority().remainingSignatures).toBe(1024 - 3);
  });
});

describe("licenses", () => {
  it("issueOfflineKey licenses a key generated at the issuer; the license verifies under the authority key", () => {
    const { carrier, issued } = carrierWithKey();
    const license = verifyLicense(issued.license, platform.offline.publicKey(), { today: TODAY });
    expect(hex(license.body.carrierId)).toBe(carrier.carrierId);
    expect(license.body).toMatchObject({ currency: "EUR", perTransactionLimit: 5000, cumulativeLimit: 12000, expiry: 20271231, serial: 1 });
    expect(hex(license.body.publicKey)).toBe(hex(issued.publicKey));
    expect(parseHssState(issued.privateState).next).toBe(0);
  });

  it("issueLicense certifies a key the carrier generated itself", () => {
    const carrier = platform.issueCarrier();
    const own = new HssSigner(hssKeyFromSeed(TEST_CARRIER_LEVELS, new Uint8Array(32).fill(3), new Uint8Array(16).fill(4)));
    const issued = platform.offline.issueLicense(carrier.carrierId, own.publicKey, LIMITS);
    expect(hex(decodeLicense(issued.license).body.publicKey)).toBe(hex(own.publicKey));
  });

  it("refuses licenses for unknown or blocked carriers, bad keys and bad limits", () => {
    const own = new HssSigner(hssKeyFromSeed(TEST_CARRIER_LEVELS, new Uint8Array(32), new Uint8Array(16))).publicKey;
    expect(reasonOf(() => platform.issueOfflineLicense({ carrierId: "00".repeat(8), publicKey: hex(own), ...LIMITS }))).toBe("unknown-carrier");
    const carrier = platform.issueCarrier();
    expect(reasonOf(() => platform.issueOfflineLicense({ carrierId: carrier.carrierId, publicKey: hex(own).slice(2), ...LIMITS }))).toBe("bad-request");
    expect(reasonOf(() => platform.issueOfflineLicense({ carrierId: carrier.carrierId, publicKey: hex(own), ...LIMITS, cumulativeLimit: 10 }))).toBe("bad-request");
    expect(reasonOf(() => platform.issueOfflineLicense({ carrierId: carrier.carrierId, publicKey: hex(own), ...LIMITS, expiry: 20260230 }))).toBe("bad-request");
    expect(reasonOf(() => platform.issueOfflineLicense({ carrierId: carrier.carrierId, publicKey: hex(own), ...LIMITS, currency: "XXY" }))).toBe("bad-request");
    expect(platform.ledger.get("SELECT count(*) AS n FROM offline_licenses")!.n).toBe(0);
  });

  it("a license altered after signing, or signed by another authority, is forged", () => {
    const { issued } = carrierWithKey();
    const authority = platform.offline.publicKey();
    const altered = decodeLicense(issued.license);
    const body = encodeLicenseBody({ ...altered.body, cumulativeLimit: 999999 });
    const tampered = encodeLicense(body, altered.signature);
    expect(() => verifyLicense(tampered, authority, { today: TODAY })).toThrow(expect.objectContaining({ reason: "forged-license" }));
    const rogue = new HssSigner(hssKeyFromSeed(TEST_AUTHORITY_LEVELS, new Uint8Array(32).fill(9), new Uint8Array(16).fill(9)));
    const rogueLicense = encodeLicense(body, rogue.sign(licenseSignedMessage(body), () => {}));
    expect(() => verifyLicense(rogueLicense, authority, { today: TODAY })).toThrow(expect.objectContaining({ reason: "forged-license" }));
    expect(() => verifyLicense(issued.license, authority, { today: 20280101 })).toThrow(expect.objectContaining({ reason: "license-expired" }));
  });
});

describe("revocation", () => {
  it("revoking a carrier revokes its licenses and publishes a new signed list", () => {
    const { carrier, issued } = carrierWithKey();
    const before = platform.offlineRevocations();
    expect(before).toMatchObject({ sequence: 1, revoked: [] });
    const r = platform.revokeOffline({ carrierId: carrier.carrierId, reason: "lost" });
    expect(r.revoked).toEqual([issued.serial]);
    const list = verifyRevocationList(Buffer.from(platform.offlineRevocations().list, "hex"), platform.offline.publicKey());
    expect(list).toMatchObject({ sequence: 2, revoked: [issued.serial] });
    // Revoking again changes nothing and signs nothing.
    expect(platform.revokeOffline({ serial: issued.serial, reason: "lost" }).revoked).toEqual([]);
    expect(platform.offlineRevocations().sequence).toBe(2);
    expect(() => verifyLicense(issued.license, platform.offline.publicKey(), { today: TODAY, revoked: new Set(list.revoked) })).toThrow(expect.objectContaining({ reason: "license-revoked" }));
  });

  it("a revocation list signed by anyone else, or altered, is refused", () => {
    const list = Buffer.from(platform.offlineRevocations().list, "hex");
    const altered = Uint8Array.from(list);
    altered[10] ^= 1;
    expect(() => verifyRevocationList(altered, platform.offline.publicKey())).toThrow(OfflineError);
    const other = new HssSigner(hssKeyFromSeed(TEST_AUTHORITY_LEVELS, new Uint8Array(32).fill(1), new Uint8Array(16).fill(1))).publicKey;
    expect(() => verifyRevocationList(list, other)).toThrow(/not signed by the credit authority/);
  });
});

describe("clearing", () => {
  it("clears a genuine authorization exactly once; a retry answers already-cleared", () => {
    const m = merchant();
    const { issued, signer } = carrierWithKey();
    const a = signer.sign(payRequest());
    expect(verifyAuthorization(issued.body, a).index).toBe(0);
    const first = platform.clearOffline(m, { records: [record(issued.license, a)] }).results[0]!;
    expect(first).toMatchObject({ index: 0, status: "cleared", atc: 1, amount: 1250, currency: "EUR" });
    const retry = platform.clearOffline(m, { records: [record(issued.license, a)] }).results[0]!;
    expect(retry).toMatchObject({ status: "already-cleared", clearingId: (first as { clearingId: string }).clearingId });
    expect(platform.ledger.get("SELECT count(*) AS n, sum(amount) AS s FROM offline_clearings")).toEqual({ n: 1, s: 1250 });
  });

  it("refuses each attack with its reason and settles nothing for it", () => {
    const m = merchant();
    const other = merchant("Other shop");
    const { carrier, issued, signer } = carrierWithKey();
    const good = signer.sign(payRequest());
    expect(platform.clearOffline(m, { records: [record(issued.license, good)] }).results[0]!.status).toBe("cleared");

    const altered = { ...record(issued.license, signer.sign(payRequest())), amount: 4999 };
    const replayedElsewhere = record(issued.license, good);
    const reused = record(issued.license, signer.signWithIndex(0, payRequest({ amount: 300 }), 77));
    const overTx = record(issued.license, signer.sign(payRequest({ amount: 5001 })));
    const sameAtc = record(issued.license, { ...signer.sign(payRequest({ amount: 100 })), atc: 1 });
    const forgedLicense = (() => {
      const d = decodeLicense(issued.license);
      return record(encodeLicense(encodeLicenseBody({ ...d.body, cumulativeLimit: 10 ** 9 }), d.signature), signer.sign(payRequest({ amount: 10 })));
    })();
    const results = platform.clearOffline(m, { records: [altered, reused, overTx, sameAtc, forgedLicense, { license: "zz" }] }).results;
    expect(results.map((r) => (r.status === "refused" ? r.reason : r.status))).toEqual([
      "bad-signature", "reused-leaf", "over-transaction-limit", "bad-signature", "forged-license", "bad-format",
    ]);
    expect(platform.clearOffline(other, { records: [replayedElsewhere] }).results[0]).toMatchObject({ status: "refused", reason: "replayed-authorization" });
    // A genuine second payment at the same terminal nonce is a replay too.
    const sameNonce = signer.sign(payRequest({ terminalNonce: good.terminalNonce, amount: 20 }));
    expect(platform.clearOffline(m, { records: [record(issued.license, sameNonce)] }).results[0]).toMatchObject({ reason: "replayed-authorization" });
    // Revoked on this day: a payment dated after the revocation is refused.
    platform.revokeOffline({ carrierId: carrier.carrierId, reason: "stolen" });
    const later = signer.sign(payRequest({ date: 20261208 }));
    expect(platform.clearOffline(m, { records: [record(issued.license, later)] }).results[0]).toMatchObject({ reason: "license-revoked" });
    expect(platform.ledger.get("SELECT count(*) AS n FROM offline_clearings")!.n).toBe(1);
  });

  it("enforces the cumulative offline limit since the carrier's last online payment", () => {
    const m = merchant();
    const { issued, signer } = carrierWithKey({ ...LIMITS, perTransactionLimit: 5000, cumulativeLimit: 9000 });
    const statuses = [4000, 4000, 1500, 1000].map((amount) => {
      const r = platform.clearOffline(m, { records: [record(issued.license, signer.sign(payRequest({ amount })))] }).results[0]!;
      return r.status === "refused" ? r.reason : r.status;
    });
    expect(statuses).toEqual(["cleared", "cleared", "over-cumulative-limit", "cleared"]);
  });

  it("refuses uploads that are not a list of records, and merchants that do not exist", () => {
    const m = merchant();
    expect(reasonOf(() => platform.clearOffline(m, { records: [] }))).toBe("bad-format");
    expect(reasonOf(() => platform.clearOffline(m, { records: "x" }))).toBe("bad-format");
    expect(reasonOf(() => platform.clearOffline(4242, { records: [{}] }))).toBe("unknown-merchant");
  });
});

describe("offline routes over HTTP", () => {
  it("licenses, revocation list, and clearing with the merchant's key", async () => {
    const t = tempDir();
    const running = await startPlatformServer({ dbFile: t.file, platformKey, now: () => clock, offline: { authorityLevels: TEST_AUTHORITY_LEVELS } });
    try {
      const admin = new PlatformClient(running.url, { apiKey: running.platform.createdAdminKey ?? undefined });
      const anyone = new PlatformClient(running.url);
      const { publicKey } = await anyone.offlineAuthority();
      const carrier = await admin.issueCarrier();
      const own = new HssSigner(hssKeyFromSeed(TEST_CARRIER_LEVELS, new Uint8Array(32).fill(8), new Uint8Array(16).fill(8)));
      const lic = await admin.issueOfflineLicense({ carrierId: carrier.carrierId, publicKey: hex(own.publicKey), ...LIMITS });
      const license = verifyLicense(Buffer.from(lic.license, "hex"), Buffer.from(publicKey, "hex"), { today: TODAY });
      const soft = new SoftSigner(license.body.carrierId, own.serialisedState);
      const shop = await admin.registerMerchant({ name: "Bakery" });
      const merchantClient = new PlatformClient(running.url, { apiKey: shop.apiKey });
      const a = soft.sign(payRequest());
      expect((await merchantClient.clearOffline([record(license.bytes, a)])).results[0]).toMatchObject({ status: "cleared" });
      await expect(admin.clearOffline([record(license.bytes, a)])).rejects.toMatchObject({ httpStatus: 403 });
      await expect(anyone.issueOfflineLicense({ carrierId: carrier.carrierId, publicKey: hex(own.publicKey), ...LIMITS })).rejects.toBeInstanceOf(PlatformRequestError);
      await admin.revokeOffline({ serial: lic.serial, reason: "test" });
      const list = await anyone.offlineRevocations();
      expect(verifyRevocationList(Buffer.from(list.list, "hex"), Buffer.from(publicKey, "hex")).revoked).toEqual([lic.serial]);
    } finally {
      await running.close();
      t.cleanup();
    }
  });
});
