import { describe, it, expect } from "vitest";
import { readFileSync } from "node:fs";
import { crc32 as zlibCrc32 } from "node:zlib";
import { crc32 } from "../src/crc32.ts";
import { encodeFrame, FrameParser, HostLink, formatFrameTrace, type Frame, type FrameTraceEvent } from "../src/link.ts";
import { TimeoutError, TransportError, ArgumentError } from "../src/errors.ts";
import { TestDevice, MemoryTransport } from "./helpers/device.ts";

// PROTOCOL.md §3–§7 frames, generated independently of both links (cbor-x + zlib.crc32); see the file's "source".
const vectors = JSON.parse(readFileSync(new URL("../../firmware/vectors/frames.json", import.meta.url), "utf8")) as {
  valid: { name: string; hex: string; version: number; type: number; seq: number; code: number; bodyHex: string }[];
  device: { name: string; hex: string; expect: "silent" | { status: number; seq: number; bodyHex?: string } }[];
};
const unhex = (h: string): Uint8Array => Uint8Array.from(Buffer.from(h.replace(/\s+/g, ""), "hex"));
const hex = (b: Uint8Array): string => Buffer.from(b).toString("hex");
const ascii = (s: string): Uint8Array => Uint8Array.from(Buffer.from(s, "latin1"));
const cat = (...parts: Uint8Array[]): Uint8Array => Uint8Array.from(Buffer.concat(parts));
const frameOf = (v: (typeof vectors.valid)[number]): Frame => ({ version: v.version, type: v.type, seq: v.seq, code: v.code, body: unhex(v.bodyHex) });

describe("CRC-32", () => {
  it('gives the check value 0xCBF43926 for "123456789" (PROTOCOL.md §3.2, CRC catalogue CRC-32/ISO-HDLC)', () => {
    expect(crc32(ascii("123456789"))).toBe(0xcbf43926);
    expect(crc32(new Uint8Array(0))).toBe(0);
  });
  it("agrees with zlib on 2 KB of pseudo-random bytes and on sub-ranges", () => {
    const data = new Uint8Array(2048).map((_, i) => (i * 2654435761) >>> 24);
    expect(crc32(data)).toBe(zlibCrc32(data) >>> 0);
    expect(crc32(data, 100, 700)).toBe(zlibCrc32(data.subarray(100, 700)) >>> 0);
  });
});

describe("framing vs firmware/vectors/frames.json", () => {
  for (const v of vectors.valid) {
    it(`encodes "${v.name}" byte for byte`, () => {
      expect(hex(encodeFrame(frameOf(v)))).toBe(v.hex);
    });
    it(`parses "${v.name}" whole and one byte at a time`, () => {
      expect(new FrameParser().push(unhex(v.hex))).toEqual([frameOf(v)]);
      const p = new FrameParser();
      const got: Frame[] = [];
      for (const b of unhex(v.hex)) got.push(...p.push(Uint8Array.of(b)));
      expect(got).toEqual([frameOf(v)]);
      expect(p.pending).toBe(0);
    });
  }
  for (const v of vectors.device.filter((d) => d.expect === "silent" && !d.name.includes("response-type"))) {
    it(`yields no frame for "${v.name}"`, () => {
      expect(new FrameParser().push(unhex(v.hex))).toEqual([]);
    });
  }
  it("refuses to build a frame over MAX_BODY or with a non-byte field", () => {
    expect(() => encodeFrame({ version: 1, type: 0, seq: 0, code: 2, body: new Uint8Array(513) })).toThrow(ArgumentError);
    expect(() => encodeFrame({ version: 1, type: 0, seq: 256, code: 2, body: new Uint8Array(0) })).toThrow(/seq/);
  });
});

