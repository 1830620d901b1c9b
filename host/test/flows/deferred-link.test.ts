// HostLink with a per-call deadline (PROTOCOL.md §8 "Deferred replies"): a PAY reply may come up to
// 35 s later, so the link keeps retransmitting the identical frame with back-off until the
// deadline instead of giving up after `retries`, and never floods the carrier meanwhile.
import { describe, expect, it } from "vitest";
import { encodeFrame, FrameParser, HostLink } from "../../src/link.ts";
import { TimeoutError } from "../../src/errors.ts";
import type { Transport } from "../../src/transport/types.ts";

/** A carrier that defers: it answers the request `replyAfterMs` after it first saw it, whatever is retransmitted. */
function deferringCarrier(replyAfterMs: number | undefined) {
  const writes: { at: number; bytes: string }[] = [];
  let listener: ((b: Uint8Array) => void) | undefined;
  const started = Date.now();
  const transport: Transport = {
    description: "deferring test carrier",
    isOpen: true,
    async open() {},
    async close() {},
    async write(bytes) {
      writes.push({ at: Date.now() - started, bytes: Buffer.from(bytes).toString("hex") });
      if (writes.length > 1 || replyAfterMs === undefined) return;
      const [req] = new FrameParser().push(bytes);
      setTimeout(() => listener?.(encodeFrame({ version: 1, type: 1, seq: req!.seq, code: 0, body: Uint8Array.of(0xa0) })), replyAfterMs);
    },
    onData(l) { listener = l; },
    onClose() {},
    onError() {},
  };
  return { transport, writes };
}

describe("HostLink.request with a deadline", () => {
  it("keeps waiting past `retries`, retransmitting the identical frame with doubling intervals, and returns the late reply", async () => {
    const c = deferringCarrier(700);
    const link = new HostLink(c.transport, { timeoutMs: 50, retries: 1, initialSeq: 5 });
    let sent = 0;
    const r = await link.request(0x32, Uint8Array.of(0xa0), { deadlineMs: 2_000, onSent: () => sent++ });
    expect(r.status).toBe(0);
    expect(r.seq).toBe(5);
    expect(sent).toBe(1);
    // 0, 50, 150, 350 ms (and 750 ms if the reply is late on a loaded machine): back-off, not one per 50 ms
    expect(c.writes.length).toBeGreaterThanOrEqual(4);
    expect(c.writes.length).toBeLessThanOrEqual(6);
    expect(new Set(c.writes.map((w) => w.bytes)).size).toBe(1); // identical frames
    const gaps = c.writes.slice(1).map((w, i) => w.at - c.writes[i]!.at);
    expect(gaps[0]!).toBeGreaterThanOrEqual(45);
    expect(Math.max(...gaps)).toBeGreaterThanOrEqual(190); // the third wait is 4 × the first
    expect(r.attempts).toBe(c.writes.length);
  });

  it("gives up at the deadline with a TimeoutError that says how long it waited", async () => {
    const c = deferringCarrier(undefined);
    const link = new HostLink(c.transport, { timeoutMs: 40, retries: 0 });
    const t0 = Date.now();
    const err = await link.request(0x32, Uint8Array.of(0xa0), { deadlineMs: 500 }).catch((e: unknown) => e);
    const took = Date.now() - t0;
    expect(err).toBeInstanceOf(TimeoutError);
    expect((err as Error).message).toMatch(/transmissions over \d+ ms/);
    expect(took).toBeGreaterThanOrEqual(490);
    expect(took).toBeLessThan(1_500);
    expect(c.writes.length).toBeLessThanOrEqual(6); // 40, 80, 160, 220 (capped by the deadline)
  });

  it("refuses a deadline that is not a positive integer", async () => {
    const link = new HostLink(deferringCarrier(10).transport, { timeoutMs: 40 });
    await expect(link.request(0x32, Uint8Array.of(0xa0), { deadlineMs: 0 })).rejects.toThrow(/deadlineMs/);
  });
});
