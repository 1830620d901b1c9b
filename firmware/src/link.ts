// Device side of the USB link (PROTOCOL.md §3, §4, §8): accumulates raw chunks, finds frames with
// native indexOf/charCodeAt/substr and an injected CRC-32, and answers each CRC-valid request once.
// There is no per-byte JavaScript loop: work per chunk is proportional to frames and false starts.
// Every JS statement costs ~0.2 ms on a 64 MHz board (and a function entry ~0.3 ms), so the usual
// case — one whole request per chunk — takes a short fast path with the same outcome as the scan.
import {
  CRC_BYTES, HEADER_BYTES, HIGHEST_VERSION_BYTE, MAGIC, MAGIC_FIRST_BYTE, MAX_BODY, PARTIAL_FRAME_TIMEOUT_MS,
  PROTOCOL_MAJOR, STATUS_INTERNAL, STATUS_UNSUPPORTED_VERSION, TYPE_REQUEST, TYPE_RESPONSE, ERROR_FIELD_SUPPORTED_MAJORS,
} from "./protocol.ts";
import type { CborMap } from "./codec.ts";
import { errorReply, STATUS_DEFERRED } from "./dispatch.ts";
import { chr, readU32be, u32be } from "./store/bytes.ts";

export interface HandlerReply { status: number; body: string }

export interface LinkDeps {
  write(bytes: string): void;
  // Standard CRC-32 of a byte string (E.CRC32 on the board), as an unsigned 32-bit integer.
  crc32(bytes: string): number;
  setTimer(fn: () => void, ms: number): unknown;
  clearTimer(handle: unknown): void;
  // Runs one request; must not throw (the dispatcher guarantees it, the link double-checks).
  // A STATUS_DEFERRED reply is completed later by late(reply), or late(null) if abandoned.
  handle(command: number, body: string, late: (reply: HandlerReply | null) => void): HandlerReply;
}

export interface LinkStats {
  framesHandled: number;  // requests executed by the handler
  replays: number;        // duplicates answered from the cache
  crcErrors: number;      // candidate frames dropped for a CRC mismatch
  badHeaders: number;     // false magics dropped for an invalid header
  timeouts: number;       // partial frames dropped after the inactivity timeout
  ignored: number;        // valid frames of the wrong type
  falseStarts: number;    // waiting candidates skipped because a whole valid frame follows them
  deferred: number;       // requests whose reply came later (PAY waits for the user)
  pendingRepeats: number; // retransmissions of a deferred request, ignored while it waits
}

export interface DeviceLink {
  onData(chunk: string): void;
  stats(): LinkStats;
  buffered(): number;
}

// Bytes 0-3 of every version-1 request, and of every response this device sends (§3.1).
const REQUEST_HEAD = MAGIC + chr(PROTOCOL_MAJOR, TYPE_REQUEST);
const RESPONSE_HEAD = MAGIC + chr(PROTOCOL_MAJOR, TYPE_RESPONSE);
const MAX_COVERED = HEADER_BYTES + MAX_BODY;
// How many request heads before the buffer's end step 4a looks at (a good frame's own body rarely holds one).
const LATER_HEADS = 4;

