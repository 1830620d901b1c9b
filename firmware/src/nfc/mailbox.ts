// NFC binding of protocol v1 (PROTOCOL.md §10): the carrier is a Type 2 Tag whose pages are a
// mailbox. The reader WRITEs a v1 request frame into pages 5.., page by page; the carrier ACKs each
// WRITE at once; the last page hands the frame to a device link of its own (the same link code,
// reply cache and dispatcher as USB) in a later event; the reader polls the status page 4 with READ
// and, once it says REPLY, READs the reply frame from pages 5...
//
// Every reader frame is answered inside the NFCrx event, and the reply must start within the 4.8 ms
// frame delay (facts §7) on a 64 MHz board, where one JS statement costs ~0.2 ms and a function entry
// ~0.3 ms. So the frame handler is one flat function over module-level state: a READ returns a string
// built beforehand (no concatenation, no allocating native), a WRITE copies 4 bytes into a buffer
// allocated at start and updates two counters. All real work (decoding, dispatch, building the reply
// image) happens in the link's own event, where time is not bounded by the reader.
//
// Module-level state, one mailbox per carrier (there is one NFC front end): reset by startMailbox.
import type { DeviceLink } from "../link.ts";
import { CRC_BYTES, HEADER_BYTES, MAX_FRAME } from "../protocol.ts";

// ISO/IEC 14443-3A Type 2 Tag commands (NFC Forum T2T) and the 4-bit answers.
export const T2T_READ = 0x30;
export const T2T_WRITE = 0xa2;
export const T2T_ACK = 0x0a;
export const T2T_NACK = 0x00; // "invalid argument": a page out of range or out of order, or busy

// Pages 0-3: UID, lock bytes and a capability container of zeros (not NDEF-formatted).
export const HEADER_PAGES = 4;
export const STATUS_PAGE = 4;
// The request is written from this page on; the reply is read from it.
export const FRAME_PAGE = 5;
export const MAX_FRAME_PAGES = (MAX_FRAME + 3) >> 2; // 131: pages 5..135

// Status page: "K" "C", mailbox version 1, state.
export const MB_IDLE = 0;      // no request since the mailbox started or the field dropped
export const MB_RECEIVING = 1; // request pages are being written
export const MB_WORKING = 2;   // the request is complete: queued, running, or waiting for the user
export const MB_REPLY = 3;     // the reply frame is at pages 5..
export const MB_DROPPED = 4;   // the written bytes were not a CRC-valid request: no reply, write it again

const ZERO12 = "\0\0\0\0\0\0\0\0\0\0\0\0";
export function statusPage(state: number): string {
  return "KC\x01" + String.fromCharCode(state);
}
// READ(4) answers 16 bytes: the status page and pages 5-7 (zeros unless a reply is there).
const HEAD_IDLE = statusPage(MB_IDLE) + ZERO12;
const HEAD_RECEIVING = statusPage(MB_RECEIVING) + ZERO12;
const HEAD_WORKING = statusPage(MB_WORKING) + ZERO12;
const HEAD_DROPPED = statusPage(MB_DROPPED) + ZERO12;
const STATUS_REPLY = statusPage(MB_REPLY);

export interface MailboxDeps {
  // Pages 0-3 as 16 bytes (the UID header NRF.nfcStart returned, lock bytes, capability container).
  header: string;
  // Bytes of a typed array as a byte string (E.toString on the board).
  toStr(bytes: Uint8Array): string;
  setTimer(fn: () => void, ms: number): unknown;
  clearTimer(handle: unknown): void;
  // Drops the request whose reply is deferred (PAY waiting for the user) when the field goes: the
  // order is lost and nothing else (PROTOCOL.md §10.4).
  abandon(): void;
}

