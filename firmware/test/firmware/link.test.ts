import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { frameVectors, hexToBytes, bytesToHex } from "../protocol/vectors.ts";
import { createDispatcher } from "../../src/dispatch.ts";
import { createDeviceLink } from "../../src/link.ts";
import { createInfoCommand } from "../../src/commands/info.ts";
import { createPingCommand } from "../../src/commands/ping.ts";
import { PARTIAL_FRAME_TIMEOUT_MS, STATE_BLANK } from "../../src/protocol.ts";
import { crc32, manualTimers, parseFrame, request, rig } from "./harness.ts";

const infoRequest = request(0x11, 0x01, "\xa0");

function realDevice() {
  const timers = manualTimers();
  const written: string[] = [];
  const dispatch = createDispatcher([
    createInfoCommand({ firmwareVersion: "0.1.0", board: () => "PUCKJS", serial: () => "c0ffee00-12345678", state: () => STATE_BLANK, capabilities: () => 0x0e, storageFree: () => 32768 }),
    createPingCommand(),
  ], () => STATE_BLANK);
  const link = createDeviceLink({ write: (b) => { written.push(b); }, crc32, setTimer: timers.set, clearTimer: timers.clear, handle: dispatch });
  return { link, timers, written };
}

describe("link against firmware/vectors/frames.json (device outcomes)", () => {
  for (const v of frameVectors.device) {
    it(`${v.name} (${v.section})`, () => {
      const d = realDevice();
      d.link.onData(hexToBytes(v.hex));
      d.timers.runAll();
      if (v.expect === "silent") {
        expect(d.written).toEqual([]);
        return;
      }
      expect(d.written).toHaveLength(1);
      const r = parseFrame(d.written[0]!);
      expect(r).toMatchObject({ version: 1, type: 1, seq: v.expect.seq, code: v.expect.status, crcOk: true });
      if (v.expect.bodyHex !== undefined) expect(bytesToHex(r.body)).toBe(v.expect.bodyHex);
    });
  }

  it("the INFO response vector is byte-identical to what the device sends", () => {
    const d = realDevice();
    d.link.onData(hexToBytes(frameVectors.valid[0]!.hex));
    expect(bytesToHex(d.written[0]!)).toBe(frameVectors.valid[1]!.hex);
  });
});

describe("link framing", () => {
  it("answers a frame split at every possible point, once", () => {
    for (let i = 1; i < infoRequest.length; i++) {
      const r = rig();
      r.link.onData(infoRequest.slice(0, i));
      expect(r.written).toHaveLength(0);
      r.link.onData(infoRequest.slice(i));
      expect(r.written, `split at ${i}`).toHaveLength(1);
      expect(r.calls).toHaveLength(1);
      expect(r.link.buffered()).toBe(0);
      expect(r.timers.pending()).toBe(0);
    }
  });

  it("answers a frame fed one byte at a time", () => {
    const r = rig();
    for (const ch of infoRequest) r.link.onData(ch);
    expect(r.written).toHaveLength(1);
  });

  it("skips a boot banner, REPL noise and garbage before, between and after frames", () => {
    const r = rig();
    const banner = "\r\n ____                 _\r\nEspruino 2v29 (c) 2025 G.Williams\r\n>\x1b[J";
    r.link.onData(banner + request(1, 1, "\xa0") + "\x00\xff\x10\x03garbage\xf5" + request(2, 1, "\xa0") + "trailing \xf5");
    expect(r.written.map((f) => parseFrame(f).seq)).toEqual([1, 2]);
    r.timers.runAll();
    expect(r.link.buffered()).toBe(0);
  });

  it("holds at most one byte of magic-free garbage", () => {
    const r = rig();
    r.link.onData("x".repeat(10_000) + "\xf5");
    expect(r.link.buffered()).toBe(1);
    r.link.onData("\x4b");
    expect(r.link.buffered()).toBe(2);
  });

  it("drops a truncated frame after the inactivity timeout, then serves the next", () => {
    const r = rig();
    r.link.onData(infoRequest.slice(0, 10));
    r.timers.advance(PARTIAL_FRAME_TIMEOUT_MS - 1);
    expect(r.link.buffered()).toBe(10);
    r.timers.advance(1);
    expect(r.link.buffered()).toBe(0);
    expect(r.link.stats().timeouts).toBe(1);
    r.link.onData(request(2, 1, "\xa0"));
    expect(r.written).toHaveLength(1);
  });

  it("recovers when a truncated frame runs straight into a good one (no timeout needed)", () => {
    const r = rig();
    r.link.onData(request(1, 2, "\xa1\x01\x44abcd").slice(0, 9) + request(2, 1, "\xa0"));
    expect(r.written.map((f) => parseFrame(f).seq)).toEqual([2]);
    expect(r.link.stats().crcErrors).toBe(1);
  });

  it("a false magic whose declared length outruns the data does not hold back the whole frame behind it (§3.3 rule 4a)", () => {
    const r = rig();
    r.link.onData("\xf5\x4b\x01\x00\x00\x01\x01\xff" + request(3, 1, "\xa0"));
    // the false header claims 511 body bytes; the whole request after it is answered at once, no timeout
    expect(r.written.map((f) => parseFrame(f).seq)).toEqual([3]);
    expect(r.link.stats().falseStarts).toBe(1);
    expect(r.link.buffered()).toBe(0);
  });

  it("a false magic followed by a PARTIAL frame still waits (and the timeout clears the false start)", () => {
    const r = rig();
    const req = request(4, 1, "\xa0");
    r.link.onData("\xf5\x4b\x01\x00\x00\x01\x01\xff" + req.slice(0, 6));
    expect(r.written).toHaveLength(0);
    r.link.onData(req.slice(6));
    expect(r.written.map((f) => parseFrame(f).seq)).toEqual([4]);
  });

  it("drops a frame with a CRC error silently and serves the next", () => {
    const r = rig();
    const bad = infoRequest.slice(0, 8) + "\xa1" + infoRequest.slice(9);
    r.link.onData(bad + request(5, 1, "\xa0"));
    expect(r.written.map((f) => parseFrame(f).seq)).toEqual([5]);
    expect(r.calls).toHaveLength(1);
    expect(r.link.stats().crcErrors).toBe(1);
  });

  it("calls crc32 once per candidate frame, not per byte", () => {
    let calls = 0;
    const link = createDeviceLink({ write: () => {}, crc32: (s) => { calls++; return crc32(s); }, setTimer: () => 1, clearTimer: () => {},
      handle: () => ({ status: 0, body: "\xa0" }) });
    link.onData("noise ".repeat(50) + request(1, 1, "\xa0") + "noise ".repeat(50) + request(2, 1, "\xa0"));
    expect(calls).toBe(4); // 2 requests checked + 2 responses signed
  });

  it("never wedges: random garbage around frames, random chunking, every frame answered (property, 150 runs)", () => {
    const garbage = fc.uint8Array({ maxLength: 40 }).map((b) => Buffer.from(b).toString("latin1"));
    const magicHeavy = fc.array(fc.constantFrom("\xf5", "\x4b", "\xf5\x4b", "\x01", "\x00", "\xff", "z"), { maxLength: 12 }).map((a) => a.join(""));
    fc.assert(fc.property(
      fc.array(fc.tuple(fc.oneof(garbage, magicHeavy), fc.uint8Array({ maxLength: 30 })), { minLength: 1, maxLength: 5 }),
      fc.array(fc.integer({ min: 1, max: 64 }), { minLength: 1, maxLength: 20 }),
      (parts, cuts) => {
        const r = rig();
        let stream = "";
        parts.forEach(([junk, payload], i) => {
          stream += junk + request(i, 2, "\xa1\x01" + String.fromCharCode(0x40 + Math.min(payload.length, 23)) + Buffer.from(payload.slice(0, 23)).toString("latin1"));
        });
        let pos = 0;
        let k = 0;
        while (pos < stream.length) {
          const n = cuts[k++ % cuts.length]!;
          r.link.onData(stream.slice(pos, pos + n));
          pos += n;
          r.timers.advance(1); // chunks arrive faster than the inactivity timeout
        }
        r.timers.runAll();
        const seqs = r.written.map((f) => parseFrame(f).seq);
        // Junk may hide a frame only by being a false start that swallows it; after the timeout the
        // real frame must still be found, so every frame is answered, in order, exactly once.
        expect(seqs).toEqual(parts.map((_, i) => i));
        expect(r.link.buffered()).toBe(0);
      }), { numRuns: 150, seed: 7 });
  });
});

