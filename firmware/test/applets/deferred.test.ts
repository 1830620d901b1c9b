// The deferred-reply mechanism under PAY (PROTOCOL.md §7.5, §8): a command answers DEFERRED and
// completes later; the dispatcher, the channel's CHANNEL_MESSAGE and the device link carry the late
// reply to the wire, sealed under the right counter and cached under the request's key. Driven with
// a stand-in inner command whose completion the test triggers, and the vector channel session.
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { createDispatcher, DEFERRED, ok, STATUS_DEFERRED, type Command, type LateResult } from "../../src/dispatch.ts";
import { createDeviceLink, type HandlerReply } from "../../src/link.ts";
import { decode, encode } from "../../src/codec.ts";
import { STATE_PERSONALISED, STATUS_BUSY, STATUS_TOO_LARGE } from "../../src/protocol.ts";
import { createCarrierChannel } from "../../src/channel/channel.ts";
import { createChannelCommands } from "../../src/channel/commands.ts";
import { CMD_CHANNEL_CLOSE, CMD_CHANNEL_CONFIRM, CMD_CHANNEL_MESSAGE, CMD_CHANNEL_OPEN, STATUS_CHANNEL_NOT_OPEN } from "../../src/channel/constants.ts";
import { openMessage, sealMessage } from "../../../host/src/channel/session.ts";
import { createPingCommand } from "../../src/commands/ping.ts";
import { crc32, manualTimers, parseFrame, request } from "../firmware/harness.ts";
import { hexToBin, nodePrimitives } from "../channel/node-primitives.ts";

const PERSONALISED = 1 << STATE_PERSONALISED;

/** An inner command that waits for finish(): what PAY does with the trusted UI. */
function laterCommand() {
  let pending: LateResult | null = null;
  let runs = 0;
  const cmd: Command = {
    id: 0x40, allowedStates: PERSONALISED,
    run: (args, _body, late) => {
      runs++;
      pending = late;
      return args[1] === "now" ? ok({ 1: "now" }) : DEFERRED;
    },
  };
  return {
    cmd,
    runs: () => runs,
    finish(value: string | null | "throw") {
      const late = pending!;
      pending = null;
      if (value === "throw") late({ status: 0, raw: "\xa1\x01\x59\x02\x00" + "x".repeat(512) }); // over MAX_BODY
      else late(value === null ? null : ok({ 1: value }));
    },
  };
}

describe("dispatcher: DEFERRED and the late reply", () => {
  it("returns the deferred marker, then hands the encoded late result to the caller's sink once", () => {
    const later = laterCommand();
    const d = createDispatcher([later.cmd], () => STATE_PERSONALISED);
    const sink: (HandlerReply | null)[] = [];
    expect(d(0x40, encode({ 1: "x" }), (r) => sink.push(r)).status).toBe(STATUS_DEFERRED);
    expect(sink).toEqual([]);
    later.finish("done");
    expect(sink).toEqual([{ status: 0, body: encode({ 1: "done" }) }]);
    expect(d(0x40, encode({ 1: "now" }), (r) => sink.push(r))).toEqual({ status: 0, body: encode({ 1: "now" }) });
    expect(d(0x40, encode({ 1: "x" }), (r) => sink.push(r)).status).toBe(STATUS_DEFERRED);
    later.finish("throw");
    expect(sink[1]!.status).toBe(STATUS_TOO_LARGE); // checked exactly as an at-once reply
    expect(d(0x40, encode({ 1: "x" }), (r) => sink.push(r)).status).toBe(STATUS_DEFERRED);
    later.finish(null);
    expect(sink[2]).toBeNull();
  });
});

describe("device link: a deferred request", () => {
  function device() {
    const later = laterCommand();
    const timers = manualTimers();
    const written: string[] = [];
    const d = createDispatcher([later.cmd, createPingCommand()], () => STATE_PERSONALISED);
    const link = createDeviceLink({ write: (b) => { written.push(b); }, crc32, setTimer: timers.set, clearTimer: timers.clear, handle: d });
    return { later, link, written };
  }

  it("writes nothing until the reply comes, ignores retransmissions meanwhile, then sends and caches it under the request's seq", () => {
    const { later, link, written } = device();
    const frame = request(0x21, 0x40, encode({ 1: "x" }));
    link.onData(frame);
    link.onData(frame);
    link.onData(frame);
    expect(written).toEqual([]);
    expect(later.runs()).toBe(1);
    expect(link.stats()).toMatchObject({ deferred: 1, pendingRepeats: 2, framesHandled: 1 });
    link.onData(request(0x22, 0x02, encode({ 1: "ping" }))); // other requests are served meanwhile
    expect(parseFrame(written[0]!)).toMatchObject({ seq: 0x22, code: 0 });
    later.finish("late");
    expect(parseFrame(written[1]!)).toMatchObject({ seq: 0x21, code: 0, crcOk: true });
    expect(decode(parseFrame(written[1]!).body)).toMatchObject({ ok: true, value: { 1: "late" } });
    link.onData(frame); // the late reply was lost: the retransmission meets the cache
    expect(written[2]).toBe(written[1]);
    expect(later.runs()).toBe(1);
    expect(link.stats().replays).toBe(1);
  });

  it("an abandoned request (late(null)) sends nothing; its retransmission then runs it again", () => {
    const { later, link, written } = device();
    const frame = request(0x30, 0x40, encode({ 1: "x" }));
    link.onData(frame);
    later.finish(null);
    expect(written).toEqual([]);
    link.onData(frame);
    expect(later.runs()).toBe(2);
  });

  it("a failing write in the late path does not escape into the event loop", () => {
    const later = laterCommand();
    const d = createDispatcher([later.cmd], () => STATE_PERSONALISED);
    const link = createDeviceLink({ write: () => { throw new Error("USB gone"); }, crc32, setTimer: () => 0, clearTimer: () => {}, handle: d });
    link.onData(request(1, 0x40, encode({ 1: "x" })));
    expect(() => later.finish("late")).not.toThrow();
  });
});

