// Regenerates firmware/vectors/nfc.json (PROTOCOL.md §10, the NFC binding) from the layout rules of
// the document alone: frames are built here with Node's zlib.crc32, pages are cut by hand; nothing
// is imported from the firmware or the host. Run: npx tsx firmware/vectors/generate-nfc.ts
import { writeFileSync } from "node:fs";
import { crc32 } from "node:zlib";

const hex = (b: Uint8Array | number[]): string => Buffer.from(b).toString("hex");

function frame(type: number, seq: number, code: number, body: Uint8Array): Uint8Array {
  const head = Buffer.from([0xf5, 0x4b, 0x01, type, seq, code, body.length >> 8, body.length & 0xff]);
  const covered = Buffer.concat([head, body]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(covered) >>> 0);
  return Buffer.concat([covered, crc]);
}

// §10.1 pages 0-3: UID0-2, BCC0 = 0x88 ^ UID0 ^ UID1 ^ UID2 | UID3-6 | BCC1 = UID3 ^ .. ^ UID6,
// internal byte 0x48, lock bytes 00 00 | capability container 00 00 00 00.
const uid = [0x04, 0xa1, 0xb2, 0xc3, 0xd4, 0xe5, 0xf6];
const nfcStartHeader = [uid[0]!, uid[1]!, uid[2]!, 0x88 ^ uid[0]! ^ uid[1]! ^ uid[2]!, uid[3]!, uid[4]!, uid[5]!, uid[6]!, uid[3]! ^ uid[4]! ^ uid[5]! ^ uid[6]!, 0x48];
const pages0to3 = [...nfcStartHeader, 0, 0, 0, 0, 0, 0];

const ACK = "ack";
const NACK = "nack";
const status = (state: number): number[] => [0x4b, 0x43, 0x01, state];
const IDLE = 0, RECEIVING = 1, WORKING = 2, REPLY = 3, DROPPED = 4;
const zeros = (n: number): number[] => new Array<number>(n).fill(0);
const headOnly = (state: number): string => hex([...status(state), ...zeros(12)]);

type Step = { reader: string; tag: string; note?: string } | { event: "field-off" | "late"; note?: string };

// WRITE pages 5.. with the request, zero-padded to whole pages (§10.2).
function writes(req: Uint8Array): Step[] {
  const out: Step[] = [];
  for (let i = 0; i * 4 < req.length; i++) {
    const page = [...req.subarray(i * 4, i * 4 + 4)];
    while (page.length < 4) page.push(0);
    out.push({ reader: hex([0xa2, 5 + i, ...page]), tag: ACK });
  }
  return out;
}

// READ 4, then READ 8, 12, … until the reply frame is read (§10.3): 16 bytes each; the image is the
// status page, the frame and 16 zero bytes.
function reads(reply: Uint8Array): Step[] {
  const image = [...status(REPLY), ...reply, ...zeros(16)];
  const out: Step[] = [{ reader: "3004", tag: hex(image.slice(0, 16)) }];
  for (let page = 8; (page - 5) * 4 < reply.length; page += 4) {
    const at = (page - 4) * 4;
    out.push({ reader: hex([0x30, page]), tag: hex(image.slice(at, at + 16)) });
  }
  return out;
}

const infoReq = frame(0, 1, 0x01, Uint8Array.from([0xa0]));
// The INFO answer of PROTOCOL.md §7.1's worked example.
const infoBody = Buffer.from("a8016530 2e312e30 02820100 03665055 434b4a53 04716330 66666565 30302d31 32333435 36373805 00060e07 19800008 190200".replace(/ /g, ""), "hex");
const infoRsp = frame(1, 1, 0x00, infoBody);
const pingBody = Uint8Array.from([0xa1, 0x01, 0x44, 0xde, 0xad, 0xbe, 0xef]);
const pingReq = frame(0, 2, 0x02, pingBody);
// PING {1: h''}: a 15-byte frame, whose last READ reaches 3 bytes past the last page of the frame
const ping0Body = Uint8Array.from([0xa1, 0x01, 0x40]);
const ping0Req = frame(0, 4, 0x02, ping0Body);
const ping0Rsp = frame(1, 4, 0x00, ping0Body);
const pingRsp = frame(1, 2, 0x00, pingBody);
// A command the test dispatcher defers (as PAY does), and its late answer {} with status OK.
const deferReq = frame(0, 3, 0x40, Uint8Array.from([0xa0]));
const deferRsp = frame(1, 3, 0x00, Uint8Array.from([0xa0]));
const badCrc = Uint8Array.from(infoReq);
badCrc[badCrc.length - 1]! ^= 0xff;

