// NFC fuzz target (PROTOCOL.md §10): random, mutated and truncated reader frames at the release
// bundle's NFC mailbox on the metered virtual board (nrf52840), with the field dropping at random.
// Every frame must be answered (16 bytes for a READ, a 4-bit ACK/NACK otherwise) inside the 4.8 ms
// frame delay by the cost model (a late answer is a failure, never a lost frame), nothing may crash
// (no "Uncaught" / out of memory on the board's transcript), every frame returns (no hang), and a
// real INFO exchange through the host's mailbox transport works between bursts.
import fc from "fast-check";
import { VirtualBoard } from "../../board/src/virtual-board.ts";
import { CostMeter } from "../../board/src/cost/meter.ts";
import { NfcLateReply } from "../../board/src/runtime/nfc.ts";
import { encodeFrame } from "../../host/src/link.ts";
import { compileBundleFiles } from "../../firmware/build/cli.ts";

let nfcFiles: ReturnType<typeof compileBundleFiles> | undefined;

export interface NfcFuzzStats { frames: number; reads: number; writes: number; acks: number; nacks: number; fieldDrops: number; infos: number; worstMs: number }

type Op = { kind: "frame"; bytes: Uint8Array } | { kind: "drop" } | { kind: "info" };

const INFO_PAGES = (() => {
  const f = encodeFrame({ version: 1, type: 0, seq: 0x42, code: 0x01, body: Uint8Array.of(0xa0) });
  const pages: Uint8Array[] = [];
  for (let i = 0; i * 4 < f.length; i++) {
    const p = new Uint8Array(6);
    p[0] = 0xa2; p[1] = 5 + i;
    p.set(f.subarray(i * 4, i * 4 + 4), 2);
    pages.push(p);
  }
  return pages;
})();

const frameArb: fc.Arbitrary<Uint8Array> = fc.oneof(
  { weight: 3, arbitrary: fc.uint8Array({ minLength: 1, maxLength: 255 }) },
  { weight: 3, arbitrary: fc.integer({ min: 0, max: 255 }).map((p) => Uint8Array.of(0x30, p)) },
  { weight: 4, arbitrary: fc.tuple(fc.integer({ min: 0, max: 140 }), fc.uint8Array({ minLength: 4, maxLength: 4 })).map(([p, d]) => Uint8Array.of(0xa2, p, ...d)) },
  // a real request's pages, some cut short (truncated frames) or with a byte flipped
  { weight: 4, arbitrary: fc.tuple(fc.integer({ min: 0, max: INFO_PAGES.length - 1 }), fc.integer({ min: 1, max: 6 }), fc.option(fc.integer({ min: 0, max: 5 }))).map(([i, n, flip]) => {
    const f = INFO_PAGES[i]!.slice(0, n);
    if (flip !== null && flip < f.length) f[flip] ^= 0x5a;
    return f;
  }) },
  { weight: 1, arbitrary: fc.constantFrom(Uint8Array.of(0x60), Uint8Array.of(0x3a, 4, 20), Uint8Array.of(0x50, 0x00), Uint8Array.of(0x1b, 1, 2, 3, 4)) },
);

export const nfcOpArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 40, arbitrary: frameArb.map((bytes) => ({ kind: "frame" as const, bytes })) },
  { weight: 2, arbitrary: fc.constant({ kind: "drop" as const }) },
  { weight: 1, arbitrary: fc.constant({ kind: "info" as const }) },
);

export class NfcFuzzRig {
  readonly board: VirtualBoard;
  readonly stats: NfcFuzzStats = { frames: 0, reads: 0, writes: 0, acks: 0, nacks: 0, fieldDrops: 0, infos: 0, worstMs: 0 };
  private seen = 0;
  private atSend: ReturnType<CostMeter["peek"]>;
  private constructor(board: VirtualBoard, private readonly meter: CostMeter) {
    this.board = board;
    // The board reads the open NFCrx scope when the firmware calls nfcSend: that is the answer's
    // start (the link's work after it does not delay the reader). Keep that record.
    const peek = meter.peek.bind(meter);
    meter.peek = (label?: string) => {
      const r = peek(label);
      if (label === "NFCrx") this.atSend = r;
      return r;
    };
  }

  static async boot(seed: number): Promise<NfcFuzzRig> {
    const meter = new CostMeter();
    const board = new VirtualBoard({ board: "nrf52840", seed, cost: meter });
    // keycarrier.nfc.js, the bundle NFC boards take, with its chunk files (kc.chp) as `npm run build` makes them
    const files = await (nfcFiles ??= compileBundleFiles("keycarrier.nfc.js"));
    for (const c of files.chunks) board.storage.write(c.storageName, c.code);
    board.storage.write(".bootcde", files.code);
    board.powerOn();
    board.runUntilIdle(5_000);
    board.nfc.fieldOn();
    const rig = new NfcFuzzRig(board, meter);
    rig.checkTranscript();
    return rig;
  }

