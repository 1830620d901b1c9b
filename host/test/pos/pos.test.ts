/**
 * The terminal (`keycarrier pos` library) against a SOFTWARE CARRIER DOUBLE over the real link layer,
 * and clearing at a real platform over HTTP. The refusals of issue #16, each at its place:
 * forged license, revoked carrier, replayed authorization, reused leaf, altered amount, exceeded
 * offline limit.
 */
import { describe, it, expect, beforeAll, afterAll, beforeEach, afterEach } from "vitest";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { KeyCarrier } from "../../src/client.ts";
import { startPlatformServer, type RunningPlatform } from "../../src/platform/http.ts";
import { PlatformClient } from "../../src/platform/client.ts";
import { PosTerminal } from "../../src/pos/terminal.ts";
import { decodeLicense, encodeLicense, licenseSignedMessage } from "../../src/offline/index.ts";
import { HssSigner, hssKeyFromSeed } from "../../src/lms/index.ts";
import { NOW_MS, TEST_AUTHORITY_LEVELS, TEST_CARRIER_LEVELS } from "../offline/fixtures.ts";
import { SoftCarrier, SoftCarrierTransport, type SoftCarrierOptions } from "../offline/soft-carrier.ts";
import { offlineOutcome, terminalFromPlatform } from "../offline/fixtures.ts";

const LIMITS = { currency: "EUR", perTransactionLimit: 5000, cumulativeLimit: 9000, expiry: 20271231 };

let running: RunningPlatform;
let admin: PlatformClient;
let merchantA: PlatformClient;
let merchantB: PlatformClient;
let dir: string;
let clock = NOW_MS;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "kc-pos-"));
  running = await startPlatformServer({ dbFile: join(dir, "ledger.sqlite"), port: 0, now: () => clock, offline: { authorityLevels: TEST_AUTHORITY_LEVELS } });
  admin = new PlatformClient(running.url, { apiKey: running.platform.createdAdminKey });
  merchantA = new PlatformClient(running.url, { apiKey: (await admin.registerMerchant({ name: "Shop A" })).apiKey });
  merchantB = new PlatformClient(running.url, { apiKey: (await admin.registerMerchant({ name: "Shop B" })).apiKey });
});
afterAll(async () => {
  await running.close();
  rmSync(dir, { recursive: true, force: true });
});

let terminalSeq = 0;
const open: Array<{ close(): unknown }> = [];
beforeEach(() => {
  clock = NOW_MS;
});
afterEach(async () => {
  for (const o of open.splice(0)) await o.close();
});

async function newTerminal(): Promise<PosTerminal> {
  const t = await terminalFromPlatform(admin, join(dir, `pos-${++terminalSeq}.sqlite`), () => clock);
  open.push(t);
  return t;
}

/** A carrier issued at the platform, its offline key generated at the issuer (issueOfflineKey). */
async function newCarrier(over: Partial<SoftCarrierOptions> = {}) {
  const { carrierId } = await admin.issueCarrier();
  const issued = running.platform.offline.issueOfflineKey(carrierId, TEST_CARRIER_LEVELS, LIMITS);
  const soft = new SoftCarrier({ license: issued.license, privateState: issued.privateState, ...over });
  return { carrierId, issued, soft };
}

async function connect(soft: SoftCarrier): Promise<KeyCarrier> {
  const kc = await KeyCarrier.open(new SoftCarrierTransport(soft), { timeoutMs: 2000 });
  open.push(kc);
  return kc;
}

const refusal = (p: Promise<unknown>): Promise<string> => offlineOutcome(p);

