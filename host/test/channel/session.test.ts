// The platform end against firmware/vectors/channel.json, and end to end against the firmware
// channel commands behind the firmware dispatcher, with a relaying host that records (and in some
// tests alters) every body it carries.
import { describe, expect, it } from "vitest";
import { readFileSync } from "node:fs";
import { decodeCbor, encodeCbor, type CborMap } from "../../src/codec.ts";
import { diversifyCarrierKeys } from "../../src/channel/keys.ts";
import {
  ChannelError, CMD_CHANNEL_CONFIRM, CMD_CHANNEL_MESSAGE, CMD_CHANNEL_OPEN, PlatformChannel, STATUS_CHANNEL_AUTH_FAILED,
  STATUS_CHANNEL_BAD_COUNTER, STATUS_CHANNEL_BAD_MAC, channelTranscript, deriveSessionKeys, openMessage, sealMessage, type SessionKeys,
} from "../../src/channel/session.ts";
import { createCarrierChannel } from "../../../firmware/src/channel/channel.ts";
import { createChannelCommands } from "../../../firmware/src/channel/commands.ts";
import { createDispatcher } from "../../../firmware/src/dispatch.ts";
import { createPingCommand } from "../../../firmware/src/commands/ping.ts";
import { STATE_PERSONALISED } from "../../../firmware/src/protocol.ts";
import { nodePrimitives } from "../../../firmware/test/channel/node-primitives.ts";

const vectors = JSON.parse(readFileSync(new URL("../../../firmware/vectors/channel.json", import.meta.url), "utf8"));
const hs = vectors.handshake;
const unhex = (h: string): Uint8Array => Uint8Array.from(Buffer.from(h, "hex"));
const hex = (b: Uint8Array): string => Buffer.from(b).toString("hex");
const bin = (b: Uint8Array): string => Buffer.from(b).toString("latin1");
const unbin = (s: string): Uint8Array => Uint8Array.from(Buffer.from(s, "latin1"));

describe("platform channel: vectors", () => {
  it("derives the vector session keys and proofs", () => {
    const keys = deriveSessionKeys(unhex(hs.channelKey), channelTranscript(unhex(hs.carrierId), unhex(hs.platformId), unhex(hs.platformNonce), unhex(hs.carrierNonce)));
    expect(hex(keys.encKey)).toBe(hs.sessionEncKey);
    expect(hex(keys.macKey)).toBe(hs.sessionMacKey);
    expect(hex(keys.carrierProof)).toBe(hs.carrierProof);
    expect(hex(keys.platformProof)).toBe(hs.platformProof);
  });

  it("seals and opens the vector messages byte for byte", () => {
    const keys = { encKey: unhex(hs.sessionEncKey), macKey: unhex(hs.sessionMacKey) };
    for (const m of vectors.messages) {
      expect(hex(sealMessage(keys, m.direction, m.counter, unhex(m.plaintext)))).toBe(m.sealed);
      expect(hex(openMessage(keys, m.direction, m.counter, unhex(m.sealed)))).toBe(m.plaintext);
    }
  });

  it("PlatformChannel reproduces the vector handshake and rejects a wrong carrier proof", () => {
    const opts = { channelKey: unhex(hs.channelKey), carrierId: unhex(hs.carrierId), platformId: unhex(hs.platformId), random: () => unhex(hs.platformNonce) };
    const p = new PlatformChannel(opts);
    expect(hex(p.begin())).toBe(hs.platformNonce);
    expect(hex(p.accept({ carrierId: unhex(hs.carrierId), carrierNonce: unhex(hs.carrierNonce), carrierProof: unhex(hs.carrierProof) }))).toBe(hs.platformProof);
    expect(hex(p.seal(unhex(vectors.messages[0].plaintext)))).toBe(vectors.messages[0].sealed);
    expect(hex(p.open(unhex(vectors.messages[1].sealed)))).toBe(vectors.messages[1].plaintext);

    const q = new PlatformChannel(opts);
    q.begin();
    const badProof = unhex(hs.carrierProof); badProof[3]! ^= 1;
    expect(() => q.accept({ carrierId: unhex(hs.carrierId), carrierNonce: unhex(hs.carrierNonce), carrierProof: badProof })).toThrow(ChannelError);
    expect(() => q.seal(Uint8Array.of(2, 0xa0))).toThrow(/no open channel/);
  });
});

// --- end to end: platform ⇄ untrusted relay ⇄ firmware dispatcher -------------------------------

const issuerMasterKey = unhex("00".repeat(31) + "2a");
const carrierId = unhex("4b430000000000000000000000000009");
const platformId = new TextEncoder().encode("KC-PLATFORM-E2E!");

interface Relay { transcript: Uint8Array[]; alter?: (command: number, body: Uint8Array) => Uint8Array }