const pingWrites = writes(pingReq);
const vectors = {
  source: "PROTOCOL.md §10 (NFC binding); regenerate with: npx tsx firmware/vectors/generate-nfc.ts",
  notation: "reader: the reader's frame after SELECT (hex, CRC_A left out); tag: the carrier's answer: hex bytes, or ack / nack (the 4-bit answers 0xA and 0x0). event field-off: the reader's field drops; event late: the deferred reply is ready (the user decided). dispatch: what the test dispatcher answers per command id (echo: the request body; deferred: answered by the next late event)",
  uid: hex(uid),
  nfcStartHeader: hex(nfcStartHeader),
  pages0to3: hex(pages0to3),
  dispatch: {
    "1": { status: 0, bodyHex: hex(infoBody) },
    "2": { status: 0, echo: true },
    "64": { deferred: true, late: { status: 0, bodyHex: "a0" } },
  },
  exchanges: [
    {
      name: "INFO: 4 WRITEs, the answer is ready when the last ACK is out, 5 READs",
      host: true,
      steps: [{ reader: "3000", tag: hex([...pages0to3]), note: "pages 0-3" }, { reader: "3004", tag: headOnly(IDLE), note: "idle mailbox" },
        ...writes(infoReq), ...reads(infoRsp)],
    },
    {
      name: "PING: a WRITE whose ACK was lost is repeated (same page, same bytes), then the request goes on",
      host: false,
      steps: [pingWrites[0]!, { reader: "3004", tag: headOnly(RECEIVING) }, pingWrites[1]!, { ...pingWrites[1]!, note: "repeated" } as Step, ...pingWrites.slice(2), ...reads(pingRsp)],
    },
    {
      name: "PING of 0 bytes: a 15-byte reply, the second READ ends in the zero padding",
      host: true,
      steps: [...writes(ping0Req), ...reads(ping0Rsp)],
    },
    {
      name: "PING sent twice: the second is answered from the link's reply cache, byte for byte",
      host: false,
      steps: [...pingWrites, ...reads(pingRsp), ...pingWrites, ...reads(pingRsp)],
    },
    {
      name: "deferred reply: WORKING while the user decides, WRITEs refused, then REPLY",
      host: false,
      steps: [...writes(deferReq), { reader: "3004", tag: headOnly(WORKING) }, { reader: hex([0xa2, 5, ...deferReq.subarray(0, 4)]), tag: NACK, note: "busy" },
        { event: "late" }, ...reads(deferRsp)],
    },
    {
      name: "deferred reply and the field drops: the order is abandoned, the mailbox is idle; the same request again is run again",
      host: false,
      steps: [...writes(deferReq), { reader: "3004", tag: headOnly(WORKING) }, { event: "field-off" }, { reader: "3004", tag: headOnly(IDLE) },
        ...writes(deferReq), { reader: "3004", tag: headOnly(WORKING) }, { event: "late" }, ...reads(deferRsp)],
    },
    {
      name: "the field drops mid-request: the pages are forgotten, the next page is refused",
      host: false,
      steps: [...writes(infoReq).slice(0, 2), { event: "field-off" }, { reader: "3004", tag: headOnly(IDLE) }, { ...writes(infoReq)[2]!, tag: NACK } as Step,
        ...writes(infoReq), ...reads(infoRsp)],
    },
    {
      name: "a request with a bad CRC is dropped (status DROPPED, no answer); the good one after it is answered",
      host: false,
      steps: [...writes(badCrc), { reader: "3004", tag: headOnly(DROPPED) }, ...writes(infoReq), ...reads(infoRsp)],
    },
    {
      name: "refused frames: NACK for a page past the readable ones, a WRITE not starting at page 5, a short WRITE, other commands",
      host: false,
      steps: [
        { reader: "3005", tag: NACK, note: "no reply yet: pages 5.. not readable" },
        { reader: "30ff", tag: NACK },
        { reader: "a206f54b0100", tag: NACK, note: "a request starts at page 5" },
        { reader: "a205f54b01", tag: NACK, note: "5 bytes" },
        { reader: "a204000000ff", tag: NACK, note: "the status page is read-only" },
        { reader: "60", tag: NACK, note: "GET_VERSION (NTAG) is not a T2T command" },
        { reader: "3a0408", tag: NACK, note: "FAST_READ is not supported" },
        { reader: "30", tag: NACK, note: "READ without a page" },
        { reader: "3004", tag: headOnly(IDLE), note: "nothing changed" },
      ],
    },
  ],
};

writeFileSync(new URL("nfc.json", import.meta.url), JSON.stringify(vectors, null, 1) + "\n");
console.log(`nfc.json: ${vectors.exchanges.length} exchanges`);
