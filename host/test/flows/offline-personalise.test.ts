// Personalisation with the offline key and license (PROTOCOL.md §11.5) through the host flow, against
// the FULL release bundle (keycarrier.full.js) on `keycarrier emulate`, with the TEMPORARY stand-in
// issuer (host/src/offline/keygen-standin.ts; lmshost's library replaces it). Then one offline
// payment as a terminal would run it, verified with the stand-in authority's and the carrier's keys.
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
import { encodeCbor, decodeCbor } from "../../src/codec.ts";
import { standInOfflineIssuer } from "../../src/offline/keygen-standin.ts";
import { LMS_SHA256_M32_H5 } from "../../../firmware/src/offline/lms.ts";
import { hssVerify } from "../../../firmware/test/offline/lms-reference.ts";

const work = mkdtempSync(join(tmpdir(), "kc-offline-"));
const firmware = join(work, "keycarrier.full.js");
afterAll(() => rmSync(work, { recursive: true, force: true }));
beforeAll(async () => {
  process.env.KEYCARRIER_HOME = work;
  writeFileSync(firmware, (await compile({ entry: "firmware/src/main.ts", minify: true, features: bundleSpec("keycarrier.full.js").features })).code);
}, 90_000);

describe("personalise --offline (stand-in issuer) and an offline payment", () => {
  let emu: RunningEmulator;
  let kc: KeyCarrier;
  let platform: Platform;
  beforeAll(async () => {
    emu = await startEmulator({ board: "nrf52840", tcpPort: 0, pty: false, ptyPath: undefined, controlPort: 0, flashFile: undefined, seed: 12, virtualClock: false, banner: true });
    await flashFirmware({ port: emu.tcp.url, firmwareFile: firmware, target: "ram" });
    kc = await KeyCarrier.open(emu.tcp.url, { timeoutMs: 5000 });
    platform = await Platform.open({ pin: { kdf: { N: 1024, r: 8, p: 1 } } });
    await provision(kc, platform);
  }, 90_000);
  afterAll(async () => {
    await kc?.close();
    platform?.close();
    await emu?.stop();
  });

  it("installs key and license after PERSONALISE; the carrier then shows the license and signs a payment", async () => {
    // H5 keeps the test's key generation short; the default is the chosen H10
    const issuer = standInOfflineIssuer(Buffer.alloc(32, 0x42), { lmsType: LMS_SHA256_M32_H5 });
    const limits = { currency: "EUR", perTxLimit: 5000, cumulativeLimit: 20000, expiry: 20271231 };
    const steps: string[] = [];
    const r = await personalise(kc, platform, { pin: "482913", onStep: (s) => steps.push(s), offline: { issuer, limits } });
    expect(steps.join("\n")).toMatch(/offline key installed \(2068 B in 5 sealed pieces\)\n.*license installed/);

    const l0 = await kc.request(Command.OFFLINE_LICENSE);
    const total = l0.get(2) as number;
    let license = Buffer.from(l0.get(1) as Uint8Array);
    while (license.length < total) license = Buffer.concat([license, Buffer.from((await kc.request(Command.OFFLINE_LICENSE, new Map([[1, license.length]]))).get(1) as Uint8Array)]);
    const lic = decodeLicense(license);
    expect(hssVerify(Buffer.from(issuer.authorityPublicKey), Buffer.concat([Buffer.from("KC-LICENSE-v1"), lic.body]), lic.sig)).toBe(true);
    const body = decodeCbor(lic.body) as Map<number, unknown>;
    expect(Buffer.from(body.get(2) as Uint8Array).toString("hex")).toBe(r.carrierId);
    const carrierPub = Buffer.from(body.get(3) as Uint8Array);

    const req = new Map<number, number | string | Uint8Array>([[1, 777], [2, "EUR"], [3, Buffer.from("TERM0042")], [4, Buffer.alloc(16, 9)], [5, 20261207]]);
    const ac = new AbortController();
    const [pay] = await Promise.all([kc.request(Command.OFFLINE_PAY, req, { extraTimeoutMs: 35_000 }), pressVirtualButton(emu.control.port, 100, ac.signal)]);
    let sig = Buffer.from(pay.get(3) as Uint8Array);
    while (sig.length < (pay.get(2) as number)) sig = Buffer.concat([sig, Buffer.from((await kc.request(Command.OFFLINE_SIG_READ, new Map([[1, sig.length]]))).get(1) as Uint8Array)]);
    const msg = Buffer.concat([Buffer.from("KC-OFFLINE-v1"), encodeCbor(new Map<number, number | string | Uint8Array>([
      [1, Buffer.from(r.carrierId, "hex")], [2, 777], [3, "EUR"], [4, Buffer.from("TERM0042")], [5, Buffer.alloc(16, 9)], [6, 20261207], [7, pay.get(1) as number],
    ]))]);
    expect(pay.get(1)).toBe(1);
    expect(hssVerify(carrierPub, msg, sig)).toBe(true);
  }, 120_000);
});

/** license = {1: body bstr, 2: signature bstr} (larger than a frame body: read by hand). */
function decodeLicense(b: Buffer): { body: Buffer; sig: Buffer } {
  let at = 2;
  const bstr = (): Buffer => {
    const ai = b[at]! & 31;
    const len = ai < 24 ? ai : ai === 24 ? b[at + 1]! : b.readUInt16BE(at + 1);
    const start = at + (ai < 24 ? 1 : ai === 24 ? 2 : 3);
    at = start + len;
    return b.subarray(start, at);
  };
  const body = bstr();
  at += 1;
  return { body, sig: bstr() };
}