describe("exactly-once (PROTOCOL.md §8)", () => {
  it("replays the cached response for a retransmission and does not run the handler again", () => {
    const r = rig();
    const req = request(9, 2, "\xa1\x01\x43abc");
    r.link.onData(req);
    r.link.onData(req);
    r.link.onData(req.slice(0, 5));
    r.link.onData(req.slice(5));
    expect(r.calls).toHaveLength(1);
    expect(r.written).toHaveLength(3);
    expect(new Set(r.written).size).toBe(1);
    expect(r.link.stats().replays).toBe(2);
  });

  it("the same seq with a different request is a new request", () => {
    const r = rig();
    r.link.onData(request(9, 2, "\xa1\x01\x43abc"));
    r.link.onData(request(9, 2, "\xa1\x01\x43abd"));
    expect(r.calls).toHaveLength(2);
  });

  it("an identical body with the next seq is a new request", () => {
    const r = rig();
    r.link.onData(request(9, 2, "\xa1\x01\x43abc"));
    r.link.onData(request(10, 2, "\xa1\x01\x43abc"));
    r.link.onData(request(9, 2, "\xa1\x01\x43abc"));
    expect(r.calls).toHaveLength(3); // only the last response is cached
  });

  it("error responses are cached too", () => {
    const r = rig(() => ({ status: 0x05, body: "\xa0" }));
    r.link.onData(request(1, 2, "\xa0") + request(1, 2, "\xa0"));
    expect(r.calls).toHaveLength(1);
    expect(r.written.map((f) => parseFrame(f).code)).toEqual([5, 5]);
  });

  it("a handler that throws yields INTERNAL, cached, and the link keeps working", () => {
    let n = 0;
    const r = rig(() => { n++; throw new Error("boom"); });
    r.link.onData(request(1, 1, "\xa0") + request(1, 1, "\xa0"));
    expect(n).toBe(1);
    expect(r.written.map((f) => parseFrame(f).code)).toEqual([0x08, 0x08]);
  });

  it("unsupported versions are answered without running or caching anything", () => {
    const r = rig();
    r.link.onData(request(4, 1, "\xa0", 2) + request(4, 1, "\xa0", 2));
    expect(r.calls).toHaveLength(0);
    expect(r.written.map((f) => parseFrame(f).code)).toEqual([0x09, 0x09]);
    expect(r.link.stats().replays).toBe(0);
  });
});
