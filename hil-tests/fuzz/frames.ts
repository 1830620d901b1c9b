// Frame building and parsing for the fuzzers, written from PROTOCOL.md §3 independently of both
// the firmware and the host library, so a bug shared by those two cannot hide here.
import { crc32 as zlibCrc32 } from "node:zlib";

export const MAGIC = "\xf5\x4b";
export const MAX_BODY = 512;
export const HEADER_BYTES = 8;

export function crc32(bytes: string): number {
  return zlibCrc32(Buffer.from(bytes, "latin1")) >>> 0;
}

export function u32(n: number): string {
  return String.fromCharCode((n >>> 24) & 255, (n >>> 16) & 255, (n >>> 8) & 255, n & 255);
}

export interface FrameFields { version: number; type: number; seq: number; code: number; body: string }

/** A frame with a correct CRC; `length` overrides the length field (oversized / lying frames). */
export function frame(f: FrameFields, length = f.body.length): string {
  const covered = MAGIC + String.fromCharCode(f.version & 255, f.type & 255, f.seq & 255, f.code & 255, (length >> 8) & 255, length & 255) + f.body;
  return covered + u32(crc32(covered));
}

/** §3.1 header validity plus type request: the device must answer exactly these (when CRC-valid). */
export function isWellFramedRequest(f: FrameFields, length = f.body.length): boolean {
  return f.version >= 1 && f.version <= 127 && f.type === 0 && length === f.body.length && length <= MAX_BODY;
}

export interface Response { version: number; type: number; seq: number; status: number; body: string; crcOk: boolean }

/**
 * Splits everything the device sent into response frames. The device sends nothing but frames once
 * its link is up (PROTOCOL.md §9), so any other byte is an error here.
 */
export function splitResponses(out: string): Response[] {
  const frames: Response[] = [];
  let p = 0;
  while (p < out.length) {
    if (out.substr(p, 2) !== MAGIC || out.length - p < 12) throw new Error(`device sent a non-frame byte at ${p}: ${Buffer.from(out.slice(p, p + 16), "latin1").toString("hex")}`);
    const len = (out.charCodeAt(p + 6) << 8) | out.charCodeAt(p + 7);
    const end = p + HEADER_BYTES + len + 4;
    if (end > out.length) throw new Error(`device sent a truncated frame at ${p} (length ${len})`);
    const covered = out.slice(p, p + HEADER_BYTES + len);
    frames.push({
      version: out.charCodeAt(p + 2), type: out.charCodeAt(p + 3), seq: out.charCodeAt(p + 4), status: out.charCodeAt(p + 5),
      body: out.slice(p + HEADER_BYTES, p + HEADER_BYTES + len), crcOk: u32(crc32(covered)) === out.slice(end - 4, end),
    });
    p = end;
  }
  return frames;
}

export interface AcceptedFrame { offset: number; version: number; seq: number; code: number; body: string }

/**
 * Reference model of the receiver in PROTOCOL.md §3.3, byte by byte and obviously slow: the
 * requests a device must answer when `stream` arrives with no pause longer than the partial-frame
 * timeout and then the line goes quiet (so each wait at the end becomes a timeout: drop one byte,
 * rescan). Chunking does not change the outcome.
 */
export function referenceScan(stream: string): AcceptedFrame[] {
  const accepted: AcceptedFrame[] = [];
  let p = 0; // buffer = stream.slice(p)
  while (p < stream.length) {
    const i = stream.indexOf(MAGIC, p);
    if (i < 0) break; // the rest is dropped (a trailing 0xf5 waits, then times out)
    p = i;
    const left = stream.length - p;
    if (left < HEADER_BYTES) { p++; continue; } // wait, then timeout
    const version = stream.charCodeAt(p + 2), type = stream.charCodeAt(p + 3);
    const len = (stream.charCodeAt(p + 6) << 8) | stream.charCodeAt(p + 7);
    if (version < 1 || version > 127 || type > 1 || len > MAX_BODY) { p++; continue; } // invalid header
    if (left < HEADER_BYTES + len + 4) { p++; continue; } // wait, then timeout
    const covered = stream.slice(p, p + HEADER_BYTES + len);
    if (u32(crc32(covered)) !== stream.slice(p + HEADER_BYTES + len, p + HEADER_BYTES + len + 4)) { p++; continue; }
    if (type === 0) accepted.push({ offset: p, version, seq: stream.charCodeAt(p + 4), code: stream.charCodeAt(p + 5), body: covered.slice(HEADER_BYTES) });
    p += HEADER_BYTES + len + 4;
  }
  return accepted;
}
