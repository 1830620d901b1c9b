// Attack (b), issue 11 item 3: a relay (a compromised host or hub) records every byte of
// `keycarrier personalise` and tries to read the keys out of it. Before per-device transport keys,
// a carrier without kc.tk used the public development batch key, so the recording decrypted to
// K_ch, K_ac, the PIN and the limit: a lifelong clone. Now:
//  - an unprovisioned carrier opens no transport session at all (no fallback key);
//  - a provisioned carrier's kc.tk is diversified from the platform's secret batch key: with
//    everything public (the dev batch key, the serial, the recorded nonces) the recorded handshake
//    does not verify and the sealed PERSONALISE does not open; no key is in the recording in clear;
//  - a production platform refuses a carrier provisioned with the dev key (only a dev-flag platform,
//    as `npm start`, accepts it).
// Positive control: with the real per-device key (which only the platform can derive) the same
// recording does open — so the recording is complete and the refusal above is the key's doing.
import { afterEach, describe, expect, it } from "vitest";
import type { Platform } from "../../host/src/platform/service.ts";
import { PlatformError } from "../../host/src/platform/service.ts";
import { channelTranscript, deriveSessionKeys, openMessage } from "../../host/src/channel/session.ts";
import { diversifyCarrierKeys } from "../../host/src/channel/keys.ts";
import { TBK_DEV, TRANSPORT_PLATFORM_ID } from "../../host/src/flows/protocol.ts";
import { FrameParser } from "../../host/src/link.ts";
import { decodeCbor, type CborMap } from "../../host/src/codec.ts";
import { CarrierRig, CMD, ST, TEST_PIN_OPTIONS } from "../../firmware/test/applets/carrier-harness.ts";
import { Platform as PlatformClass } from "../../host/src/platform/service.ts";
import { personalisedCarrier, productionPlatform, transportId } from "./world.ts";
import { tempDir } from "../../host/test/platform/helpers.ts";

const rigs: CarrierRig[] = [];
const platforms: Platform[] = [];
afterEach(() => {
  for (const r of rigs.splice(0)) r.board.dispose();
  for (const p of platforms.splice(0)) p.close();
});

interface Recorded { type: number; seq: number; code: number; body: CborMap }

/** Every frame of a recording (both directions), decoded. */
function frames(chunks: Uint8Array[]): Recorded[] {
  const parser = new FrameParser();
  const out: Recorded[] = [];
  for (const c of chunks) for (const f of parser.push(c)) out.push({ type: f.type, seq: f.seq, code: f.code, body: decodeCbor(f.body) as CborMap });
  return out;
}

describe("attack: passive recording of personalisation", () => {
  it("an unprovisioned carrier opens no transport session: there is no fallback key", async () => {
    const rig = await CarrierRig.boot({ provision: false });
    rigs.push(rig);
    const devKey = diversifyCarrierKeys(TBK_DEV, transportId(rig.serial)).channelKey;
    await expect(rig.openChannel({ carrierId: transportId(rig.serial), platformId: TRANSPORT_PLATFORM_ID, channelKey: devKey })).rejects.toThrow(/CHANNEL_OPEN status 48/);
    expect((await rig.info()).get(5)).toBe(0); // BLANK, nothing installed
  });

  it("the recording opens with neither the dev key nor anything public; no key in clear; only the per-device key opens it", async () => {
    const platform = await productionPlatform();
    platforms.push(platform);
    const c = await personalisedCarrier(platform, "482913");
    rigs.push(c.rig);
    // the relay's recording: every byte of the transport session and PERSONALISE, both ways (the
    // factory's PROVISION before them is in it too: a relay in the field would not see it; it
    // carries kc.tk and is the one step that must happen in the factory, PROTOCOL.md §7.4)
    const all = frames(c.rig.wire.chunks);
    const rec = all.slice(all.findIndex((f) => f.type === 0 && f.code === CMD.OPEN));
    const openReq = rec.find((f) => f.type === 0 && f.code === CMD.OPEN)!;
    const openRes = rec.find((f) => f.type === 1 && f.seq === openReq.seq && f.code === ST.OK)!;
    const sealedReqs = rec.filter((f) => f.type === 0 && f.code === CMD.MESSAGE).map((f) => f.body.get(1) as Uint8Array);
    expect(openReq && openRes && sealedReqs.length).toBeTruthy();
    const tid = openRes.body.get(1) as Uint8Array;
    const transcript = channelTranscript(tid, TRANSPORT_PLATFORM_ID, openReq.body.get(1) as Uint8Array, openRes.body.get(2) as Uint8Array);
    const proof = Buffer.from(openRes.body.get(3) as Uint8Array).toString("hex");

    // everything public: the development batch key diversified for this serial
    const guess = deriveSessionKeys(diversifyCarrierKeys(TBK_DEV, tid).channelKey, transcript);
    expect(Buffer.from(guess.carrierProof).toString("hex")).not.toBe(proof);
    expect(() => openMessage(guess, 1, 0, sealedReqs[0]!)).toThrow();

    // every byte and text field of every recorded frame from the transport session on
    const wire = Buffer.concat(rec.flatMap((f) => [...f.body.values()].map((v) => (v instanceof Uint8Array ? Buffer.from(v) : Buffer.from(String(v), "latin1")))));
    for (const [name, key] of Object.entries(c.keys)) {
      expect(wire.includes(Buffer.from(key)), `${name} in the recording`).toBe(false);
      expect(wire.includes(Buffer.from(Buffer.from(key).toString("hex"))), `${name} as hex in the recording`).toBe(false);
    }

    // positive control: the per-device key the platform derives opens the very same recording
    const real = deriveSessionKeys(platform.transportChannelKey(tid), transcript);
    expect(Buffer.from(real.carrierProof).toString("hex")).toBe(proof);
    const personalise = openMessage(real, 1, 0, sealedReqs[0]!);
    expect(personalise[0]).toBe(CMD.PERSONALISE);
    expect(Buffer.from(personalise).includes(Buffer.from(c.keys.cryptogramKey))).toBe(true);
  }, 60_000);

  it("a production platform refuses a carrier provisioned with the dev key; only the dev flag accepts it", async () => {
    const dir = tempDir();
    try {
      const dev = await PlatformClass.open({ dbFile: dir.file, allowDevTransportKey: true, pin: TEST_PIN_OPTIONS });
      const tid = new TextEncoder().encode("c0ffee00-dev");
      expect(Buffer.from(dev.provisionTransportKey(tid)).equals(Buffer.from(diversifyCarrierKeys(TBK_DEV, tid).channelKey))).toBe(true);
      dev.close();
      const prod = await PlatformClass.open({ dbFile: dir.file, pin: TEST_PIN_OPTIONS });
      platforms.push(prod);
      let refused: PlatformError | undefined;
      try { prod.transportChannelKey(tid); } catch (e) { refused = e as PlatformError; }
      expect(refused?.reason).toBe("dev-transport-key");
    } finally {
      dir.cleanup();
    }
  });
});