let deps: MailboxDeps | null = null;
let link: DeviceLink | null = null;
let rq = new Uint8Array(0); // request pages, allocated once (facts §8: big flat buffers at boot)
let pages = 0;              // request pages written in order from FRAME_PAGE
let need = MAX_FRAME;       // bytes of the request frame (known once page 6 holds its length field)
let state = MB_IDLE;
let head = HEAD_IDLE;       // READ(4)'s answer
let image = "";             // pages 0.. as READ sees them: header, status, reply frame, 12 zero bytes
let limit = FRAME_PAGE;     // READ answers pages 0..limit-1
let timer: unknown = null;  // the pending run of a complete request

// The link's write(): the reply frame becomes pages 5.. (also for a deferred reply, later).
export function nfcReply(frame: string): void {
  image = deps!.header + STATUS_REPLY + frame + ZERO12;
  head = image.substr(HEADER_PAGES * 4, 16);
  limit = FRAME_PAGE + ((frame.length + 3) >> 2);
  state = MB_REPLY;
}

export function startMailbox(d: MailboxDeps, l: DeviceLink): void {
  deps = d;
  link = l;
  rq = new Uint8Array(MAX_FRAME_PAGES * 4);
  timer = null;
  setIdle();
}

function setIdle(): void {
  state = MB_IDLE;
  head = HEAD_IDLE;
  image = deps!.header + head;
  limit = FRAME_PAGE;
  pages = 0;
}

// One reader frame (NFCrx): the T2T answer, as bytes or a 4-bit ACK/NACK. Flat on purpose: every
// statement here is part of the reply latency (PROTOCOL.md §10.3 gives the measured budget).
export function nfcFrame(f: Uint8Array): string | number {
  const p = f[1]!;
  if (f[0] === T2T_READ) return p === STATUS_PAGE ? head : p < limit ? image.substr(p * 4, 16) : T2T_NACK;
  // A WRITE is 6 bytes; nothing is written while a request is queued or waits for the user.
  if (f[0] !== T2T_WRITE || f.length !== 6 || state === MB_WORKING) return T2T_NACK;
  const i = p - FRAME_PAGE;
  if (i === 0) {
    // Page 5 starts a request (again): whatever was there is forgotten.
    pages = 0;
    need = MAX_FRAME;
    state = MB_RECEIVING;
    head = HEAD_RECEIVING;
    limit = FRAME_PAGE;
  } else if (i < 0 || i > pages || state !== MB_RECEIVING) return T2T_NACK;
  // i < pages: a WRITE repeated because its ACK was lost; the page is simply written again.
  rq.set(f.subarray(2), i * 4);
  if (i === pages) pages++;
  // Page 6 holds frame bytes 4-7: the body length is bytes 6-7.
  if (i === 1) need = HEADER_BYTES + CRC_BYTES + ((f[4]! << 8) | f[5]!);
  if (pages * 4 >= need || pages === MAX_FRAME_PAGES) {
    state = MB_WORKING;
    head = HEAD_WORKING;
    timer = deps!.setTimer(run, 0);
  }
  return T2T_ACK;
}

// The complete request, in its own event: the link answers it (nfcReply), defers it (PAY), or drops
// it (not a CRC-valid request frame: the status says so and the reader writes it again).
function run(): void {
  timer = null;
  const l = link!;
  const s = l.stats();
  // link stats before the run, to tell a deferred reply from a dropped frame (stats() is live)
  const before = s.deferred + s.pendingRepeats;
  const n = need < pages * 4 ? need : pages * 4;
  try {
    l.onData(deps!.toStr(rq.subarray(0, n)));
  } catch (e) {
    // the link catches its handler's errors; only a failing conversion gets here
  }
  if (state !== MB_WORKING) return; // answered
  if (s.deferred + s.pendingRepeats !== before) return; // the reply comes later
  state = MB_DROPPED;
  head = HEAD_DROPPED;
}

// NFCoff. The field going away loses the request in flight, never a reply already made: a
// reply stays in the link's cache, and the same request written on the next tap gets it again.
export function nfcFieldOff(): void {
  if (state !== MB_RECEIVING && state !== MB_WORKING) return;
  if (timer !== null) {
    deps!.clearTimer(timer);
    timer = null;
  } else if (state === MB_WORKING) {
    deps!.abandon();
  }
  setIdle();
}
