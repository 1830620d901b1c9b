// Offline credit payment end to end (issue #16 Done-when): the platform issues the carrier and, at
// personalisation, generates its offline key and has its credit authority license it; a VIRTUAL
// carrier runs the release full bundle (keycarrier.full.js) on `keycarrier emulate`; the POS
// terminal (host/src/pos) runs OFFLINE_LICENSE / OFFLINE_PAY / OFFLINE_SIG_READ against it over the
// USB console and over the virtual NFC reader (pcsc: → pcscd → vpcd → the board's NFC controller;
// skipped with the reason where pcscd/vpcd are missing), verifies offline, logs, uploads to the platform over HTTP, and clearing settles each
// payment exactly once. Then each refusal at its place, all against the real carrier firmware:
// forged license, revoked carrier, altered amount and replayed authorization at the terminal; a
// replayed authorization and a reused leaf (a carrier whose flash was cloned before a payment) at
// clearing; an exceeded offline limit at the carrier (OFFLINE_LIMIT).
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { compile } from "../firmware/build/pipeline.ts";
import { bundleSpec } from "../firmware/build/bundles.ts";
import { startEmulator, type RunningEmulator } from "../host/src/cli/emulate.ts";
import { KeyCarrier } from "../host/src/client.ts";
import { startPlatformServer, type RunningPlatform } from "../host/src/platform/http.ts";
import { PlatformClient } from "../host/src/platform/client.ts";
import { personalise, provision } from "../host/src/flows/personalise.ts";
import { pressVirtualButton } from "../host/src/flows/cli.ts";
import { PosTerminal } from "../host/src/pos/terminal.ts";
import { decodeLicense, encodeLicense, licenseSignedMessage } from "../host/src/offline/index.ts";
import { HssSigner, LMOTS, LMS, hssKeyFromSeed } from "../host/src/lms/index.ts";
import type { OfflineLicensing } from "../host/src/offline/carrier-key.ts";
import { LMS_SHA256_M32_H5 } from "../firmware/src/offline/lms.ts";
import { usePrivatePcscd } from "./pcsc-env.ts";
import { offlineOutcome, terminalFromPlatform } from "../host/test/offline/fixtures.ts";

const SMALL = { lms: LMS.LMS_SHA256_M32_H5, ots: LMOTS.LMOTS_SHA256_N32_W8 };
const LIMITS = { currency: "EUR", perTransactionLimit: 5000, cumulativeLimit: 8000, expiry: 20271231 };
/** 2026-12-07 12:00 UTC: platform and terminals share this clock (the carrier takes the terminal's date). */
const NOW_MS = Date.UTC(2026, 11, 7, 12);

const work = mkdtempSync(join(tmpdir(), "kc-offline-e2e-"));
const firmware = join(work, "keycarrier.full.js");
let running: RunningPlatform;
let admin: PlatformClient;
let merchantA: PlatformClient;
let merchantB: PlatformClient;
const closing: Array<() => unknown> = [];

beforeAll(async () => {
  process.env.KEYCARRIER_HOME = work;
  writeFileSync(firmware, (await compile({ entry: "firmware/src/main.ts", minify: true, features: bundleSpec("keycarrier.full.js").features })).code);
  running = await startPlatformServer({ dbFile: join(work, "ledger.sqlite"), port: 0, now: () => NOW_MS, pin: { kdf: { N: 1024, r: 8, p: 1 } }, offline: { authorityLevels: [SMALL, SMALL] } });
  admin = new PlatformClient(running.url, { apiKey: running.platform.createdAdminKey });
  merchantA = new PlatformClient(running.url, { apiKey: (await admin.registerMerchant({ name: "Shop A" })).apiKey });
  merchantB = new PlatformClient(running.url, { apiKey: (await admin.registerMerchant({ name: "Shop B" })).apiKey });
}, 90_000);
afterAll(async () => {
  for (const c of closing.reverse()) await c();
  await running?.close();
  rmSync(work, { recursive: true, force: true });
});

