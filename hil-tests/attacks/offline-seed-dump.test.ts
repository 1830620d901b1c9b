// Attack on the offline credit key (issue 16; SECURITY.md §2): a thief holds BTN1 at power-on,
// dumps every Storage file through the REPL (world.ts btn1Dump), and finds the carrier's offline
// key file kc.olk with its LMS SEED and I IN THE CLEAR (docs/OFFLINE.md Part A §2: the carrier
// signs offline without any PIN, so nothing on an MCU without a secure element can hide it). With
// the license (public: any terminal reads it) the thief becomes a software carrier and pays at
// terminals. What this test shows, against the platform-issued key of a real carrier:
//  - NOT defended: the dump yields the SEED; the thief's signatures with one-time keys the carrier
//    has not used verify at any terminal and CLEAR at the platform, up to the license's limits;
//  - defended at clearing: a one-time key (leaf) the carrier already used is refused (reused-leaf),
//    and the cumulative offline limit since the carrier's last online contact holds however many
//    terminals the thief visits (over-cumulative-limit);
//  - after the owner reports the theft, a terminal with the new signed revocation list refuses the
//    license (license-revoked), and clearing refuses payments dated after the revocation.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { compile } from "../../firmware/build/pipeline.ts";
import { bundleSpec } from "../../firmware/build/bundles.ts";
import { startEmulator, type RunningEmulator } from "../../host/src/cli/emulate.ts";
import { KeyCarrier } from "../../host/src/client.ts";
import { startPlatformServer, type RunningPlatform } from "../../host/src/platform/http.ts";
import { PlatformClient } from "../../host/src/platform/client.ts";
import { personalise, provision } from "../../host/src/flows/personalise.ts";
import { pressVirtualButton } from "../../host/src/flows/cli.ts";
import { PosTerminal } from "../../host/src/pos/terminal.ts";
import { readLicense } from "../../host/src/pos/carrier-io.ts";
import { LMOTS, LMS, lmotsParams, lmsParams, serialiseHssState } from "../../host/src/lms/index.ts";
import { LMS_SHA256_M32_H5 } from "../../firmware/src/offline/lms.ts";
import { SoftCarrier, SoftCarrierTransport } from "../../host/test/offline/soft-carrier.ts";
import { btn1Dump } from "./world.ts";
import { offlineOutcome, terminalFromPlatform } from "../../host/test/offline/fixtures.ts";

const SMALL = { lms: LMS.LMS_SHA256_M32_H5, ots: LMOTS.LMOTS_SHA256_N32_W8 };
const LIMITS = { currency: "EUR", perTransactionLimit: 5000, cumulativeLimit: 8000, expiry: 20271231 };
const NOW_MS = Date.UTC(2026, 11, 7, 12);
let clock = NOW_MS;

const work = mkdtempSync(join(tmpdir(), "kc-offline-dump-"));
const closing: Array<() => unknown> = [];
let running: RunningPlatform;
let admin: PlatformClient;
let shop: PlatformClient;
let emu: RunningEmulator;
let kc: KeyCarrier;
let carrierId: string;

beforeAll(async () => {
  process.env.KEYCARRIER_HOME = work;
  const firmware = join(work, "keycarrier.full.js");
  writeFileSync(firmware, (await compile({ entry: "firmware/src/main.ts", minify: true, features: bundleSpec("keycarrier.full.js").features })).code);
  running = await startPlatformServer({ dbFile: join(work, "ledger.sqlite"), port: 0, now: () => clock, pin: { kdf: { N: 1024, r: 8, p: 1 } }, offline: { authorityLevels: [SMALL, SMALL] } });
  admin = new PlatformClient(running.url, { apiKey: running.platform.createdAdminKey });
  shop = new PlatformClient(running.url, { apiKey: (await admin.registerMerchant({ name: "Shop" })).apiKey });
  emu = await startEmulator({ board: "nrf52840", tcpPort: 0, pty: false, ptyPath: undefined, controlPort: 0, flashFile: undefined, firmwareFile: firmware, seed: 31, virtualClock: false, banner: false });
  kc = await KeyCarrier.open(emu.tcp.url, { timeoutMs: 5000 });
  closing.push(() => emu.stop(), () => kc.close());
  await provision(kc, running.platform);
  carrierId = (await personalise(kc, running.platform, { pin: "482913", offline: { authority: running.platform.offline, limits: LIMITS, lmsType: LMS_SHA256_M32_H5 } })).carrierId;
}, 90_000);
afterAll(async () => {
  for (const c of closing.reverse()) await c();
  await running?.close();
  rmSync(work, { recursive: true, force: true });
});

