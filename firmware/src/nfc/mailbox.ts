// NFC binding of protocol v1 (PROTOCOL.md §10): the carrier is a Type 2 Tag whose pages are a
// mailbox. The reader WRITEs a v1 request frame into pages 5.., page by page; the carrier ACKs each
// WRITE at once; the last page hands the frame to a device link of its own (the same link code,
// reply cache and dispatcher as USB) once the ACK is sent; the reader polls the status page 4 with READ
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
import { chr } from "../store/bytes.ts";

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

// READ answers 16 bytes from any readable page, so the reply image ends in 16 zero bytes.
// The module-level strings below are marked pure so the USB-only bundle (KC_NFC false, which
// never imports the mailbox's functions) drops them with the rest of the module.
const ZERO16 = /* @__PURE__ */ "\0".repeat(16);
const ZERO12 = /* @__PURE__ */ ZERO16.substr(4);
export function statusPage(state: number): string {
  return "KC\x01" + chr(state);
}
// READ(4) answers 16 bytes: the status page and pages 5-7 (zeros unless a reply is there).
const HEAD_IDLE = /* @__PURE__ */ statusPage(MB_IDLE) + ZERO12;
const HEAD_RECEIVING = /* @__PURE__ */ statusPage(MB_RECEIVING) + ZERO12;
const HEAD_WORKING = /* @__PURE__ */ statusPage(MB_WORKING) + ZERO12;
const HEAD_DROPPED = /* @__PURE__ */ statusPage(MB_DROPPED) + ZERO12;
const STATUS_REPLY = /* @__PURE__ */ statusPage(MB_REPLY);

let tagHeader = "";                        // pages 0-3 (16 bytes)
let toStr: (bytes: Uint8Array) => string; // E.toString on the board
let abandon: (() => void) | null;         // drops a deferred request (PAY waiting for the user)
let link: DeviceLink | null = null;
let rq: Uint8Array;         // request pages, allocated once (facts §8: big flat buffers at boot)
let pages = 0;              // request pages written in order from FRAME_PAGE
let need: number;           // bytes of the request frame (known once page 6 holds its length field)
let state = MB_IDLE;
let head = HEAD_IDLE;       // READ(4)'s answer
let image: string;          // pages 0.. as READ sees them: header, status, last reply frame, 16 zero bytes
let limit: number;          // READ answers pages 0..limit-1
let complete = false;       // a request is complete and not yet handed to the link
let written: Uint8Array | null = null; // the WRITE nfcFrame accepted, applied by nfcAfterFrame

// The link's write(): the reply frame becomes pages 5.. (also for a deferred reply, later).
export function nfcReply(frame: string): void {
  image = tagHeader + STATUS_REPLY + frame + ZERO16;
  head = image.substr(HEADER_PAGES * 4, 16);
  limit = FRAME_PAGE + ((frame.length + 3) >> 2);
  state = MB_REPLY;
}

// uid: the 10-byte UID header NRF.nfcStart returned (pages 0-2 but for the two lock bytes; page 3,
// the capability container, is zeros: not NDEF-formatted). l: the mailbox's own device link, whose write() is nfcReply. bytesToStr: the bytes of
// a typed array as a byte string. drop: abandons the deferred request when the field goes, so the
// order is lost and nothing else (PROTOCOL.md §10.4); null where nothing can be deferred.
export function startMailbox(uid: string, l: DeviceLink, bytesToStr: (bytes: Uint8Array) => string, drop: (() => void) | null): void {
  tagHeader = (uid + ZERO16).substr(0, 16);
  link = l;
  toStr = bytesToStr;
  abandon = drop;
  rq = new Uint8Array(MAX_FRAME_PAGES * 4);
  state = MB_IDLE;
  head = HEAD_IDLE;
  image = tagHeader + head;
  limit = FRAME_PAGE;
  written = null;
}

