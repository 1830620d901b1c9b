// The outer channel commands behind the firmware dispatcher (PROTOCOL.md §7.3), driven with the
// vector session of firmware/vectors/channel.json.
import { describe, expect, it } from "vitest";
import { readFileSync } from "node:fs";
import { createDispatcher, okRaw, type Command } from "../../src/dispatch.ts";
import { decode, encode } from "../../src/codec.ts";
import { createPingCommand } from "../../src/commands/ping.ts";
import { STATE_DESTROYED, STATE_PERSONALISED, STATUS_BAD_ARGUMENT, STATUS_TOO_LARGE } from "../../src/protocol.ts";
import { createCarrierChannel } from "../../src/channel/channel.ts";
import { createChannelCommands, sealedBody } from "../../src/channel/commands.ts";
import {
  CMD_CHANNEL_CLOSE, CMD_CHANNEL_CONFIRM, CMD_CHANNEL_MESSAGE, CMD_CHANNEL_OPEN, STATUS_CHANNEL_AUTH_FAILED, STATUS_CHANNEL_NOT_OPEN,
} from "../../src/channel/constants.ts";
import { openMessage, sealMessage } from "../../../host/src/channel/session.ts";
import { binToHex, hexToBin, nodePrimitives } from "./node-primitives.ts";

const vectors = JSON.parse(readFileSync(new URL("../../vectors/channel.json", import.meta.url), "utf8"));
const hs = vectors.handshake;
const unhex = (h: string): Uint8Array => Uint8Array.from(Buffer.from(h, "hex"));

function device(extraInner: Command[] = [], state = STATE_PERSONALISED) {
  const channel = createCarrierChannel(nodePrimitives(() => hexToBin(hs.carrierNonce)), () => ({
    carrierId: hexToBin(hs.carrierId), platformId: hexToBin(hs.platformId), channelKey: hexToBin(hs.channelKey),
  }), { now: () => 0 });
  const inner = createDispatcher([createPingCommand(), ...extraInner], () => STATE_PERSONALISED);
  const outer = createDispatcher(createChannelCommands(channel, inner), () => state);
  const call = (cmd: number, body: Record<number, string>) => outer(cmd, encode(body));
  const open = () => {
    const r = call(CMD_CHANNEL_OPEN, { 1: hexToBin(hs.platformNonce) });
    expect(r.status).toBe(0);
    expect(decode(r.body)).toEqual({ ok: true, status: 0, value: { 1: hexToBin(hs.carrierId), 2: hexToBin(hs.carrierNonce), 3: hexToBin(hs.carrierProof) } });
    expect(call(CMD_CHANNEL_CONFIRM, { 1: hexToBin(hs.platformProof) })).toEqual({ status: 0, body: "\xa0" });
  };
  return { channel, call, open };
}

describe("channel commands", () => {
  it("open, confirm, and a sealed inner PING answered with the vector's sealed reply", () => {
    const d = device();
    d.open();
    const r = d.call(CMD_CHANNEL_MESSAGE, { 1: hexToBin(vectors.messages[0].sealed) });
    expect(r.status).toBe(0);
    expect(binToHex(r.body)).toBe(binToHex(sealedBody(hexToBin(vectors.messages[1].sealed))));
    expect(d.call(CMD_CHANNEL_CLOSE, {})).toEqual({ status: 0, body: "\xa0" });
    expect(d.call(CMD_CHANNEL_MESSAGE, { 1: hexToBin(vectors.messages[2].sealed) }).status).toBe(STATUS_CHANNEL_NOT_OPEN);
  });

  it("refuses malformed bodies with BAD_ARGUMENT and a wrong proof with CHANNEL_AUTH_FAILED", () => {
    const d = device();
    expect(d.call(CMD_CHANNEL_OPEN, { 1: "short" }).status).toBe(STATUS_BAD_ARGUMENT);
    expect(d.call(CMD_CHANNEL_OPEN, { 1: hexToBin(hs.platformNonce), 2: "x" }).status).toBe(STATUS_BAD_ARGUMENT);
    d.call(CMD_CHANNEL_OPEN, { 1: hexToBin(hs.platformNonce) });
    expect(d.call(CMD_CHANNEL_CONFIRM, { 1: "\x00".repeat(16) }).status).toBe(STATUS_CHANNEL_AUTH_FAILED);
    expect(d.call(CMD_CHANNEL_MESSAGE, { 1: hexToBin(vectors.messages[0].sealed) }).status).toBe(STATUS_CHANNEL_NOT_OPEN);
  });

  it("an inner reply too large for the channel comes back as a sealed TOO_LARGE", () => {
    const big: Command = { id: 0x40, allowedStates: 1 << STATE_PERSONALISED, run: () => okRaw("\xa1\x01\x59\x01\xf0" + "x".repeat(496)) };
    const d = device([big]);
    d.open();
    const keys = { encKey: unhex(hs.sessionEncKey), macKey: unhex(hs.sessionMacKey) };
    const r = d.call(CMD_CHANNEL_MESSAGE, { 1: Buffer.from(sealMessage(keys, 1, 0, Uint8Array.of(0x40, 0xa0))).toString("latin1") });
    expect(r.status).toBe(0);
    const sealed = decode(r.body);
    const plain = openMessage(keys, 2, 0, Uint8Array.from(Buffer.from((sealed as { value: Record<number, string> }).value[1]!, "latin1")));
    expect(plain[0]).toBe(STATUS_TOO_LARGE);
  });

  it("sealedBody is the canonical encoding of {1: bstr} at every length class", () => {
    for (const n of [0, 23, 24, 255, 256, 507]) expect(binToHex(sealedBody("\x07".repeat(n)))).toBe(binToHex(encode({ 1: "\x07".repeat(n) })));
  });

  it("channel commands run in every state: a DESTROYED carrier opens a session (through its transport identity, main.ts)", () => {
    const d = device([], STATE_DESTROYED);
    d.open();
    expect(d.call(CMD_CHANNEL_CLOSE, {})).toEqual({ status: 0, body: "\xa0" });
  });
});