describe("CHANNEL_MESSAGE: a deferred inner reply", () => {
  const vectors = JSON.parse(readFileSync(new URL("../../vectors/channel.json", import.meta.url), "utf8"));
  const hs = vectors.handshake;
  const keys = { encKey: Uint8Array.from(Buffer.from(hs.sessionEncKey, "hex")), macKey: Uint8Array.from(Buffer.from(hs.sessionMacKey, "hex")) };
  const bin = (b: Uint8Array) => Buffer.from(b).toString("latin1");

  function device() {
    const later = laterCommand();
    const clock = { ms: 0 };
    const channel = createCarrierChannel(nodePrimitives(() => hexToBin(hs.carrierNonce)), () => ({
      carrierId: hexToBin(hs.carrierId), platformId: hexToBin(hs.platformId), channelKey: hexToBin(hs.channelKey),
    }), { now: () => clock.ms, lifetimeMs: 60_000 });
    const inner = createDispatcher([createPingCommand(), later.cmd], () => STATE_PERSONALISED);
    let abandoned = 0;
    let replies = 0;
    const outer = createDispatcher(createChannelCommands(channel, inner, () => { replies++; }, () => { abandoned++; later.finish(null); }), () => STATE_PERSONALISED);
    const sink: (HandlerReply | null)[] = [];
    const call = (cmd: number, body: Record<number, string>) => outer(cmd, encode(body), (r) => sink.push(r));
    const open = () => {
      expect(call(CMD_CHANNEL_OPEN, { 1: hexToBin(hs.platformNonce) }).status).toBe(0);
      expect(call(CMD_CHANNEL_CONFIRM, { 1: hexToBin(hs.platformProof) }).status).toBe(0);
    };
    const send = (counter: number, plain: number[]) => call(CMD_CHANNEL_MESSAGE, { 1: bin(sealMessage(keys, 1, counter, Uint8Array.from(plain))) });
    const unseal = (r: HandlerReply, counter: number) => {
      const v = decode(r.body);
      return openMessage(keys, 2, counter, Uint8Array.from(Buffer.from((v as { value: Record<number, string> }).value[1]!, "latin1")));
    };
    return { later, clock, call, open, send, unseal, sink, abandoned: () => abandoned, replies: () => replies };
  }

  it("seals the late reply under the waiting request's counter; other messages meanwhile get BUSY and consume no counter", () => {
    const d = device();
    d.open();
    expect(d.send(0, [0x02, 0xa1, 0x01, 0x41, 0x61]).status).toBe(0); // PING, counter 0
    expect(d.send(1, [0x40, 0xa1, 0x01, 0x41, 0x78]).status).toBe(STATUS_DEFERRED); // LATER, counter 1
    expect(d.send(2, [0x02, 0xa1, 0x01, 0x41, 0x62]).status).toBe(STATUS_BUSY);
    d.later.finish("paid");
    expect(d.sink).toHaveLength(1);
    const plain = d.unseal(d.sink[0]!, 1);
    expect(plain[0]).toBe(0);
    expect(decode(bin(plain.subarray(1)))).toMatchObject({ ok: true, value: { 1: "paid" } });
    expect(d.replies()).toBe(2);
    const next = d.send(2, [0x02, 0xa1, 0x01, 0x41, 0x62]); // the BUSY one, resent: counter 2 is still next
    expect(next.status).toBe(0);
    expect(d.unseal(next, 2)[0]).toBe(0);
  });

  it("OPEN, CONFIRM or CLOSE while it waits abandon it: the late reply never reaches the new session", () => {
    for (const how of [CMD_CHANNEL_OPEN, CMD_CHANNEL_CONFIRM, CMD_CHANNEL_CLOSE]) {
      const d = device();
      d.open();
      expect(d.send(0, [0x40, 0xa1, 0x01, 0x41, 0x78]).status).toBe(STATUS_DEFERRED);
      if (how === CMD_CHANNEL_OPEN) d.open();
      else d.call(how, how === CMD_CHANNEL_CONFIRM ? { 1: hexToBin(hs.platformProof) } : {});
      expect(d.abandoned(), `command 0x${how.toString(16)}`).toBe(1);
      expect(d.sink).toEqual([null]);
      if (how === CMD_CHANNEL_OPEN) expect(d.send(0, [0x02, 0xa1, 0x01, 0x41, 0x61]).status).toBe(0); // the new session starts at counter 0
      else expect(d.send(1, [0x02, 0xa1, 0x01, 0x41, 0x61]).status).toBe(STATUS_CHANNEL_NOT_OPEN);
    }
  });

  it("a session that ended on its own meanwhile (lifetime) gets the outer CHANNEL_NOT_OPEN, nothing sealed", () => {
    const d = device();
    d.open();
    expect(d.send(0, [0x40, 0xa1, 0x01, 0x41, 0x78]).status).toBe(STATUS_DEFERRED);
    d.clock.ms = 61_000;
    d.later.finish("paid");
    expect(d.sink).toHaveLength(1);
    expect(d.sink[0]!.status).toBe(STATUS_CHANNEL_NOT_OPEN);
    expect(d.replies()).toBe(0);
  });
});