// One reader frame (NFCrx): the T2T answer, as bytes or a 4-bit ACK/NACK. Only what decides the
// answer runs here: every character of it is part of the reply latency (Espruino costs roughly a
// thousand instructions per character of code it runs: measured on the real 2v29 interpreter, a
// WRITE that also copied its page and updated the counters here took ≈ 220k instructions, ≈ 4.3 ms
// at 64 MHz, over the frame delay with the listener around it). An accepted WRITE is kept as it
// came and applied by nfcAfterFrame, once the ACK is out (PROTOCOL.md §10.3).
export function nfcFrame(f: Uint8Array): string | number {
  const p = f[1]!;
  if (f[0] === T2T_READ) return p === STATUS_PAGE ? head : p < limit ? image.substr(p * 4, 16) : T2T_NACK;
  // A WRITE is 6 bytes; nothing is written while a request is queued or waits for the user. Page 5
  // starts a request (again); any other page must continue the one being received, in order, or
  // repeat one (its ACK was lost).
  if (f[0] !== T2T_WRITE || f.length !== 6 || state === MB_WORKING || p !== FRAME_PAGE && (p < FRAME_PAGE || p > FRAME_PAGE + pages || state !== MB_RECEIVING)) return T2T_NACK;
  written = f;
  return T2T_ACK;
}

// The WRITE nfcFrame accepted (f: its 6 bytes), applied: the page copied into the request buffer,
// the counters and the status page updated.
function applyWrite(f: Uint8Array): void {
  const i = f[1]! - FRAME_PAGE;
  if (i === 0) {
    // Page 5 starts a request (again): whatever was there is forgotten. Pages 5.. keep the last reply
    // until the next one: readers look at them only after the status page says REPLY.
    pages = 0;
    need = MAX_FRAME;
    state = MB_RECEIVING;
    head = HEAD_RECEIVING;
  }
  // i < pages: a WRITE repeated because its ACK was lost; the page is simply written again.
  rq.set(f.subarray(2), i * 4);
  if (i === pages) pages++;
  // Page 6 holds frame bytes 4-7: the body length is bytes 6-7.
  if (i === 1) need = HEADER_BYTES + CRC_BYTES + ((f[4]! << 8) | f[5]!);
  if (pages * 4 >= need || pages === MAX_FRAME_PAGES) {
    state = MB_WORKING;
    head = HEAD_WORKING;
    complete = true;
  }
}

// Called in the same NFCrx event right after the answer was sent (the reader waits only for the
// start of the answer): an accepted WRITE is applied, and a complete request goes to the link now.
// The link answers it (nfcReply), defers it (PAY), or drops it (not a CRC-valid request frame: the
// status says so and the reader writes it again). Frames that arrive meanwhile wait in Espruino's
// event queue and are answered late, i.e. not at all: the reader polls again (§10.3).
export function nfcAfterFrame(): void {
  if (written !== null) {
    const f = written;
    written = null;
    applyWrite(f);
  }
  if (!complete) return;
  complete = false;
  const l = link!;
  const s = l.stats(); // live counters
  const before = s.deferred + s.pendingRepeats;
  // need ≤ pages × 4 here, or all 131 pages were written and subarray stops at the buffer's end.
  // The link catches its handler's errors and E.toString does not throw on a typed array.
  l.onData(toStr(rq.subarray(0, need)));
  if (state !== MB_WORKING || s.deferred + s.pendingRepeats !== before) return; // answered, or the reply comes later
  state = MB_DROPPED;
  head = HEAD_DROPPED;
}

// NFCoff. The field going away loses the request in flight, never a reply already made: a reply
// stays in the link's cache, and the same request written on the next tap gets it again.
export function nfcFieldOff(): void {
  if (state !== MB_RECEIVING && state !== MB_WORKING) return;
  // WORKING here means the link deferred the reply (PAY waits for the user): the order is dropped.
  if (state === MB_WORKING && abandon) abandon();
  state = MB_IDLE;
  head = HEAD_IDLE;
}