describe("keycarrier pos: an offline payment end to end (software carrier double)", () => {
  it("verifies license and authorization offline, logs them, uploads, and clearing settles exactly once", async () => {
    const terminal = await newTerminal();
    const { carrierId, soft } = await newCarrier();
    const kc = await connect(soft);
    const paid = await terminal.pay(kc, 1250, "EUR");
    expect(paid).toMatchObject({ carrierId, atc: 1, leafIndex: 0, amount: 1250, currency: "EUR", date: 20261207 });
    expect(paid.signatureBytes).toBeGreaterThan(480); // read back in chunks with OFFLINE_SIG_READ
    expect(paid.licenseBytes).toBeGreaterThan(480); // read in chunks with OFFLINE_LICENSE
    const second = await terminal.pay(kc, 700, "EUR");
    expect(second).toMatchObject({ atc: 2, leafIndex: 1 });
    expect(terminal.log.pending()).toHaveLength(2);
    expect(await terminal.upload(merchantA)).toEqual({ uploaded: 2, cleared: 2, alreadyCleared: 0, refused: [] });
    expect(terminal.log.pending()).toHaveLength(0);
    // The answer was lost and the terminal uploads again: nothing settles twice.
    for (const p of terminal.log.payments()) terminal.log.setUploadResult(p.id, null as unknown as string, null, null, clock);
    terminal.log.payments().forEach((p) => expect(p.uploadStatus).toBeNull());
    expect(await terminal.upload(merchantA)).toMatchObject({ uploaded: 2, cleared: 0, alreadyCleared: 2 });
    expect(running.platform.ledger.get("SELECT count(*) AS n, sum(amount) AS s FROM offline_clearings WHERE carrier_id = ?", [carrierId])).toEqual({ n: 2, s: 1950 });
  });

  it("splits a long log into uploads under the platform's request limit", async () => {
    const terminal = await newTerminal();
    const { carrierId, soft } = await newCarrier();
    const kc = await connect(soft);
    for (let i = 0; i < 12; i++) await terminal.pay(kc, 100 + i, "EUR");
    const summary = await terminal.upload(merchantA);
    expect(summary).toMatchObject({ uploaded: 12, cleared: 12, refused: [] });
    expect(Number(running.platform.ledger.get("SELECT count(*) AS n FROM offline_clearings WHERE carrier_id = ?", [carrierId])!.n)).toBe(12);
  });
});