interface Carrier { emu: RunningEmulator; kc: KeyCarrier; carrierId: string }

/** A virtual carrier booting the full bundle from its flash (.bootcde), or from a copied flash image. */
async function boot(seed: number, flashFile?: string, nfc?: { host: string; port: number }): Promise<{ emu: RunningEmulator; kc: KeyCarrier }> {
  const emu = await startEmulator({ board: "nrf52840", tcpPort: 0, pty: false, ptyPath: undefined, controlPort: 0, flashFile, firmwareFile: flashFile ? undefined : firmware, seed, virtualClock: false, banner: false, ...(nfc ? { nfc } : {}) });
  const kc = await KeyCarrier.open(emu.tcp.url, { timeoutMs: 5000 });
  closing.push(() => emu.stop(), () => kc.close());
  return { emu, kc };
}

/** Provisioned and personalised by the platform, with the offline key its authority licensed. */
async function issuedCarrier(seed: number, authority: OfflineLicensing = running.platform.offline, nfc?: { host: string; port: number }): Promise<Carrier> {
  const { emu, kc } = await boot(seed, undefined, nfc);
  await provision(kc, running.platform);
  // H5 (32 payments) keeps key generation short; personalisation's default is H10
  const r = await personalise(kc, running.platform, { pin: "482913", offline: { authority, limits: LIMITS, lmsType: LMS_SHA256_M32_H5 } });
  return { emu, kc, carrierId: r.carrierId };
}

let terminals = 0;
async function newTerminal(): Promise<PosTerminal> {
  const t = await terminalFromPlatform(admin, join(work, `pos-${++terminals}.sqlite`), () => NOW_MS);
  closing.push(() => t.close());
  return t;
}

/** The cardholder presses BTN1 once the carrier shows the offline payment (LED on). */
const withPress = (c: { emu: RunningEmulator }) => ({ onSent: () => void pressVirtualButton(c.emu.control.port, 100) });

/** A relay's pass-through: the carrier client's own members, bound to it (it keeps private state). */
function bound(target: KeyCarrier, prop: string | symbol): unknown {
  const v = Reflect.get(target, prop, target) as unknown;
  return typeof v === "function" ? (v as (...a: unknown[]) => unknown).bind(target) : v;
}

const refusal = (p: Promise<unknown>): Promise<string> => offlineOutcome(p, true);

const clearedCount = (carrierId: string) => running.platform.ledger.get("SELECT count(*) AS n, COALESCE(sum(amount), 0) AS s FROM offline_clearings WHERE carrier_id = ?", [carrierId]);