let terminals = 0;
async function newTerminal(): Promise<PosTerminal> {
  const t = await terminalFromPlatform(admin, join(work, `pos-${++terminals}.sqlite`), () => clock);
  closing.push(() => t.close());
  return t;
}

const refusal = (p: Promise<unknown>): Promise<string> => offlineOutcome(p);

describe("attack: BTN1 dump of the offline key, then offline payments as a software carrier", () => {
  it("the SEED is in the dump; unused one-time keys pay up to the limits (not defended); a used leaf, the cumulative limit and revocation are refused", async () => {
    // The owner pays once offline (leaf 0, ATC 1); the terminal uploads; it clears.
    const owner = await newTerminal();
    await owner.pay(kc, 1250, "EUR", { onSent: () => void pressVirtualButton(emu.control.port, 100) });
    expect((await owner.upload(shop)).cleared).toBe(1);

    // The theft: BTN1 → REPL → every Storage file. kc.olk: "KCO1" ‖ LMS type ‖ OTS type ‖ I ‖ SEED …
    const dump = btn1Dump(emu.board.flash.snapshot());
    const olk = dump.get("kc.olk")!;
    expect(olk.subarray(0, 4).toString("latin1")).toBe("KCO1");
    const I = Uint8Array.from(olk.subarray(12, 28)), seed = Uint8Array.from(olk.subarray(28, 60));
    const levels = [{ lms: lmsParams(olk.readUInt32BE(4)), ots: lmotsParams(olk.readUInt32BE(8)) }];
    const license = await readLicense(kc); // public: any terminal reads it
    const thiefAt = async (next: number, atc: number) => {
      const soft = new SoftCarrier({ license, privateState: serialiseHssState({ levels, seed, I, next }), attack: { ignoreLimits: true } });
      soft.atc = atc - 1;
      const thief = await KeyCarrier.open(new SoftCarrierTransport(soft), { timeoutMs: 2000 });
      closing.push(() => thief.close());
      return thief;
    };

    // NOT defended: leaves the carrier has not used yet sign payments that verify and clear.
    const t1 = await newTerminal();
    const stolen = await t1.pay(await thiefAt(20, 21), 5000, "EUR");
    expect(stolen).toMatchObject({ carrierId, leafIndex: 20, atc: 21 });
    const s1 = await t1.upload(shop);
    expect(s1).toMatchObject({ cleared: 1, refused: [] });

    // Defended at clearing: the leaf the owner used (0) signed again — the terminal cannot tell.
    const t2 = await newTerminal();
    const reused = await t2.pay(await thiefAt(0, 1), 100, "EUR");
    expect(reused.leafIndex).toBe(0);
    // Defended at clearing: 1250 + 5000 spent since the last online contact; 2000 more is over 8000.
    await t2.pay(await thiefAt(21, 22), 2000, "EUR");
    const s2 = await t2.upload(shop);
    expect(s2.refused.map((r) => r.reason)).toEqual(["reused-leaf", "over-cumulative-limit"]);
    expect(running.platform.ledger.get("SELECT count(*) AS n, sum(amount) AS s FROM offline_clearings WHERE carrier_id = ?", [carrierId])).toEqual({ n: 2, s: 6250 });

    // The owner reports the theft: a terminal with the new list refuses the license; one still on
    // the old list accepts (it cannot know) and clearing refuses a payment dated after the revocation.
    const stale = await newTerminal();
    await admin.revokeOffline({ carrierId, reason: "reported stolen" });
    const t3 = await newTerminal();
    expect(await refusal(t3.pay(await thiefAt(22, 23), 100, "EUR"))).toBe("license-revoked");
    clock = NOW_MS + 86_400_000;
    await stale.pay(await thiefAt(23, 24), 100, "EUR");
    expect((await stale.upload(shop)).refused.map((r) => r.reason)).toEqual(["license-revoked"]);
    expect(running.platform.ledger.get("SELECT count(*) AS n FROM offline_clearings WHERE carrier_id = ?", [carrierId])).toEqual({ n: 2 });
  }, 90_000);
});