describe("refused at the terminal", () => {
  it("a forged license (signed by another key, or altered) — before anything is signed", async () => {
    const terminal = await newTerminal();
    const { issued, soft } = await newCarrier();
    const rogue = new HssSigner(hssKeyFromSeed(TEST_AUTHORITY_LEVELS, new Uint8Array(32).fill(6), new Uint8Array(16).fill(6)));
    const d = decodeLicense(issued.license);
    const forged = new SoftCarrier({ license: encodeLicense(d.bodyBytes, rogue.sign(licenseSignedMessage(d.bodyBytes), () => {})), privateState: issued.privateState });
    expect(await refusal(terminal.pay(await connect(forged), 100, "EUR"))).toBe("forged-license");
    expect(forged.atc).toBe(0);
    const altered = Uint8Array.from(issued.license);
    altered[40] ^= 0x01; // inside the body (carrier public key)
    expect(await refusal(terminal.pay(await connect(new SoftCarrier({ license: altered, privateState: issued.privateState })), 100, "EUR"))).toBe("forged-license");
    expect(soft.atc).toBe(0);
    expect(terminal.log.refusals().map((r) => r.reason)).toEqual(["forged-license", "forged-license"]);
  });

  it("a license of a revoked carrier, once the terminal has the new signed list", async () => {
    const terminal = await newTerminal();
    const { carrierId, soft } = await newCarrier();
    const kc = await connect(soft);
    await terminal.pay(kc, 100, "EUR");
    await admin.revokeOffline({ carrierId, reason: "reported stolen" });
    terminal.setRevocationList(Buffer.from((await admin.offlineRevocations()).list, "hex"));
    expect(await refusal(terminal.pay(kc, 100, "EUR"))).toBe("license-revoked");
    expect(soft.atc).toBe(1);
  });

  it("a replayed authorization: an old signature, or a fresh one with an old ATC", async () => {
    const terminal = await newTerminal();
    const { soft } = await newCarrier();
    const kc = await connect(soft);
    await terminal.pay(kc, 300, "EUR");
    soft.attack = { replayPrevious: true };
    expect(await refusal(terminal.pay(kc, 300, "EUR"))).toBe("bad-signature"); // not over this terminal nonce
    soft.attack = { reuseAtc: true };
    expect(await refusal(terminal.pay(kc, 300, "EUR"))).toBe("replayed-authorization");
    expect(terminal.log.payments()).toHaveLength(1);
  });

  it("a reused one-time key (leaf)", async () => {
    const terminal = await newTerminal();
    const { soft } = await newCarrier();
    const kc = await connect(soft);
    await terminal.pay(kc, 300, "EUR");
    soft.attack = { reuseLeaf: true };
    expect(await refusal(terminal.pay(kc, 301, "EUR"))).toBe("reused-leaf");
    expect(terminal.log.payments()).toHaveLength(1);
  });

  it("an altered amount: the carrier's signature covers another amount", async () => {
    const terminal = await newTerminal();
    const { soft } = await newCarrier({ attack: { signAmount: 1 } });
    expect(await refusal(terminal.pay(await connect(soft), 4200, "EUR"))).toBe("bad-signature");
    expect(terminal.log.payments()).toHaveLength(0);
  });

  it("an exceeded offline limit: per transaction at the terminal, cumulative at the carrier; other currencies and a declined press", async () => {
    const terminal = await newTerminal();
    const { soft } = await newCarrier();
    const kc = await connect(soft);
    expect(await refusal(terminal.pay(kc, 5001, "EUR"))).toBe("over-transaction-limit");
    expect(soft.atc).toBe(0); // refused before the carrier was asked
    await terminal.pay(kc, 5000, "EUR");
    await terminal.pay(kc, 3000, "EUR");
    expect(await refusal(terminal.pay(kc, 1001, "EUR"))).toBe("carrier-offline-limit");
    expect(await refusal(terminal.pay(kc, 100, "USD"))).toBe("currency-mismatch");
    soft.press = "decline";
    expect(await refusal(terminal.pay(kc, 100, "EUR"))).toBe("declined");
    expect(terminal.log.refusals().map((r) => r.reason)).toEqual(["over-transaction-limit", "carrier-offline-limit", "currency-mismatch", "declined"]);
  });

  it("an expired license, and no revocation list yet", async () => {
    const terminal = await newTerminal();
    const { soft } = await newCarrier();
    const kc = await connect(soft);
    clock = Date.UTC(2028, 0, 1);
    expect(await refusal(terminal.pay(kc, 100, "EUR"))).toBe("license-expired");
    const { publicKey } = await admin.offlineAuthority();
    const bare = PosTerminal.init(join(dir, `pos-bare-${++terminalSeq}.sqlite`), Buffer.from(publicKey, "hex"));
    open.push(bare);
    expect(await refusal(bare.pay(kc, 100, "EUR"))).toBe("no-revocation-list");
  });

  it("an older or foreign revocation list", async () => {
    const terminal = await newTerminal();
    const oldList = Buffer.from((await admin.offlineRevocations()).list, "hex");
    const { carrierId } = await newCarrier();
    await admin.revokeOffline({ carrierId, reason: "test" });
    terminal.setRevocationList(Buffer.from((await admin.offlineRevocations()).list, "hex"));
    expect(() => terminal.setRevocationList(oldList)).toThrow(expect.objectContaining({ reason: "stale-revocation-list" }));
    const altered = Uint8Array.from(oldList);
    altered[12] ^= 1;
    expect(() => terminal.setRevocationList(altered)).toThrow(expect.objectContaining({ reason: "bad-revocation-list" }));
  });
});