describe("resynchronisation (§3.3)", () => {
  const info = vectors.valid.find((v) => v.name.startsWith("INFO response"))!;
  const ping = vectors.valid.find((v) => v.name === "PING response")!;

  it("skips a console banner, REPL prompt and echo before a frame, and reports what it skipped", () => {
    const skipped: string[] = [];
    const p = new FrameParser((bytes, why) => skipped.push(`${why}:${bytes.length}`));
    const banner = ascii(" ____                 _ \r\n|  __|___ ___ ___ _ _|_|___ ___ \r\nEspruino 2v29 (c) 2025 G.Williams\r\n>");
    expect(p.push(cat(banner, unhex(info.hex)))).toEqual([frameOf(info)]);
    expect(skipped).toEqual([`bytes before frame start:${banner.length}`]);
  });

  it("finds a frame after false magics, an invalid header, a corrupted frame and a lone 0xf5", () => {
    const corrupted = unhex(ping.hex);
    corrupted[10] = corrupted[10]! ^ 0xff;
    const noise = cat(Uint8Array.of(0xf5, 0x00, 0xf5, 0x4b, 0x00, 0x01, 0x02), corrupted, Uint8Array.of(0xf5));
    expect(new FrameParser().push(cat(noise, unhex(info.hex), unhex(ping.hex)))).toEqual([frameOf(info), frameOf(ping)]);
  });

  it("finds a real frame that starts inside a bogus frame's claimed length", () => {
    // A false header claiming 40 body bytes swallows the real frame; the CRC check then fails and
    // dropping one byte at a time uncovers it (§3.3 step 5).
    const bogus = unhex("f54b 0101 0000 0028");
    expect(new FrameParser().push(cat(bogus, unhex(ping.hex), new Uint8Array(40)))).toEqual([frameOf(ping)]);
  });

  it("handles a magic split across chunks", () => {
    const bytes = cat(ascii("noise"), unhex(ping.hex));
    const p = new FrameParser();
    expect(p.push(bytes.subarray(0, 6))).toEqual([]); // "noise" + 0xf5
    expect(p.pending).toBe(1);
    expect(p.push(bytes.subarray(6))).toEqual([frameOf(ping)]);
  });

  it("partial-frame timeout drops a truncated false start so a later frame is not blocked", () => {
    const p = new FrameParser();
    expect(p.push(unhex("f54b 0101 0000 0100"))).toEqual([]); // claims 256 body bytes that never come
    expect(p.pending).toBe(8);
    expect(p.expirePartial()).toEqual([]);
    expect(p.pending).toBe(0);
    expect(p.push(unhex(ping.hex))).toEqual([frameOf(ping)]);
  });

  it("keeps its buffer bounded by one chunk plus MAX_FRAME−1 under random noise (property check)", async () => {
    const fc = await import("fast-check");
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ minLength: 1, maxLength: 300 }), { maxLength: 20 }), (chunks) => {
        const p = new FrameParser();
        for (const c of chunks) {
          p.push(c);
          if (p.pending > c.length + 523) return false;
        }
        // After noise, a good frame still gets through once partial frames time out.
        for (let i = 0; i < 600 && p.pending; i++) p.expirePartial();
        return p.push(unhex(ping.hex)).length === 1;
      }),
      { numRuns: 200 },
    );
  });
});

function linkTo(device: TestDevice, opts: ConstructorParameters<typeof HostLink>[1] = {}): { link: HostLink; transport: MemoryTransport; trace: FrameTraceEvent[] } {
  const transport = new MemoryTransport(device);
  const trace: FrameTraceEvent[] = [];
  void transport.open();
  return { link: new HostLink(transport, { timeoutMs: 200, trace: (e) => trace.push(e), ...opts }), transport, trace };
}

