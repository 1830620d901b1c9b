// The NFC mailbox (PROTOCOL.md §10) against firmware/vectors/nfc.json: every reader frame of every
// exchange gets exactly the vector's answer, with the real device link (reply cache, deferred
// replies) between the mailbox and a test dispatcher. Plus random reader frames: never a throw,
// always a T2T answer, and a good request afterwards is still answered.
import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { readFileSync } from "node:fs";
import { createDeviceLink, type HandlerReply } from "../../src/link.ts";
import { STATUS_DEFERRED } from "../../src/dispatch.ts";
import { nfcAfterFrame, nfcFieldOff, nfcFrame, nfcReply, startMailbox, T2T_ACK, T2T_NACK } from "../../src/nfc/mailbox.ts";
import { crc32, manualTimers } from "../firmware/harness.ts";

type Step = { reader: string; tag: string; note?: string } | { event: "field-off" | "late"; note?: string };
interface NfcVectors {
  nfcStartHeader: string;
  pages0to3: string;
  dispatch: Record<string, { status?: number; bodyHex?: string; echo?: boolean; deferred?: boolean; late?: { status: number; bodyHex: string } }>;
  exchanges: { name: string; host: boolean; steps: Step[] }[];
}
export const nfcVectors = JSON.parse(readFileSync(new URL("../../vectors/nfc.json", import.meta.url), "utf8")) as NfcVectors;

const latin1 = (hex: string): string => Buffer.from(hex, "hex").toString("latin1");

// A mailbox on a real device link whose dispatcher answers from the vectors' table.
function mailbox() {
  const timers = manualTimers();
  const calls: number[] = [];
  let pendingLate: ((r: HandlerReply | null) => void) | null = null;
  let pendingCommand = -1;
  let abandoned = 0;
  const handle = (command: number, body: string, late: (r: HandlerReply | null) => void): HandlerReply => {
    calls.push(command);
    const d = nfcVectors.dispatch[String(command)];
    if (d === undefined) return { status: 0x03, body: "" };
    if (d.deferred) {
      pendingLate = late;
      pendingCommand = command;
      return { status: STATUS_DEFERRED, body: "" };
    }
    return { status: d.status!, body: d.echo ? body : latin1(d.bodyHex!) };
  };
  const link = createDeviceLink({ write: nfcReply, crc32, setTimer: timers.set, clearTimer: timers.clear, handle });
  startMailbox(latin1(nfcVectors.nfcStartHeader), link, (u) => Buffer.from(u).toString("latin1"), () => {
    abandoned++;
    const l = pendingLate;
    pendingLate = null;
    if (l) l(null);
  });
  return {
    calls, timers, link,
    get abandoned() { return abandoned; },
    late() {
      const l = pendingLate!;
      expect(l, "a deferred request to complete").not.toBeNull();
      pendingLate = null;
      const d = nfcVectors.dispatch[String(pendingCommand)]!.late!;
      l({ status: d.status, body: latin1(d.bodyHex) });
    },
  };
}

// One reader frame as the platform delivers it: the answer, then the after-frame hook.
function frame(hex: string): string | number {
  const answer = nfcFrame(Uint8Array.from(Buffer.from(hex, "hex")));
  nfcAfterFrame();
  return answer;
}

function answerText(a: string | number): string {
  return typeof a === "number" ? (a === T2T_ACK ? "ack" : a === T2T_NACK ? "nack" : `4-bit ${a}`) : Buffer.from(a, "latin1").toString("hex");
}

describe("NFC mailbox against firmware/vectors/nfc.json", () => {
  for (const x of nfcVectors.exchanges) {
    it(x.name, () => {
      const m = mailbox();
      x.steps.forEach((s, i) => {
        if ("event" in s) {
          if (s.event === "late") m.late();
          else nfcFieldOff();
          return;
        }
        expect(answerText(frame(s.reader)), `step ${i}: reader ${s.reader}${s.note ? ` (${s.note})` : ""}`).toBe(s.tag);
      });
      // nothing was left for a timer: the mailbox never needs one
      expect(m.timers.pending()).toBe(0);
    });
  }

  it("a request sent twice runs once (the second answer comes from the link's cache)", () => {
    const m = mailbox();
    const x = nfcVectors.exchanges.find((e) => e.name.startsWith("PING sent twice"))!;
    for (const s of x.steps) if ("reader" in s) frame(s.reader);
    expect(m.calls).toEqual([0x02]);
    expect(m.link.stats().replays).toBe(1);
  });

  it("the field dropping while a reply is deferred abandons it once; a field drop while idle or with a reply ready changes nothing", () => {
    const m = mailbox();
    nfcFieldOff();
    expect(m.abandoned).toBe(0);
    const x = nfcVectors.exchanges.find((e) => e.name.startsWith("deferred reply and the field drops"))!;
    for (const s of x.steps) {
      if ("reader" in s) frame(s.reader);
      else if (s.event === "late") m.late();
      else nfcFieldOff();
    }
    expect(m.abandoned).toBe(1);
    expect(m.calls).toEqual([0x40, 0x40]);
    nfcFieldOff();
    expect(answerText(frame("3004")).slice(0, 8)).toBe("4b430103");
    expect(m.abandoned).toBe(1);
  });

  it("random reader frames (any length 0-255, any bytes, WRITEs to pages 0-255) never throw, are always answered with bytes or ACK/NACK, and leave the mailbox answering a good request", () => {
    const info = nfcVectors.exchanges[0]!.steps.filter((s): s is { reader: string; tag: string } => "reader" in s).slice(2);
    const anyFrame = fc.oneof(
      fc.uint8Array({ minLength: 0, maxLength: 255 }),
      fc.tuple(fc.constantFrom(0x30, 0xa2), fc.integer({ min: 0, max: 255 }), fc.uint8Array({ maxLength: 6 })).map(([c, p, d]) => Uint8Array.from([c, p, ...d])),
      fc.constantFrom(...info.map((s) => Uint8Array.from(Buffer.from(s.reader, "hex")))),
    );
    fc.assert(fc.property(fc.array(fc.oneof(anyFrame, fc.constant("off" as const)), { maxLength: 60 }), (frames) => {
      mailbox();
      for (const f of frames) {
        if (f === "off") { nfcFieldOff(); continue; }
        const a = nfcFrame(f);
        nfcAfterFrame();
        if (typeof a === "number") expect([T2T_ACK, T2T_NACK]).toContain(a);
        else expect(a.length).toBe(16);
      }
      nfcFieldOff(); // a request left half-written or waiting is dropped with the field
      for (const s of info) expect(answerText(frame(s.reader))).toBe(s.tag);
    }), { numRuns: 300 });
  });
});

describe("PROTOCOL.md §10.6 worked example", () => {
  it("is the first exchange of firmware/vectors/nfc.json, byte for byte", () => {
    const doc = readFileSync(new URL("../../../PROTOCOL.md", import.meta.url), "utf8");
    const block = /```nfc\n([\s\S]*?)```/.exec(doc);
    expect(block, "a ```nfc block in PROTOCOL.md").not.toBeNull();
    const lines = block![1]!.trim().split("\n").map((l) => {
      const [reader, tag] = l.split("→").map((p) => p.trim().replace(/ /g, ""));
      return { reader, tag };
    });
    const steps = nfcVectors.exchanges[0]!.steps.filter((s): s is { reader: string; tag: string } => "reader" in s).map((s) => ({ reader: s.reader, tag: s.tag }));
    expect(lines).toEqual(steps);
  });
});