describe("refused at clearing (what one terminal cannot see)", () => {
  it("a replayed authorization uploaded by another merchant's terminal", async () => {
    const t1 = await newTerminal();
    const { soft } = await newCarrier();
    await t1.pay(await connect(soft), 800, "EUR");
    const record = PosTerminal.record(t1.log.payments()[0]!);
    expect((await t1.upload(merchantA)).cleared).toBe(1);
    expect((await merchantB.clearOffline([record])).results[0]).toMatchObject({ status: "refused", reason: "replayed-authorization" });
  });

  it("a reused leaf spread over two terminals", async () => {
    const t1 = await newTerminal();
    const t2 = await newTerminal();
    const { soft } = await newCarrier();
    const kc = await connect(soft);
    await t1.pay(kc, 300, "EUR");
    soft.attack = { reuseLeaf: true };
    await t2.pay(kc, 301, "EUR"); // t2 has never seen leaf 0: it cannot tell
    expect((await t1.upload(merchantA)).cleared).toBe(1);
    expect((await t2.upload(merchantB)).refused.map((r) => r.reason)).toEqual(["reused-leaf"]);
  });

  it("an exceeded cumulative offline limit by a carrier that ignores its own limits", async () => {
    const t1 = await newTerminal();
    const t2 = await newTerminal();
    const { soft } = await newCarrier({ attack: { ignoreLimits: true } });
    const kc = await connect(soft);
    await t1.pay(kc, 5000, "EUR");
    await t2.pay(kc, 4000, "EUR");
    await t2.pay(kc, 1000, "EUR");
    expect((await t1.upload(merchantA)).cleared).toBe(1);
    const s2 = await t2.upload(merchantB);
    expect(s2.cleared).toBe(1);
    expect(s2.refused.map((r) => r.reason)).toEqual(["over-cumulative-limit"]);
  });

  it("a payment dated after its license was revoked", async () => {
    const t1 = await newTerminal();
    const { carrierId, soft } = await newCarrier();
    const kc = await connect(soft);
    await admin.revokeOffline({ carrierId, reason: "stolen" });
    clock = NOW_MS + 86_400_000; // the terminal has not downloaded the new list: it accepts
    await t1.pay(kc, 100, "EUR");
    expect((await t1.upload(merchantA)).refused.map((r) => r.reason)).toEqual(["license-revoked"]);
  });
});

describe("a carrier that breaks the protocol gets a clear refusal, and nothing is logged as paid", () => {
  const cases: Array<[string, (command: number, v: Map<number, unknown>) => Map<number, unknown>, RegExp]> = [
    ["license length 0", (c, v) => (c === 0x50 ? new Map([...v, [2, 0]]) : v), /license length 0/],
    ["a license chunk over 480 bytes", (c, v) => (c === 0x50 ? new Map([...v, [1, new Uint8Array(481)]]) : v), /chunk of 481 bytes/],
    ["a license shorter than announced", (c, v) => (c === 0x50 ? new Map([...v, [2, (v.get(2) as number) - 1]]) : v), /overruns the announced/],
    ["a text where the license chunk belongs", (c, v) => (c === 0x50 ? new Map([...v, [1, "license"]]) : v), /not a byte string/],
    ["a signature length beyond any signature", (c, v) => (c === 0x51 ? new Map([...v, [2, 10_000_000]]) : v), /signature length/],
    ["a signature chunk overrunning its length", (c, v) => (c === 0x52 ? new Map([...v, [1, new Uint8Array(480)]]) : v), /overruns the announced/],
    ["an ATC that is not a number", (c, v) => (c === 0x51 ? new Map([...v, [1, "7"]]) : v), /offline ATC/],
  ];
  for (const [name, tamper, message] of cases) {
    it(name, async () => {
      const terminal = await newTerminal();
      const { soft } = await newCarrier();
      soft.attack = { tamper: tamper as never };
      const kc = await connect(soft);
      await expect(terminal.pay(kc, 100, "EUR")).rejects.toThrow(message);
      expect(terminal.log.payments()).toHaveLength(0);
      expect(terminal.log.refusals().map((r) => r.reason)).toEqual(["bad-format"]);
    });
  }
});