describe("HostLink against the firmware's device link", () => {
  it("exchanges INFO and PING and increments seq mod 256", async () => {
    const device = new TestDevice();
    const { link, trace } = linkTo(device, { initialSeq: 254 });
    const r1 = await link.request(0x01, Uint8Array.of(0xa0));
    expect(r1).toMatchObject({ status: 0, seq: 254, attempts: 1 });
    expect(hex(r1.body)).toBe(vectors.valid.find((v) => v.name.startsWith("INFO response"))!.bodyHex);
    const r2 = await link.request(0x02, unhex("a10144deadbeef"));
    expect(r2).toMatchObject({ status: 0, seq: 255 });
    expect(hex(r2.body)).toBe("a10144deadbeef");
    const r3 = await link.request(0x7e, Uint8Array.of(0xa0));
    expect(r3).toMatchObject({ status: 0x03, seq: 0 });
    expect(trace.filter((e) => e.kind === "tx").map((e) => (e as { frame: Frame }).frame.seq)).toEqual([254, 255, 0]);
    expect(device.link.stats().framesHandled).toBe(3);
    await link.close();
  });

  it("retransmits the identical frame after a lost response, and the device replays instead of re-executing", async () => {
    const device = new TestDevice({ dropResponses: 2 });
    const { link, trace } = linkTo(device, { timeoutMs: 100, retries: 3, initialSeq: 7 });
    const r = await link.request(0x02, unhex("a10144deadbeef"));
    expect(r).toMatchObject({ status: 0, seq: 7, attempts: 3 });
    const sent = trace.filter((e): e is Extract<FrameTraceEvent, { kind: "tx" }> => e.kind === "tx");
    expect(sent.map((e) => e.attempt)).toEqual([0, 1, 2]);
    expect(new Set(sent.map((e) => hex(e.bytes))).size).toBe(1);
    expect(device.received.map(hex)).toEqual([hex(sent[0]!.bytes), hex(sent[0]!.bytes), hex(sent[0]!.bytes)]);
    expect(device.link.stats()).toMatchObject({ framesHandled: 1, replays: 2 });
    expect(trace.filter((e) => e.kind === "timeout")).toHaveLength(2);
    await link.close();
  });

  it("fails with a TimeoutError after 1 + retries transmissions when nothing answers", async () => {
    const device = new TestDevice({ mute: true });
    const { link } = linkTo(device, { timeoutMs: 40, retries: 2 });
    const started = Date.now();
    const err = await link.request(0x01, Uint8Array.of(0xa0)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TimeoutError);
    expect((err as TimeoutError).statusName).toBe("TIMEOUT");
    expect((err as Error).message).toMatch(/after 3 transmissions of 40 ms/);
    expect((err as Error).message).toMatch(/--verbose/);
    expect(device.received).toHaveLength(3);
    expect(Date.now() - started).toBeGreaterThanOrEqual(110);
    // The link stays usable: the next request gets the next seq and an answer.
    device.faults.mute = false;
    expect(await link.request(0x01, Uint8Array.of(0xa0))).toMatchObject({ status: 0, attempts: 1 });
    await link.close();
  });

  it("resynchronises through banner noise before every response, 1-byte chunks, and an echoing console", async () => {
    const device = new TestDevice({ noiseBefore: ascii("Espruino 2v29\r\n>\xf5\x4b\x00garbage"), chunkSize: 1, echo: true });
    const { link, trace } = linkTo(device);
    for (let i = 0; i < 3; i++) expect((await link.request(0x02, unhex("a1014401020304"))).status).toBe(0);
    expect(trace.some((e) => e.kind === "ignored" && /request/.test(e.why))).toBe(true);
    expect(trace.some((e) => e.kind === "discard")).toBe(true);
    expect(trace.map(formatFrameTrace).join("\n")).toMatch(/→ v1 req seq 0x.. cmd PING len 7/);
    await link.close();
  });

  it("ignores a late response to an earlier seq and waits for its own", async () => {
    const device = new TestDevice();
    const { link, transport, trace } = linkTo(device, { initialSeq: 10 });
    await link.request(0x01, Uint8Array.of(0xa0));
    // Inject a stale seq-10 response just before the device answers seq 11.
    const stale = encodeFrame({ version: 1, type: 1, seq: 10, code: 0, body: Uint8Array.of(0xa0) });
    device.connect((bytes) => setImmediate(() => (transport as unknown as { data: ((c: Uint8Array) => void)[] }).data.forEach((l) => l(cat(stale, bytes)))));
    const r = await link.request(0x02, unhex("a10141ff"));
    expect(r).toMatchObject({ seq: 11, status: 0 });
    expect(hex(r.body)).toBe("a10141ff");
    expect(trace.some((e) => e.kind === "ignored" && e.frame.seq === 10)).toBe(true);
    await link.close();
  });

  it("serialises concurrent requests (stop-and-wait)", async () => {
    const device = new TestDevice();
    const { link } = linkTo(device, { initialSeq: 0 });
    const bodies = [1, 2, 3, 4].map((n) => unhex(`a10141${n.toString(16).padStart(2, "0")}`));
    const results = await Promise.all(bodies.map((b) => link.request(0x02, b)));
    expect(results.map((r) => r.seq)).toEqual([0, 1, 2, 3]);
    expect(results.map((r) => hex(r.body))).toEqual(bodies.map(hex));
    await link.close();
  });

  it("rejects an outstanding request with a TransportError when the device goes away", async () => {
    const device = new TestDevice({ mute: true });
    const { link, transport } = linkTo(device, { timeoutMs: 5000 });
    const pending = link.request(0x01, Uint8Array.of(0xa0));
    setTimeout(() => transport.unplug(), 20);
    const err = await pending.catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TransportError);
    expect((err as Error).message).toMatch(/closed: device unplugged/);
    await expect(link.request(0x01, Uint8Array.of(0xa0))).rejects.toBeInstanceOf(TransportError);
  });
});
