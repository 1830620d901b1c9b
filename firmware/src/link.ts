// Device side of the USB link (PROTOCOL.md §3, §4, §8): accumulates raw chunks, finds frames with
// native indexOf/charCodeAt/substr and an injected CRC-32, and answers each CRC-valid request once.
// There is no per-byte JavaScript loop: work per chunk is proportional to frames and false starts.
import {
  CRC_BYTES, HEADER_BYTES, HIGHEST_VERSION_BYTE, MAGIC, MAGIC_FIRST_BYTE, MAX_BODY, PARTIAL_FRAME_TIMEOUT_MS,
  PROTOCOL_MAJOR, STATUS_INTERNAL, STATUS_UNSUPPORTED_VERSION, TYPE_REQUEST, TYPE_RESPONSE,
  ERROR_FIELD_DETAIL, ERROR_FIELD_SUPPORTED_MAJORS,
} from "./protocol.ts";
import { encode, text, type CborMap } from "./codec.ts";

export interface HandlerReply { status: number; body: string }

export interface LinkDeps {
  write(bytes: string): void;
  // Standard CRC-32 of a byte string (E.CRC32 on the board).
  crc32(bytes: string): number;
  setTimer(fn: () => void, ms: number): unknown;
  clearTimer(handle: unknown): void;
  // Runs one request; must not throw (the dispatcher guarantees it, the link double-checks).
  handle(command: number, body: string): HandlerReply;
}

export interface LinkStats {
  framesHandled: number;  // requests executed by the handler
  replays: number;        // duplicates answered from the cache
  crcErrors: number;      // candidate frames dropped for a CRC mismatch
  badHeaders: number;     // false magics dropped for an invalid header
  timeouts: number;       // partial frames dropped after the inactivity timeout
  ignored: number;        // valid frames of the wrong type
}

export interface DeviceLink {
  onData(chunk: string): void;
  stats(): LinkStats;
  buffered(): number;
}

function uint32Bytes(n: number): string {
  return String.fromCharCode(Math.floor(n / 16777216) & 255, (n >> 16) & 255, (n >> 8) & 255, n & 255);
}

export function buildFrame(crc32: (bytes: string) => number, type: number, seq: number, code: number, body: string): string {
  const covered = MAGIC + String.fromCharCode(PROTOCOL_MAJOR, type, seq, code, body.length >> 8, body.length & 255) + body;
  return covered + uint32Bytes(crc32(covered) >>> 0);
}

const UNSUPPORTED_VERSION_BODY_VALUE: CborMap = {};
UNSUPPORTED_VERSION_BODY_VALUE[ERROR_FIELD_DETAIL] = text("unsupported protocol major");
UNSUPPORTED_VERSION_BODY_VALUE[ERROR_FIELD_SUPPORTED_MAJORS] = [PROTOCOL_MAJOR];

function errorBody(detail: string): CborMap {
  const m: CborMap = {};
  m[ERROR_FIELD_DETAIL] = text(detail);
  return m;
}

export function createDeviceLink(deps: LinkDeps): DeviceLink {
  let buffer = "";
  let timer: unknown = null;
  // §8: one cached response keyed by (seq, CRC of the request frame)
  let cachedSeq = -1;
  let cachedCrc = -1;
  let cachedFrame = "";
  const stats: LinkStats = { framesHandled: 0, replays: 0, crcErrors: 0, badHeaders: 0, timeouts: 0, ignored: 0 };
  const unsupportedVersionBody = encode(UNSUPPORTED_VERSION_BODY_VALUE);
  const internalErrorBody = encode(errorBody("link: handler threw"));

  function respond(seq: number, status: number, body: string): string {
    const frame = buildFrame(deps.crc32, TYPE_RESPONSE, seq, status, body);
    deps.write(frame);
    return frame;
  }

  function onRequest(version: number, seq: number, command: number, body: string, crc: number): void {
    if (version !== PROTOCOL_MAJOR) {
      respond(seq, STATUS_UNSUPPORTED_VERSION, unsupportedVersionBody);
      return;
    }
    if (seq === cachedSeq && crc === cachedCrc) {
      stats.replays += 1;
      deps.write(cachedFrame);
      return;
    }
    let reply: HandlerReply;
    try {
      reply = deps.handle(command, body);
    } catch (e) {
      reply = { status: STATUS_INTERNAL, body: internalErrorBody };
    }
    stats.framesHandled += 1;
    // Cache before writing: if the write is lost, the retransmission is served from the cache.
    cachedSeq = seq;
    cachedCrc = crc;
    cachedFrame = buildFrame(deps.crc32, TYPE_RESPONSE, seq, reply.status, reply.body);
    deps.write(cachedFrame);
  }

  // §3.3 steps 1-6; returns when the buffer holds no complete candidate frame. Written flat, with
  // charCodeAt inline, because each JS statement costs ~0.2 ms on the board.
  function scan(): void {
    for (;;) {
      let b = buffer;
      const start = b.indexOf(MAGIC);
      if (start < 0) {
        buffer = b.charCodeAt(b.length - 1) === MAGIC_FIRST_BYTE ? b.substr(b.length - 1) : "";
        return;
      }
      if (start > 0) buffer = b = b.substr(start);
      if (b.length < HEADER_BYTES) return;
      const version = b.charCodeAt(2);
      const type = b.charCodeAt(3);
      const covered = HEADER_BYTES + ((b.charCodeAt(6) << 8) | b.charCodeAt(7));
      if (version < 1 || version > HIGHEST_VERSION_BYTE || type > TYPE_RESPONSE || covered > HEADER_BYTES + MAX_BODY) {
        stats.badHeaders += 1;
        buffer = b.substr(1);
        continue;
      }
      if (b.length < covered + CRC_BYTES) return;
      const crc = b.charCodeAt(covered) * 16777216 + ((b.charCodeAt(covered + 1) << 16) | (b.charCodeAt(covered + 2) << 8) | b.charCodeAt(covered + 3));
      if ((deps.crc32(b.substr(0, covered)) >>> 0) !== crc) {
        stats.crcErrors += 1;
        buffer = b.substr(1);
        continue;
      }
      buffer = b.substr(covered + CRC_BYTES);
      if (type === TYPE_REQUEST) onRequest(version, b.charCodeAt(4), b.charCodeAt(5), b.substr(HEADER_BYTES, covered - HEADER_BYTES), crc);
      else stats.ignored += 1;
    }
  }

  function onTimeout(): void {
    timer = null;
    stats.timeouts += 1;
    buffer = buffer.substr(1);
    pump();
  }

  function pump(): void {
    try {
      scan();
    } catch (e) {
      // Only a failing write or crc32 can get here; drop the buffer rather than loop on it.
      buffer = "";
    }
    // Inactivity timeout (§3.3): restarted whenever bytes arrive and some remain buffered.
    if (timer !== null) {
      deps.clearTimer(timer);
      timer = null;
    }
    if (buffer.length > 0) timer = deps.setTimer(onTimeout, PARTIAL_FRAME_TIMEOUT_MS);
  }

  return {
    onData: function (chunk: string): void {
      buffer += chunk;
      pump();
    },
    stats: function (): LinkStats {
      return stats;
    },
    buffered: function (): number {
      return buffer.length;
    },
  };
}
