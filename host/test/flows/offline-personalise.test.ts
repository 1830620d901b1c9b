// Personalisation with the offline key and license (PROTOCOL.md §11.5) through the host flow, against
// the FULL release bundle (keycarrier.full.js) on `keycarrier emulate`: the key is generated with
// host/src/lms and licensed by the platform's credit authority (offline-authority.ts). Then one
// offline payment as a terminal would run it, verified with the host's license and authorization
// checks (the POS terminal's end-to-end run is hil-tests/offline-e2e.test.ts).
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { compile } from "../../../firmware/build/pipeline.ts";
import { bundleSpec } from "../../../firmware/build/bundles.ts";
import { startEmulator, type RunningEmulator } from "../../src/cli/emulate.ts";
import { KeyCarrier } from "../../src/client.ts";
import { Platform } from "../../src/platform/service.ts";
import { flashFirmware } from "../../src/flash/flash.ts";
import { personalise, provision } from "../../src/flows/personalise.ts";
import { pressVirtualButton } from "../../src/flows/cli.ts";
import { Command } from "../../src/status.ts";
import { LMS, LMOTS } from "../../src/lms/index.ts";
import { verifyLicense } from "../../src/offline/license.ts";
import { verifyAuthorization } from "../../src/offline/authorization.ts";
import { LMS_SHA256_M32_H5 } from "../../../firmware/src/offline/lms.ts";

const work = mkdtempSync(join(tmpdir(), "kc-offline-"));
const firmware = join(work, "keycarrier.full.js");
afterAll(() => rmSync(work, { recursive: true, force: true }));
beforeAll(async () => {
  process.env.KEYCARRIER_HOME = work;
  writeFileSync(firmware, (await compile({ entry: "firmware/src/main.ts", minify: true, features: bundleSpec("keycarrier.full.js").features })).code);
}, 90_000);

describe("personalise with the offline key (platform authority) and an offline payment", () => {
  let emu: RunningEmulator;
  let kc: KeyCarrier;
  let platform: Platform;
  beforeAll(async () => {
    emu = await startEmulator({ board: "nrf52840", tcpPort: 0, pty: false, ptyPath: undefined, controlPort: 0, flashFile: undefined, seed: 12, virtualClock: false, banner: true });
    await flashFirmware({ port: emu.tcp.url, firmwareFile: firmware, target: "ram" });
    kc = await KeyCarrier.open(emu.tcp.url, { timeoutMs: 5000 });
    // a small authority key (H5/W8 over H5/W8) keeps the test's authority key generation short
    const small = { lms: LMS.LMS_SHA256_M32_H5, ots: LMOTS.LMOTS_SHA256_N32_W8 };
    platform = await Platform.open({ pin: { kdf: { N: 1024, r: 8, p: 1 } }, offline: { authorityLevels: [small, small] } });
    await provision(kc, platform);
  }, 90_000);
  afterAll(async () => {
    await kc?.close();
    platform?.close();
    await emu?.stop();
  });

  it("installs key and license after PERSONALISE; the carrier then shows the license and signs a payment", async () => {
    // H5 keeps the test's carrier key generation short; the default is the chosen H10
    const limits = { currency: "EUR", perTransactionLimit: 5000, cumulativeLimit: 20000, expiry: 20271231 };
    const steps: string[] = [];
    const r = await personalise(kc, platform, { pin: "482913", onStep: (s) => steps.push(s), offline: { authority: platform.offline, limits, lmsType: LMS_SHA256_M32_H5 } });
    expect(steps.join("\n")).toMatch(/platform licensed the offline key \(license 1\)\noffline key installed \(2068 B in 5 sealed pieces\)\n.*license installed/);

    const l0 = await kc.request(Command.OFFLINE_LICENSE);
    const total = l0.get(2) as number;
    let license = Buffer.from(l0.get(1) as Uint8Array);
    while (license.length < total) license = Buffer.concat([license, Buffer.from((await kc.request(Command.OFFLINE_LICENSE, new Map([[1, license.length]]))).get(1) as Uint8Array)]);
    const lic = verifyLicense(license, platform.offline.publicKey(), { today: 20261207 });
    expect(Buffer.from(lic.body.carrierId).toString("hex")).toBe(r.carrierId);
    expect(lic.body).toMatchObject({ currency: "EUR", perTransactionLimit: 5000, cumulativeLimit: 20000, expiry: 20271231, serial: 1 });

    const terminalId = Buffer.from("TERM0042"), terminalNonce = Buffer.alloc(16, 9);
    const req = new Map<number, number | string | Uint8Array>([[1, 777], [2, "EUR"], [3, terminalId], [4, terminalNonce], [5, 20261207]]);
    const ac = new AbortController();
    const [pay] = await Promise.all([kc.request(Command.OFFLINE_PAY, req, { extraTimeoutMs: 35_000 }), pressVirtualButton(emu.control.port, 100, ac.signal)]);
    let sig = Buffer.from(pay.get(3) as Uint8Array);
    while (sig.length < (pay.get(2) as number)) sig = Buffer.concat([sig, Buffer.from((await kc.request(Command.OFFLINE_SIG_READ, new Map([[1, sig.length]]))).get(1) as Uint8Array)]);
    expect(pay.get(1)).toBe(1);
    // the carrier's ATC is its leaf + 1: the first payment signs with one-time key 0
    const info = verifyAuthorization(lic.body, { carrierId: lic.body.carrierId, amount: 777, currency: "EUR", terminalId, terminalNonce, date: 20261207, atc: 1, signature: sig });
    expect(info.index).toBe(0);
    expect(() => verifyAuthorization(lic.body, { carrierId: lic.body.carrierId, amount: 778, currency: "EUR", terminalId, terminalNonce, date: 20261207, atc: 1, signature: sig })).toThrow();
  }, 120_000);
});
