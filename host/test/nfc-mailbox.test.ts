// The host's reader side of the NFC binding (PROTOCOL.md §10) against firmware/vectors/nfc.json: a
// scripted tag plays the carrier's answers of every exchange marked for the host, and the transport
// must send exactly the vector's reader frames and hand the reply frame to the link. Then the
// reader-side recovery: a missing answer, a NACKed page 5, a tag that leaves the field.
import { describe, expect, it } from "vitest";
import { readFileSync } from "node:fs";
import { NfcMailboxTransport, TagError, type TagReader } from "../src/transport/nfc-mailbox.ts";
import { KeyCarrier } from "../src/client.ts";

type Step = { reader: string; tag: string } | { event: string };
const vectors = JSON.parse(readFileSync(new URL("../../firmware/vectors/nfc.json", import.meta.url), "utf8")) as {
  exchanges: { name: string; host: boolean; steps: Step[] }[];
};

/** A tag that answers from a script; `fault` may turn one frame into an error. */
class ScriptedTag implements TagReader {
  readonly description = "scripted tag";
  readonly sent: string[] = [];
  private i = 0;
  slept = 0;
  constructor(private readonly steps: { reader: string; tag: string }[], private readonly fault?: (n: number, frame: string) => TagError | undefined) {}
  async open(): Promise<void> {}
  async close(): Promise<void> {}
  async read(page: number): Promise<Uint8Array> {
    return this.answer(Buffer.from([0x30, page]).toString("hex")) as Promise<Uint8Array>;
  }
  async write(page: number, data: Uint8Array): Promise<void> {
    const a = await this.answer(Buffer.from([0xa2, page, ...data]).toString("hex"));
    if (a !== "ack") throw new TagError("nack", `WRITE ${page}: NACK`);
  }
  async waitForTag(): Promise<void> {}
  async sleep(ms: number): Promise<void> {
    this.slept += ms;
  }
  get done(): boolean {
    return this.i === this.steps.length;
  }
  private async answer(frame: string): Promise<Uint8Array | string> {
    const n = this.sent.length;
    this.sent.push(frame);
    const f = this.fault?.(n, frame);
    if (f) throw f;
    const s = this.steps[this.i++];
    if (!s) throw new Error(`frame ${frame} after the end of the script`);
    expect(frame, `reader frame ${this.i - 1}`).toBe(s.reader);
    if (s.tag === "ack" || s.tag === "nack") return s.tag;
    return Uint8Array.from(Buffer.from(s.tag, "hex"));
  }
}

function readerSteps(x: { steps: Step[] }): { reader: string; tag: string }[] {
  return x.steps.filter((s): s is { reader: string; tag: string } => "reader" in s);
}

/** Writes the request (the vector's WRITE pages, joined) and waits for the reply bytes. */
async function exchange(t: NfcMailboxTransport, request: Uint8Array): Promise<Uint8Array> {
  const got = new Promise<Uint8Array>((resolve) => t.onData(resolve));
  await t.write(request);
  return got;
}

function requestOf(steps: { reader: string; tag: string }[]): Uint8Array {
  const pages = steps.filter((s) => s.reader.startsWith("a2"));
  const bytes = Buffer.concat(pages.map((s) => Buffer.from(s.reader.slice(4), "hex")));
  const len = 12 + bytes.readUInt16BE(6);
  return Uint8Array.from(bytes.subarray(0, len));
}

describe("host NFC mailbox transport against firmware/vectors/nfc.json", () => {
  for (const x of vectors.exchanges.filter((e) => e.host)) {
    it(x.name, async () => {
      // the host starts at the request: the vector's reads of pages 0 and 4 before it are a reader's look around
      const steps = readerSteps(x);
      const first = steps.findIndex((s) => s.reader.startsWith("a205"));
      const tag = new ScriptedTag(steps.slice(first));
      const t = new NfcMailboxTransport(tag);
      await t.open();
      const reply = await exchange(t, requestOf(steps.slice(first)));
      expect(tag.done).toBe(true);
      // the reply frame is the REPLY image without its status page and padding
      const reads = steps.slice(first).filter((s) => s.reader.startsWith("30"));
      const image = Buffer.concat(reads.map((s) => Buffer.from(s.tag, "hex"))).subarray(4);
      expect(Buffer.from(reply).toString("hex")).toBe(image.subarray(0, reply.length).toString("hex"));
      expect(reply.length).toBe(12 + image.readUInt16BE(6));
      expect(t.stats).toMatchObject({ frames: steps.length - first, retries: 0, polls: 0, fieldLosses: 0 });
    });
  }

  const info = readerSteps(vectors.exchanges[0]!);
  const infoFrom = info.findIndex((s) => s.reader.startsWith("a205"));
  const infoSteps = info.slice(infoFrom);

  it("a WRITE without an answer is sent again; a READ 4 without an answer is polled again", async () => {
    let dropped = 0;
    const tag = new ScriptedTag(infoSteps, (n, frame) => {
      // the 2nd page's first try and the first status read get no answer
      if ((frame.startsWith("a206") || frame === "3004") && dropped < 2 && (n === 1 || n === 5)) {
        dropped++;
        return new TagError("no-answer", "no answer within the frame delay");
      }
      return undefined;
    });
    const t = new NfcMailboxTransport(tag);
    await t.open();
    const reply = await exchange(t, requestOf(infoSteps));
    expect(reply[5]).toBe(0x00);
    expect(dropped).toBe(2);
    expect(t.stats.retries).toBe(2);
    expect(tag.done).toBe(true);
  });

  it("a tag that leaves the field mid-request: once it is back (the next tap) the identical frame is written again in full, without waiting for the link's timeout", async () => {
    let gone = true;
    const script = [...infoSteps.filter((s) => s.reader.startsWith("a2")).slice(0, 2), ...infoSteps];
    const tag = new ScriptedTag(script, (n) => (n === 2 && gone ? ((gone = false), new TagError("gone", "field lost")) : undefined));
    // the lost frame does not consume a script step: insert nothing for it
    const t = new NfcMailboxTransport(tag);
    await t.open();
    const kc = await KeyCarrier.open(t, { initialSeq: 1, timeoutMs: 50, retries: 2, handshake: false }).catch((e) => e);
    if (kc instanceof Error) throw kc;
    const r = await (kc as KeyCarrier).link.request(0x01, Uint8Array.of(0xa0));
    expect(r.status).toBe(0);
    expect(r.attempts).toBe(1);
    expect(t.stats.fieldLosses).toBe(1);
    expect(tag.done).toBe(true);
  });

  it("a page 4 that is not a KeyCarrier status page is a clear error", async () => {
    const steps = infoSteps.map((s) => (s.reader === "3004" ? { ...s, tag: "e1100600" + "00".repeat(12) } : s));
    const tag = new ScriptedTag(steps);
    const t = new NfcMailboxTransport(tag);
    await t.open();
    const err = new Promise<Error>((resolve) => t.onError(resolve));
    await t.write(requestOf(steps));
    expect((await err).message).toMatch(/not a KeyCarrier mailbox/);
  });
});