function rig(carrierKey?: Uint8Array) {
  const keys = diversifyCarrierKeys(issuerMasterKey, carrierId);
  const channel = createCarrierChannel(nodePrimitives(), () => ({ carrierId: bin(carrierId), platformId: bin(platformId), channelKey: bin(carrierKey ?? keys.channelKey) }), { now: () => 0 });
  const inner = createDispatcher([createPingCommand()], () => STATE_PERSONALISED);
  const device = createDispatcher(createChannelCommands(channel, inner), () => STATE_PERSONALISED);
  const relay: Relay = { transcript: [] };
  // What the host does: carry bodies; it may record and alter them.
  const send = (command: number, body: CborMap) => {
    let bytes = encodeCbor(body);
    if (relay.alter) bytes = relay.alter(command, bytes);
    relay.transcript.push(bytes);
    const reply = device(command, bin(bytes));
    relay.transcript.push(unbin(reply.body));
    return { status: reply.status, body: decodeCbor(unbin(reply.body)) as CborMap };
  };
  const platform = new PlatformChannel({ channelKey: keys.channelKey, carrierId, platformId });
  const handshake = () => {
    const opened = send(CMD_CHANNEL_OPEN, new Map([[1, platform.begin()]]));
    if (opened.status !== 0) return opened;
    const proof = platform.accept({ carrierId: opened.body.get(1) as Uint8Array, carrierNonce: opened.body.get(2) as Uint8Array, carrierProof: opened.body.get(3) as Uint8Array });
    return send(CMD_CHANNEL_CONFIRM, new Map([[1, proof]]));
  };
  const call = (plaintext: Uint8Array) => {
    const sealed = platform.seal(plaintext);
    const r = send(CMD_CHANNEL_MESSAGE, new Map([[1, sealed]]));
    return { ...r, sealed, plain: r.status === 0 ? platform.open(r.body.get(1) as Uint8Array) : undefined };
  };
  return { keys, channel, platform, relay, send, handshake, call };
}

const SECRET = new TextEncoder().encode("PIN 493817 ORDER-7 amount 123456");
const pingOf = (data: Uint8Array) => Uint8Array.from([0x02, ...encodeCbor(new Map([[1, data]]))]);

describe("end to end through an untrusted relay", () => {
  it("opens, runs inner PINGs both ways, and the relay never sees plaintext or key material", () => {
    const r = rig();
    expect(r.handshake().status).toBe(0);
    for (let i = 0; i < 3; i++) {
      const res = r.call(pingOf(SECRET));
      expect(res.status).toBe(0);
      expect(hex(res.plain!)).toBe(hex(Uint8Array.from([0x00, ...encodeCbor(new Map([[1, SECRET]]))])));
    }
    const seen = hex(Uint8Array.from(r.relay.transcript.flatMap((b) => [...b])));
    // Peek at the live session keys (test only) to show none of them crosses the relay either.
    const session = (r.platform as unknown as { keys: SessionKeys }).keys;
    const keyMaterial = [r.keys.channelKey, r.keys.cryptogramKey, session.encKey, session.macKey];
    for (const secret of [SECRET, SECRET.subarray(0, 8), ...keyMaterial, ...keyMaterial.map((k) => k.subarray(0, 8))]) {
      expect(seen.includes(hex(secret))).toBe(false);
    }
  });

  it("a carrier with the wrong key is refused by the platform", () => {
    const r = rig(new Uint8Array(32).fill(9));
    expect(() => r.handshake()).toThrow(/carrier proof wrong/);
  });

  it("the relay altering the platform nonce makes the handshake fail on both ends", () => {
    const r = rig();
    r.relay.alter = (cmd, body) => { if (cmd === CMD_CHANNEL_OPEN) { const b = body.slice(); b[b.length - 1]! ^= 1; return b; } return body; };
    expect(() => r.handshake()).toThrow(/carrier proof wrong/);
  });

  it("the relay altering a confirm proof gets AUTH_FAILED", () => {
    const r = rig();
    r.relay.alter = (cmd, body) => { if (cmd === CMD_CHANNEL_CONFIRM) { const b = body.slice(); b[5]! ^= 0x40; return b; } return body; };
    expect(r.handshake().status).toBe(STATUS_CHANNEL_AUTH_FAILED);
    expect(r.channel.isOpen()).toBe(false);
  });

  it("a flipped request bit is BAD_MAC; the genuine retry then succeeds (counter did not move)", () => {
    const r = rig();
    r.handshake();
    const sealed = r.platform.seal(pingOf(SECRET));
    const tampered = sealed.slice(); tampered[10]! ^= 1;
    expect(r.send(CMD_CHANNEL_MESSAGE, new Map([[1, tampered]])).status).toBe(STATUS_CHANNEL_BAD_MAC);
    const ok = r.send(CMD_CHANNEL_MESSAGE, new Map([[1, sealed]]));
    expect(ok.status).toBe(0);
    expect(r.platform.open(ok.body.get(1) as Uint8Array)[0]).toBe(0);
    expect(r.send(CMD_CHANNEL_MESSAGE, new Map([[1, sealed]])).status).toBe(STATUS_CHANNEL_BAD_COUNTER); // replay
  });

  it("the platform rejects a tampered, replayed or reordered reply", () => {
    const r = rig();
    r.handshake();
    const first = r.call(pingOf(Uint8Array.of(1)));
    const reply1 = first.body.get(1) as Uint8Array;
    const sealed2 = r.platform.seal(pingOf(Uint8Array.of(2)));
    const res2 = r.send(CMD_CHANNEL_MESSAGE, new Map([[1, sealed2]]));
    const reply2 = res2.body.get(1) as Uint8Array;
    const bad = reply2.slice(); bad[bad.length - 1]! ^= 1;
    expect(() => r.platform.open(bad)).toThrow(/authentication failed/);
    expect(() => r.platform.open(reply1)).toThrow(/counter 0 but expected 1/); // an old reply replayed
    expect(r.platform.open(reply2)[0]).toBe(0);
    expect(() => r.platform.open(reply2)).toThrow(/no request outstanding/);
  });
});