  async run(op: Op): Promise<void> {
    if (op.kind === "drop") {
      this.board.nfc.fieldOff();
      this.board.nfc.fieldOn();
      this.stats.fieldDrops++;
    } else if (op.kind === "info") {
      await this.info();
    } else {
      await this.frame(op.bytes);
    }
    this.checkTranscript();
  }

  private async frame(f: Uint8Array): Promise<Uint8Array & { ack4?: number }> {
    this.stats.frames++;
    let r: Uint8Array & { ack4?: number };
    try {
      r = await this.board.nfc.transceive(f);
    } catch (e) {
      if (e instanceof NfcLateReply) throw new Error(`frame ${hex(f)}: the answer came after the frame delay (${e.estimatedMs.toFixed(2)} ms)`);
      throw new Error(`frame ${hex(f)}: no answer (${(e as Error).message})`);
    }
    const ms = this.lastFrameMs();
    if (ms > this.stats.worstMs) this.stats.worstMs = ms;
    if (f[0] === 0x30 && r.ack4 === undefined) {
      this.stats.reads++;
      if (r.length !== 16) throw new Error(`READ ${hex(f)} answered ${r.length} bytes, not 16`);
    } else if (r.ack4 === 0x0a) {
      this.stats.acks++;
      if (f[0] !== 0xa2 || f.length !== 6) throw new Error(`${hex(f)} was ACKed, but it is not a 6-byte WRITE`);
      this.stats.writes++;
    } else if (r.ack4 === 0x00) {
      this.stats.nacks++;
    } else {
      throw new Error(`${hex(f)} answered ${hex(r)} (4-bit ${r.ack4}): not 16 bytes, ACK or NACK`);
    }
    return r;
  }

  // The real thing between bursts: INFO written from page 5 (after a field drop, so whatever a
  // burst left half-written is gone) must be answered.
  private async info(): Promise<void> {
    this.board.nfc.fieldOff();
    this.board.nfc.fieldOn();
    for (const p of INFO_PAGES) {
      const a = await this.frame(p);
      if (a.ack4 !== 0x0a) throw new Error(`INFO page ${p[1]} not ACKed after a field drop`);
    }
    const head = await this.frame(Uint8Array.of(0x30, 4));
    if (head[3] !== 3 || head[4] !== 0xf5 || head[8] !== 0x42) throw new Error(`INFO not answered: status page ${hex(head.subarray(0, 12))}`);
    this.stats.infos++;
  }

  private lastFrameMs(): number {
    const rec = this.atSend;
    this.atSend = undefined;
    return rec ? this.meter.estimate(this.board.profile, rec.counts).ms : 0;
  }

  checkTranscript(): void {
    const t = this.board.transcript();
    const fresh = t.slice(this.seen);
    this.seen = t.length;
    for (const bad of ["Uncaught", "OUT OF MEMORY", "Not enough memory"]) {
      if (fresh.includes(bad)) throw new Error(`the board printed "${bad}": ${fresh.slice(0, 400)}`);
    }
  }

  dispose(): void {
    this.board.dispose();
  }
}

function hex(b: Uint8Array): string {
  return Buffer.from(b).toString("hex");
}

/** Runs `inputs` ops in bursts; resolves with the stats, rejects with the first failure (seed in the message). */
export async function runNfcFuzz(opts: { inputs: number; seed: number; log?: (line: string) => void }): Promise<NfcFuzzStats> {
  const rig = await NfcFuzzRig.boot(opts.seed);
  try {
    const ops = fc.sample(fc.array(nfcOpArb, { minLength: 50, maxLength: 50 }), { seed: opts.seed, numRuns: Math.ceil(opts.inputs / 50) });
    let n = 0;
    for (const burst of ops) {
      for (const op of burst) {
        try {
          await rig.run(op);
        } catch (e) {
          throw new Error(`nfc fuzz failed at input ${n} (replay: npm run fuzz -- --target nfc --inputs ${opts.inputs} --seed ${opts.seed}): ${(e as Error).message}`);
        }
        n++;
      }
      await rig.run({ kind: "info" });
      if (opts.log && n % 5_000 === 0) opts.log(`.... ${n} inputs, ${JSON.stringify(rig.stats)}`);
    }
    return rig.stats;
  } finally {
    rig.dispose();
  }
}