describe("offline credit payment: platform-issued virtual carrier ↔ POS terminal ↔ clearing", () => {
  let carrier: Carrier;
  beforeAll(async () => {
    carrier = await issuedCarrier(21);
  }, 60_000);

  it("pays offline, verified at the terminal, uploaded, cleared exactly once; a second upload and another merchant's replay settle nothing", async () => {
    const t = await newTerminal();
    const paid = await t.pay(carrier.kc, 1250, "EUR", withPress(carrier));
    // the carrier's ATC is leaf + 1: the first payment signs with one-time key 0
    expect(paid).toMatchObject({ carrierId: carrier.carrierId, licenseSerial: 1, atc: 1, leafIndex: 0, amount: 1250, currency: "EUR", date: 20261207 });
    expect(paid.signatureBytes).toBeGreaterThan(480); // read back in chunks with OFFLINE_SIG_READ
    expect(paid.licenseBytes).toBeGreaterThan(480); // read in chunks with OFFLINE_LICENSE
    const second = await t.pay(carrier.kc, 700, "EUR", withPress(carrier));
    expect(second).toMatchObject({ atc: 2, leafIndex: 1 });
    expect(await t.upload(merchantA)).toEqual({ uploaded: 2, cleared: 2, alreadyCleared: 0, refused: [] });
    expect(clearedCount(carrier.carrierId)).toEqual({ n: 2, s: 1950 });
    // the answer was lost: the terminal uploads again; nothing settles twice
    for (const p of t.log.payments()) t.log.setUploadResult(p.id, null as unknown as string, null, null, NOW_MS);
    expect(await t.upload(merchantA)).toMatchObject({ uploaded: 2, cleared: 0, alreadyCleared: 2 });
    // replayed authorization at clearing: another merchant uploads the same record
    const record = PosTerminal.record(t.log.payments()[0]!);
    expect((await merchantB.clearOffline([record])).results[0]).toMatchObject({ status: "refused", reason: "replayed-authorization" });
    expect(clearedCount(carrier.carrierId)).toEqual({ n: 2, s: 1950 });
  }, 60_000);

  it("refused at the terminal: an altered amount and a replayed authorization (a relay between terminal and carrier); nothing logged", async () => {
    const t = await newTerminal();
    const real = carrier.kc;
    // a relay that asks the carrier for 1 while the terminal asks for 4200: the signature covers 1
    const altering = new Proxy(real, {
      get: (target, prop) => prop === "request"
        ? (cmd: number, body?: Map<number, unknown>, o?: unknown) => target.request(cmd, cmd === 0x51 && body ? new Map([...body, [1, 1]]) as never : body as never, o as never)
        : bound(target, prop),
    });
    expect(await refusal(t.pay(altering, 4200, "EUR", withPress(carrier)))).toMatch(/^bad-signature/);
    // a relay that recorded the carrier's earlier answer and plays it back instead of asking it
    let recorded: Map<number, unknown> | undefined;
    const recording = new Proxy(real, {
      get: (target, prop) => prop === "request"
        ? async (cmd: number, body?: Map<number, unknown>, o?: unknown) => {
          if (cmd === 0x51 && recorded) return recorded;
          const reply = await target.request(cmd, body as never, o as never);
          if (cmd === 0x51) recorded = reply as Map<number, unknown>;
          return reply;
        }
        : bound(target, prop),
    });
    const ok = await t.pay(recording, 300, "EUR", withPress(carrier));
    expect(await refusal(t.pay(recording, 300, "EUR"))).toMatch(/^bad-signature/); // not over this terminal's fresh nonce
    expect(t.log.payments().map((p) => p.id)).toEqual([ok.id]);
    expect(t.log.refusals().map((r) => r.reason)).toEqual(["bad-signature", "bad-signature"]);
  }, 60_000);

  it("an exceeded offline limit: per transaction at the terminal, cumulative at the carrier (OFFLINE_LIMIT)", async () => {
    const t = await newTerminal();
    expect(await refusal(t.pay(carrier.kc, 5001, "EUR"))).toMatch(/^over-transaction-limit/);
    // spent offline so far: 1250 + 700 + 1 (the altered request) + 300 = 2251 of 8000
    await t.pay(carrier.kc, 5000, "EUR", withPress(carrier));
    const over = await refusal(t.pay(carrier.kc, 1000, "EUR"));
    expect(over).toMatch(/^carrier-offline-limit: the carrier refuses offline payment \(offline limit reached.*7251 of 8000/);
    expect(await refusal(t.pay(carrier.kc, 100, "USD"))).toMatch(/^currency-mismatch/);
  }, 60_000);

  it("a revoked carrier: refused at the terminal once it has the new signed list", async () => {
    const t = await newTerminal();
    await admin.revokeOffline({ carrierId: carrier.carrierId, reason: "reported stolen" });
    expect(await refusal(t.pay(carrier.kc, 100, "EUR", withPress(carrier)))).toMatch(/^accepted/); // the old list: it cannot know yet
    t.setRevocationList(Buffer.from((await admin.offlineRevocations()).list, "hex"));
    expect(await refusal(t.pay(carrier.kc, 100, "EUR"))).toMatch(/^license-revoked/);
  }, 60_000);
});

describe("offline refusals that need another carrier", () => {
  it("a forged license (the platform's body under another key) is refused at the terminal before the carrier signs", async () => {
    const rogue = new HssSigner(hssKeyFromSeed([SMALL], new Uint8Array(32).fill(6), new Uint8Array(16).fill(6)));
    const forging: OfflineLicensing = {
      issueLicense(carrierId, publicKey, limits) {
        const real = running.platform.offline.issueLicense(carrierId, publicKey, limits);
        const body = decodeLicense(real.license).bodyBytes;
        return { ...real, license: encodeLicense(body, rogue.sign(licenseSignedMessage(body), () => {})) };
      },
    };
    const c = await issuedCarrier(22, forging);
    const t = await newTerminal();
    const sent: number[] = [];
    const watched = new Proxy(c.kc, {
      get: (target, prop) => prop === "request"
        ? (cmd: number, body?: unknown, o?: unknown) => { sent.push(cmd); return target.request(cmd, body as never, o as never); }
        : bound(target, prop),
    });
    expect(await refusal(t.pay(watched, 100, "EUR"))).toMatch(/^forged-license: the license is not signed by the credit authority/);
    expect(sent.length).toBeGreaterThan(0);
    expect(sent.every((cmd) => cmd === 0x50)).toBe(true); // only OFFLINE_LICENSE: no OFFLINE_PAY was ever sent
    expect(t.log.payments()).toHaveLength(0);
    expect(t.log.refusals().map((r) => r.reason)).toEqual(["forged-license"]);
  }, 60_000);

  it("a reused leaf: a carrier's flash copied before a payment, the copy pays elsewhere — clearing refuses the second", async () => {
    const c = await issuedCarrier(23);
    const image = join(work, "clone.flash");
    writeFileSync(image, c.emu.board.flash.snapshot());
    const clone = await boot(24, image);
    const t1 = await newTerminal();
    const t2 = await newTerminal();
    const a = await t1.pay(c.kc, 400, "EUR", withPress(c));
    const b = await t2.pay(clone.kc, 900, "EUR", withPress(clone)); // t2 never saw leaf 0: it cannot tell
    expect([a.leafIndex, b.leafIndex, a.atc, b.atc]).toEqual([0, 0, 1, 1]);
    expect((await t1.upload(merchantA)).cleared).toBe(1);
    const s2 = await t2.upload(merchantB);
    expect(s2.refused.map((r) => r.reason)).toEqual(["reused-leaf"]);
    expect(clearedCount(c.carrierId)).toEqual({ n: 1, s: 400 });
  }, 60_000);
});

describe("over the virtual NFC reader (PC/SC)", () => {
  const pcscd = usePrivatePcscd("hil-tests/offline-e2e.test.ts (PC/SC part)");

  it("personalised over USB, the terminal pays over pcsc: verified, uploaded, cleared once", async (ctx) => {
    const env = pcscd.env;
    if (!env) return ctx.skip(pcscd.skip);
    const c = await issuedCarrier(25, running.platform.offline, { host: "127.0.0.1", port: env.port });
    let nfc: KeyCarrier | undefined;
    for (let i = 0; !nfc; i++) {
      try {
        nfc = await KeyCarrier.open(`pcsc:"${env.readerName}"`, { timeoutMs: 5000 });
      } catch (e) {
        if (i >= 50) throw e;
        await new Promise((r) => setTimeout(r, 100)); // pcscd polls the reader for the card
      }
    }
    closing.push(() => nfc!.close());
    // ~20 s of wall time: ~400 reader frames (docs/OFFLINE.md), each a round trip through pcscd and vpcd
    const t = await newTerminal();
    const paid = await t.pay(nfc, 990, "EUR", withPress(c));
    expect(paid).toMatchObject({ carrierId: c.carrierId, atc: 1, leafIndex: 0, amount: 990 });
    expect(await t.upload(merchantA)).toMatchObject({ uploaded: 1, cleared: 1, refused: [] });
    expect(await t.upload(merchantA)).toMatchObject({ uploaded: 0 });
    expect(clearedCount(c.carrierId)).toEqual({ n: 1, s: 990 });
  }, 60_000);
});