export function createDeviceLink(deps: LinkDeps): DeviceLink {
  let buffer = "";
  let timer: unknown = null;
  // §8: one cached response keyed by (seq, CRC of the request frame); the CRC is kept as the
  // frame's 4 trailer bytes, so the key is compared without decoding it.
  let cachedSeq = -1;
  let cachedTrailer = "";
  let cachedFrame = "";
  // §8: the one request whose reply is deferred, keyed like the cache; its reply is cached and sent
  // when it comes. -1: none.
  let deferredSeq = -1;
  let deferredTrailer = "";
  const stats: LinkStats = { framesHandled: 0, replays: 0, crcErrors: 0, badHeaders: 0, timeouts: 0, ignored: 0, falseStarts: 0, deferred: 0, pendingRepeats: 0 };
  const crc32 = deps.crc32;
  const write = deps.write;

  // Answers the CRC-checked request `frame` (header + body = `covered` bytes, then the CRC).
  function answer(frame: string, covered: number): void {
    const seq = frame.charCodeAt(4);
    const trailer = frame.substr(covered);
    if (seq === cachedSeq && trailer === cachedTrailer) {
      // Unsupported versions are never cached (§8), so a cache hit is always a version-1 request.
      stats.replays += 1;
      write(cachedFrame);
      return;
    }
    if (frame.charCodeAt(2) !== PROTOCOL_MAJOR) {
      // never cached (§8); the body is shorter than 256 bytes. Encoded here, when a host speaks
      // another major (rare), rather than kept in RAM per link (issue #12).
      const supportedMajors: CborMap = {};
      supportedMajors[ERROR_FIELD_SUPPORTED_MAJORS] = [PROTOCOL_MAJOR];
      const unsupportedVersionBody = errorReply(STATUS_UNSUPPORTED_VERSION, "unsupported protocol major", supportedMajors).body;
      const out = RESPONSE_HEAD + chr(seq, STATUS_UNSUPPORTED_VERSION, 0, unsupportedVersionBody.length) + unsupportedVersionBody;
      write(out + u32be(crc32(out)));
      return;
    }
    if (seq === deferredSeq && trailer === deferredTrailer) {
      // The same request again while its reply waits for the user: not executed twice, and not
      // answered either; the reply goes out (and into the cache) when it comes.
      stats.pendingRepeats += 1;
      return;
    }
    let reply: HandlerReply;
    try {
      reply = deps.handle(frame.charCodeAt(5), frame.substr(HEADER_BYTES, covered - HEADER_BYTES), lateReply);
    } catch (e) {
      reply = { status: STATUS_INTERNAL, body: errorReply(STATUS_INTERNAL, "handler threw").body };
    }
    stats.framesHandled += 1;
    // handle() answers STATUS_DEFERRED when the reply comes later through `late` (PROTOCOL.md §8).
    if (reply.status === STATUS_DEFERRED) {
      stats.deferred += 1;
      deferredSeq = seq;
      deferredTrailer = trailer;
      return;
    }
    send(seq, trailer, reply);
  }

  // Cache before writing: if the write is lost, the retransmission is served from the cache.
  function send(seq: number, trailer: string, reply: HandlerReply): void {
    const body = reply.body;
    const n = body.length;
    const out = RESPONSE_HEAD + chr(seq, reply.status, n >> 8, n & 255) + body;
    const c = crc32(out);
    cachedSeq = seq;
    cachedTrailer = trailer;
    cachedFrame = out + u32be(c);
    write(cachedFrame);
  }

  // The late reply of the deferred request, from a button or timer callback: framed with the
  // request's seq, cached under its key, sent. Nothing escapes into Espruino's event loop.
  function lateReply(reply: HandlerReply | null): void {
    const seq = deferredSeq;
    if (seq < 0) return;
    deferredSeq = -1;
    if (reply === null) return; // abandoned: no reply will ever come for that request
    try {
      send(seq, deferredTrailer, reply);
    } catch (e) {
      // only a failing write or crc32 gets here; the host retransmits and meets the cache or a re-run
    }
  }

  // §3.3 step 4a: the candidate at 0 waits for bytes; if a whole CRC-valid version-1 request is
  // buffered behind it, the waiting candidate was a false start (a real frame's body holding a whole
  // valid frame is a 2^-32 coincidence, or a host that lies anyway). Returns that request's offset,
  // or 0. The good frame is the newest bytes, so the search walks request heads BACKWARDS from the
  // buffer's end (native lastIndexOf) and looks at most at LATER_HEADS of them: a constant cost per
  // chunk however many false starts are buffered or how finely they are chunked.
  function laterFrame(b: string): number {
    let at = b.length - HEADER_BYTES - CRC_BYTES + 1;
    for (let n = 0; n < LATER_HEADS; n++) {
      // one literal (the gate allows String#lastIndexOf with a literal; a repeated one gets hoisted)
      at = b.lastIndexOf("\xf5\x4b\x01\x00", at - 1);
      if (at <= 0) return 0;
      const covered = HEADER_BYTES + ((b.charCodeAt(at + 6) << 8) | b.charCodeAt(at + 7));
      if (covered <= MAX_COVERED) {
        // the newest request is still arriving: nothing to prove yet
        if (at + covered + CRC_BYTES > b.length) return 0;
        if (crc32(b.substr(at, covered)) === readU32be(b, at + covered)) return at;
      }
    }
    return 0;
  }

  // §3.3 steps 1-6; returns when the buffer holds no complete candidate frame. Written flat, with
  // charCodeAt inline. `later` (step 4a): offset of a whole valid request known to follow, so every
  // waiting candidate before it is dropped as a false start (up to the next magic) and every whole
  // frame before it is still handled in order.
  function scan(): void {
    let later = 0;
    for (;;) {
      let b = buffer;
      const start = b.indexOf(MAGIC);
      if (start < 0) {
        buffer = b.charCodeAt(b.length - 1) === MAGIC_FIRST_BYTE ? b.substr(b.length - 1) : "";
        return;
      }
      if (start > 0) {
        buffer = b = b.substr(start);
        later -= start;
      }
      if (b.length < HEADER_BYTES) return;
      const version = b.charCodeAt(2);
      const type = b.charCodeAt(3);
      const covered = HEADER_BYTES + ((b.charCodeAt(6) << 8) | b.charCodeAt(7));
      if (version < 1 || version > HIGHEST_VERSION_BYTE || type > TYPE_RESPONSE || covered > MAX_COVERED) {
        stats.badHeaders += 1;
        buffer = b.substr(1);
        later -= 1;
        continue;
      }
      if (b.length < covered + CRC_BYTES) {
        if (later <= 0) later = laterFrame(b);
        if (later <= 0) return;
        // A false start. So is every later candidate that waits too, up to the request at `later`:
        // they are skipped by offset, and the buffer is cut once (not once per false start).
        stats.falseStarts += 1;
        let at = b.indexOf(MAGIC, 1);
        while (at < later && at + HEADER_BYTES + ((b.charCodeAt(at + 6) << 8) | b.charCodeAt(at + 7)) + CRC_BYTES > b.length) {
          stats.falseStarts += 1;
          at = b.indexOf(MAGIC, at + 1);
        }
        buffer = b.substr(at);
        later -= at;
        continue;
      }
      const crc = readU32be(b, covered);
      if (crc32(b.substr(0, covered)) !== crc) {
        stats.crcErrors += 1;
        buffer = b.substr(1);
        later -= 1;
        continue;
      }
      buffer = b.substr(covered + CRC_BYTES);
      later -= covered + CRC_BYTES;
      if (type === TYPE_REQUEST) answer(b.substr(0, covered + CRC_BYTES), covered);
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
    onData: function (b: string): void {
      // b: the chunk, then everything buffered. One name and no copy when nothing is buffered (the
      // usual case): the request stays alive while it runs, and each copy or extra reference of a
      // 512 B frame is 58 vars on a Puck.js (issue #12).
      if (buffer !== "") b = buffer + b;
      // Fast paths for a buffer that starts with a version-1 request header: the usual traffic.
      // Each has the outcome scan() would have (magic at 0, header valid), with fewer statements.
      if (b.substr(0, 4) === REQUEST_HEAD) {
        // Fewer than 8 bytes: charCodeAt gives NaN, covered becomes 8, and the frame waits below.
        const covered = HEADER_BYTES + ((b.charCodeAt(6) << 8) | b.charCodeAt(7));
        if (covered <= MAX_COVERED) {
          if (b.length < covered + CRC_BYTES) {
            // §3.3 steps 2 and 4: a partial frame; wait, restarting the inactivity timeout — unless
            // a whole request follows it (step 4a): then it was a false start.
            if (b.indexOf(MAGIC, 1) < 0 || laterFrame(b) === 0) {
              buffer = b;
              if (timer !== null) deps.clearTimer(timer);
              timer = deps.setTimer(onTimeout, PARTIAL_FRAME_TIMEOUT_MS);
              return;
            }
            buffer = b;
            pump();
            return;
          }
          if (b.length === covered + CRC_BYTES) {
            // Exactly one whole frame: check the CRC and answer it, leaving nothing buffered.
            const c = crc32(b.substr(0, covered));
            if (b.substr(covered) === u32be(c)) {
              buffer = "";
              if (timer !== null) {
                deps.clearTimer(timer);
                timer = null;
              }
              try {
                answer(b, covered);
              } catch (e) {
                // as in pump(): only a failing write or crc32 gets here
              }
              return;
            }
            // CRC mismatch: what scan() does at this point (§3.3 step 5), without a second CRC.
            stats.crcErrors += 1;
            buffer = b.substr(1);
            pump();
            return;
          }
        }
      }
      buffer = b;
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
