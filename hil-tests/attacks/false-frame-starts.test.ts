// Attack (issue #11 item 7): 520 B of false frame starts — valid version-1 request headers that
// claim a 512-byte body that never comes — held the next good frame back by ~31 s: the link waited
// the 500 ms partial-frame timeout once per false start before it reached the good frame (PROTOCOL.md
// §3.3 promised "never blocks a later good frame"). With rule 4a the link takes a whole CRC-valid
// request buffered behind a waiting candidate at once, so the good frame is answered in the same
// virtual millisecond its last byte arrives, and its handling costs less device time (cost model,
// puckjs estimate) than one frame time — here the partial-frame timeout, the time §3.3 allows one
// frame to stall the link. Chunking the false starts finely changes neither.
import { afterEach, describe, expect, it } from "vitest";
import { CarrierRig } from "../../firmware/test/applets/carrier-harness.ts";
import { encodeFrame } from "../../host/src/link.ts";
import { encodeCbor } from "../../host/src/codec.ts";
import { loadProfile } from "../../board/src/profiles.ts";
import { PARTIAL_FRAME_TIMEOUT_MS } from "../../firmware/src/protocol.ts";

const ONE_FRAME_TIME_MS = PARTIAL_FRAME_TIMEOUT_MS;
const PUCKJS = loadProfile("puckjs");
const rigs: CarrierRig[] = [];
afterEach(() => {
  for (const r of rigs.splice(0)) r.board.dispose();
});

/** 65 × 8 B: magic, version 1, request, seq, PING, length 512 — and nothing after. */
const FALSE_STARTS = Buffer.concat(Array.from({ length: 65 }, (_, i) => Buffer.from([0xf5, 0x4b, 1, 0, i, 0x02, 0x02, 0x00])));
const ping = (seq: number) => Buffer.from(encodeFrame({ version: 1, type: 0, seq, code: 0x02, body: encodeCbor(new Map([[1, Uint8Array.from([1, 2, 3, 4, 5, 6, 7, 8])]])) }));

async function rig(): Promise<{ rig: CarrierRig; replies: number[] }> {
  const r = await CarrierRig.boot({ meter: true });
  rigs.push(r);
  const replies: number[] = [];
  let pending = Buffer.alloc(0);
  r.board.usb.onData((b) => {
    pending = Buffer.concat([pending, Buffer.from(b)]);
    for (let at = pending.indexOf(Buffer.from([0xf5, 0x4b, 1, 1])); at >= 0 && pending.length >= at + 12; at = pending.indexOf(Buffer.from([0xf5, 0x4b, 1, 1]))) {
      const len = (pending[at + 6]! << 8) | pending[at + 7]!;
      if (pending.length < at + 12 + len) break;
      replies.push(pending[at + 4]!);
      pending = pending.subarray(at + 12 + len);
    }
  });
  return { rig: r, replies };
}

/** Delivers `bytes` (in `chunks` if given) and runs the board for 1 virtual ms; the device time it took, puckjs. */
function deliver(r: CarrierRig, bytes: Buffer, chunks?: number[]): number {
  const { record } = r.meter!.measure("deliver", () => {
    r.board.usb.write(bytes, chunks ? { chunks } : {});
    r.board.advance(1);
  });
  return r.meter!.estimate(PUCKJS, record.counts).ms;
}

describe("attack: false frame starts in front of a good frame", () => {
  it("520 B of false starts and the good frame in one chunk: answered at once, within one frame time of device time", async () => {
    const { rig: r, replies } = await rig();
    const alone = deliver(r, ping(1));
    expect(replies).toEqual([1]);
    const t0 = r.board.now();
    const ms = deliver(r, Buffer.concat([FALSE_STARTS, ping(2)]));
    expect(replies, "the good frame after the false starts").toEqual([1, 2]);
    expect(r.board.now() - t0).toBeLessThanOrEqual(1);
    expect(ms).toBeLessThan(ONE_FRAME_TIME_MS);
    console.log(`false starts: PING alone ${alone.toFixed(1)} ms; behind 520 B of false starts ${ms.toFixed(1)} ms of device time (puckjs), answered in the same virtual ms`);
  });

  for (const [label, chunks] of [["one chunk", undefined], ["64-byte chunks", Array(9).fill(64)], ["1-byte chunks", Array(520).fill(1)]] as const) {
    it(`false starts first (${label}), the good frame 100 ms later: answered when it arrives, not ${FALSE_STARTS.length / 8} timeouts later`, async () => {
      const { rig: r, replies } = await rig();
      const attackMs = deliver(r, FALSE_STARTS, chunks ? [...chunks] : undefined);
      r.board.advance(100); // under the 500 ms partial-frame timeout: nothing was dropped by a timer yet
      expect(replies).toEqual([]);
      const t0 = r.board.now();
      const ms = deliver(r, ping(9));
      expect(replies).toEqual([9]);
      expect(r.board.now() - t0).toBeLessThanOrEqual(1);
      expect(ms).toBeLessThan(ONE_FRAME_TIME_MS);
      // The link holds no more than one frame's worth of leftovers, and serves the next request normally.
      expect(deliver(r, ping(10))).toBeLessThan(ONE_FRAME_TIME_MS);
      expect(replies).toEqual([9, 10]);
      console.log(`false starts (${label}): receiving them cost ${attackMs.toFixed(1)} ms of device time; the good frame then ${ms.toFixed(1)} ms`);
    });
  }
});
