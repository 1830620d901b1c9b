// Fuzzing the RELEASE bundle on the virtual board over USB (quick run; `npm run fuzz` for a
// million inputs), and exactly-once under injected link faults (PROTOCOL.md §8).
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { VirtualBoard } from "../board/src/virtual-board.ts";
import { checkBatch } from "./fuzz/check.ts";
import { frame, splitResponses, type Response } from "./fuzz/frames.ts";
import { FuzzRig, releaseBundle } from "./fuzz/rig.ts";
import { batchArbitrary, STRATEGIES, strategies } from "./fuzz/strategies.ts";

const SEED = 20261122;
let bundle = "";
beforeAll(async () => { bundle = await releaseBundle(); }, 60_000);

describe("fuzz: random, truncated, corrupted and oversized frames and CBOR bodies", () => {
  let rig: FuzzRig | undefined;
  afterAll(() => rig?.dispose());

  it(`every strategy generates what it claims (seed ${SEED})`, () => {
    // A strategy that can never produce an answerable request would make the oracle vacuous.
    for (const name of STRATEGIES) {
      const sample = fc.sample(strategies[name], { seed: SEED, numRuns: 50 });
      const owed = sample.reduce((n, s) => n + s.expect.length, 0);
      const silent = ["bad-header", "oversized", "corrupted", "truncated", "garbage", "magic-burst", "response-frame"].includes(name);
      if (silent) expect(owed, name).toBe(0);
      else expect(owed, name).toBeGreaterThan(0);
    }
  });

  it(`the release bundle answers every well-framed request exactly once and never throws, hangs or runs out of vars (seed ${SEED})`, () => {
    console.log(`[fuzz] seed ${SEED}; replay a long run with: npm run fuzz -- --seed ${SEED}`);
    let inputs = 0, responses = 0;
    fc.assert(fc.property(batchArbitrary(40), (batch) => {
      rig ??= new FuzzRig(bundle, "nrf52840", SEED);
      try {
        const o = checkBatch(rig, batch);
        inputs += o.inputs;
        responses += o.responses;
      } catch (e) {
        rig.dispose();
        rig = undefined; // shrinking restarts from a fresh board
        throw e;
      }
    }), { seed: SEED, numRuns: 800 });
    const vars = rig!.checkVars();
    console.log(`[fuzz] ${inputs} inputs, ${responses} responses, ~${vars} JsVars`);
    expect(inputs).toBeGreaterThan(8000);
    expect(responses).toBeGreaterThan(1000);
    expect(vars).toBeLessThan(2630); // fits a Puck.js too
  }, 60_000);
});

describe("the fuzz rig catches what it claims to (sabotaged bundles)", () => {
  // A second USB listener appended to the real bundle misbehaves on long request frames.
  const sabotaged = (misdeed: string) => `${bundle}\nUSB.on("data", function (d) { if (d.length > 300 && d.indexOf("\\xf5\\x4b\\x01\\x00") >= 0) { ${misdeed} } });`;
  const longPing = frame({ version: 1, type: 0, seq: 1, code: 2, body: "\xa1\x01\x59\x01\x90" + "p".repeat(400) });
  const batch = { segments: [{ strategy: "valid" as const, bytes: longPing, expect: [] }], cuts: [] };

  it("an exception escaping a handler (Uncaught on the board) fails the input", () => {
    const rig = new FuzzRig(sabotaged(`throw new Error("sabotage");`));
    try {
      expect(() => checkBatch(rig, batch)).toThrow(/Uncaught/);
    } finally { rig.dispose(); }
  });

  it("a hang fails the input", () => {
    const rig = new FuzzRig(sabotaged("for (;;) {}"));
    try {
      expect(() => checkBatch(rig, batch)).toThrow(/hung/);
    } finally { rig.dispose(); }
  }, 30_000);

  it("an answer the request did not earn (one frame, two responses) fails the input", () => {
    const extra = frame({ version: 1, type: 1, seq: 1, code: 0, body: "\xa0" });
    const rig = new FuzzRig(sabotaged(`USB.write(${JSON.stringify(extra)});`));
    try {
      expect(() => checkBatch(rig, batch)).toThrow(/not exactly one response/);
    } finally { rig.dispose(); }
  });
});

describe("exactly-once under link faults (PROTOCOL.md §8)", () => {
  it("dropped responses, duplicated chunks and garbled bytes never execute a request twice and never wedge the link", () => {
    // INFO reads Storage.getFree exactly once per execution and never on a replay, so the board's
    // native-call meter counts handler executions from outside the firmware.
    let executions = 0;
    const board = new VirtualBoard({ board: "nrf52840", seed: 9, cost: { native: (kind) => { if (kind === "Storage.getFree") executions++; } } });
    try {
      board.storage.write(".bootcde", bundle);
      board.powerOn();
      board.runUntilIdle(10_000);
      let out = "";
      board.usb.onData((b) => { out += Buffer.from(b).toString("latin1"); });
      const exchange = (bytes: string): Response[] => {
        out = "";
        board.usb.write(bytes);
        board.runUntilIdle(600_000); // partial frames time out (500 ms each, virtual)
        board.usb.take();
        return splitResponses(out);
      };
      const info = (seq: number): string => frame({ version: 1, type: 0, seq, code: 1, body: "\xa0" });

      // The counter itself: one execution per new request, none for a retransmission.
      expect(exchange(info(200)).map((r) => r.seq)).toEqual([200]);
      expect(exchange(info(200)).map((r) => r.seq)).toEqual([200]);
      expect(executions).toBe(1);

      const faults = board.usb.setFaults({ seed: 21, split: 0.03, drop: 0.15, duplicate: 0.25, garble: 0.1 })!;
      const hostDrops = fc.sample(fc.boolean(), { seed: 5, numRuns: 5000 }); // the host loses a response when true
      let d = 0, sends = 0, responsesSeen = 0;
      const N = 150;
      for (let i = 0; i < N; i++) {
        const seq = i % 200; // never 200 (used above), never reused within the run
        let answered = false;
        for (let attempt = 0; attempt < 40 && !answered; attempt++) {
          sends++;
          const rs = exchange(info(seq));
          for (const r of rs) expect(r.crcOk).toBe(true);
          responsesSeen += rs.length;
          // Answers for this seq only: a late duplicate of an earlier request is ignored, as the host link does.
          answered = rs.some((r) => r.seq === seq && r.status === 0) && !hostDrops[d++ % hostDrops.length];
        }
        expect(answered, `request ${i} (seq ${seq}) was never answered: the link is wedged`).toBe(true);
      }
      const kinds = new Set(faults.log.map((e) => e.kind));
      console.log(`[exactly-once] ${N} requests, ${sends} sends, ${responsesSeen} responses, faults: ${["drop", "duplicate", "garble", "split"].map((k) => `${k} ${faults.log.filter((e) => e.kind === k).length}`).join(", ")}`);
      expect([...kinds].sort()).toEqual(["drop", "duplicate", "garble", "split"]);
      expect(sends).toBeGreaterThan(N); // retransmissions happened
      expect(executions).toBe(1 + N);

      // No wedge: with a clean line the next request is answered at the first try.
      board.usb.setFaults(null);
      const ping = frame({ version: 1, type: 0, seq: 77, code: 2, body: "\xa1\x01\x43abc" });
      expect(exchange(ping).map((r) => [r.seq, r.status, r.body])).toEqual([[77, 0, "\xa1\x01\x43abc"]]);
    } finally {
      board.dispose();
    }
  }, 60_000);
});
