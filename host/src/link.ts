import type { Transport } from "./transport/types.ts";
import { crc32 } from "./crc32.ts";
import { ArgumentError, TimeoutError, TransportError } from "./errors.ts";

/**
 * Host side of the KeyCarrier link (PROTOCOL.md §3, §8): framing, CRC-32, resynchronisation,
 * stop-and-wait requests with per-request timeout, and retransmission of the identical frame
 * (same seq, same bytes) so the device replays its cached answer instead of executing twice.
 */

export const MAGIC0 = 0xf5;
export const MAGIC1 = 0x4b;
export const PROTOCOL_MAJOR = 1;
export const HEADER_BYTES = 8;
export const TRAILER_BYTES = 4;
export const MAX_BODY = 512;
export const MAX_FRAME = HEADER_BYTES + MAX_BODY + TRAILER_BYTES;
export const FRAME_REQUEST = 0x00;
export const FRAME_RESPONSE = 0x01;
/** §3.3: a partial frame that sees no new byte for this long loses its first byte. */
export const PARTIAL_FRAME_TIMEOUT_MS = 500;
/** §8: base per-request timeout and retransmission count. */
export const DEFAULT_TIMEOUT_MS = 1000;
export const DEFAULT_RETRIES = 3;
/** §8: with a per-call deadline, the wait between retransmissions doubles up to this. */
export const MAX_RETRANSMIT_INTERVAL_MS = 8000;

/** Per-call options of `HostLink.request`. */
export interface RequestOptions {
  /** Added to the link's base timeout for this command's expected device time. */
  extraTimeoutMs?: number;
  /**
   * For a command whose reply may be deferred (PAY waits for the user, PROTOCOL.md §7.5): keep
   * waiting up to this many ms in total. Retransmissions of the identical frame then back off
   * (base + extra, doubling, at most MAX_RETRANSMIT_INTERVAL_MS) instead of counting `retries`:
   * the device ignores them while the reply waits and answers the first one after it from its cache.
   */
  deadlineMs?: number;
  /** Called once the first transmission was written (e.g. to tell the user to press the button). */
  onSent?: () => void;
}

export interface Frame {
  version: number;
  type: number;
  seq: number;
  /** Command id in a request, status in a response. */
  code: number;
  body: Uint8Array;
}

function assertByte(name: string, v: number): void {
  if (!Number.isInteger(v) || v < 0 || v > 0xff) throw new ArgumentError(`frame ${name} must be an integer 0–255, got ${v}`);
}

/** Serialises a frame: header, body, CRC-32 (big-endian) over magic through body. */
export function encodeFrame(frame: Frame): Uint8Array {
  assertByte("version", frame.version);
  assertByte("type", frame.type);
  assertByte("seq", frame.seq);
  assertByte("code", frame.code);
  const len = frame.body.length;
  if (len > MAX_BODY) throw new ArgumentError(`frame body is ${len} bytes; the protocol allows at most ${MAX_BODY} — send less per request`);
  const out = new Uint8Array(HEADER_BYTES + len + TRAILER_BYTES);
  out.set([MAGIC0, MAGIC1, frame.version, frame.type, frame.seq, frame.code, len >> 8, len & 0xff]);
  out.set(frame.body, HEADER_BYTES);
  const crc = crc32(out, 0, HEADER_BYTES + len);
  new DataView(out.buffer).setUint32(HEADER_BYTES + len, crc, false);
  return out;
}

/** §3.1 header validity: version 1–127, type 0 or 1, length ≤ 512. Expects ≥ 8 bytes at `at`. */
function headerValid(buf: Uint8Array, at: number): boolean {
  const version = buf[at + 2]!;
  const type = buf[at + 3]!;
  const len = (buf[at + 6]! << 8) | buf[at + 7]!;
  return version >= 1 && version <= 127 && (type === FRAME_REQUEST || type === FRAME_RESPONSE) && len <= MAX_BODY;
}

/**
 * The §3.3 receiver: feed chunks, get whole CRC-valid frames; garbage (banners, echo, noise,
 * corrupted frames) is dropped and reported through `onDiscard`. Pure: no timers; the owner
 * calls `expirePartial()` when the partial-frame timeout fires.
 */
export class FrameParser {
  private buf: Uint8Array = new Uint8Array(0);

  constructor(private readonly onDiscard: (bytes: Uint8Array, why: string) => void = () => {}) {}

  /** Bytes held waiting for the rest of a frame. */
  get pending(): number {
    return this.buf.length;
  }

  push(chunk: Uint8Array): Frame[] {
    if (chunk.length) {
      const joined = new Uint8Array(this.buf.length + chunk.length);
      joined.set(this.buf);
      joined.set(chunk, this.buf.length);
      this.buf = joined;
    }
    return this.scan();
  }

  /** Partial-frame timeout: drop one byte at the start and rescan. */
  expirePartial(): Frame[] {
    if (!this.buf.length) return [];
    this.drop(1, "partial frame timed out");
    return this.scan();
  }

  private drop(n: number, why: string): void {
    this.onDiscard(this.buf.slice(0, n), why);
    this.buf = this.buf.slice(n);
  }

  private scan(): Frame[] {
    const frames: Frame[] = [];
    for (;;) {
      const buf = this.buf;
      let i = -1;
      for (let p = 0; p + 1 < buf.length; p++) {
        if (buf[p] === MAGIC0 && buf[p + 1] === MAGIC1) {
          i = p;
          break;
        }
      }
      if (i < 0) {
        // Keep a trailing 0xf5: it may be the first half of a magic split across chunks.
        const keep = buf.length && buf[buf.length - 1] === MAGIC0 ? 1 : 0;
        if (buf.length - keep > 0) this.drop(buf.length - keep, "no frame start");
        return frames;
      }
      if (i > 0) this.drop(i, "bytes before frame start");
      if (this.buf.length < HEADER_BYTES) return frames;
      if (!headerValid(this.buf, 0)) {
        this.drop(1, "invalid header");
        continue;
      }
      const len = (this.buf[6]! << 8) | this.buf[7]!;
      const total = HEADER_BYTES + len + TRAILER_BYTES;
      if (this.buf.length < total) return frames;
      const want = new DataView(this.buf.buffer, this.buf.byteOffset).getUint32(HEADER_BYTES + len, false);
      if (crc32(this.buf, 0, HEADER_BYTES + len) !== want) {
        this.drop(1, "CRC mismatch");
        continue;
      }
      const b = this.buf;
      frames.push({ version: b[2]!, type: b[3]!, seq: b[4]!, code: b[5]!, body: b.slice(HEADER_BYTES, HEADER_BYTES + len) });
      this.buf = b.slice(total);
    }
  }
}

/** One line of `--verbose` output. */
export type FrameTraceEvent =
  | { kind: "tx"; frame: Frame; bytes: Uint8Array; attempt: number }
  | { kind: "rx"; frame: Frame }
  | { kind: "ignored"; frame: Frame; why: string }
  | { kind: "discard"; bytes: Uint8Array; why: string }
  | { kind: "timeout"; seq: number; attempt: number; waitedMs: number };

const COMMAND_NAMES: Record<number, string> = { 0x01: "INFO", 0x02: "PING" };
const STATUS_NAMES: Record<number, string> = {
  0x00: "OK", 0x01: "BAD_FRAME", 0x02: "BAD_CBOR", 0x03: "UNKNOWN_COMMAND", 0x04: "NOT_ALLOWED_IN_STATE",
  0x05: "BAD_ARGUMENT", 0x06: "TOO_LARGE", 0x07: "BUSY", 0x08: "INTERNAL", 0x09: "UNSUPPORTED_VERSION",
};

function hexOf(bytes: Uint8Array, max = 64): string {
  const shown = Buffer.from(bytes.subarray(0, max)).toString("hex");
  return bytes.length > max ? `${shown}…(+${bytes.length - max})` : shown;
}

function describeFrame(f: Frame): string {
  const hex2 = (n: number): string => `0x${n.toString(16).padStart(2, "0")}`;
  const code = f.type === FRAME_REQUEST ? `cmd ${COMMAND_NAMES[f.code] ?? hex2(f.code)}` : `status ${STATUS_NAMES[f.code] ?? hex2(f.code)}`;
  return `v${f.version} ${f.type === FRAME_REQUEST ? "req" : "rsp"} seq ${hex2(f.seq)} ${code} len ${f.body.length} body ${hexOf(f.body) || "-"}`;
}

/** Renders a trace event as one human-readable line (no newline). */
export function formatFrameTrace(e: FrameTraceEvent): string {
  switch (e.kind) {
    case "tx":
      return `→ ${describeFrame(e.frame)}${e.attempt > 0 ? ` (retransmission ${e.attempt})` : ""}`;
    case "rx":
      return `← ${describeFrame(e.frame)}`;
    case "ignored":
      return `← ignored (${e.why}): ${describeFrame(e.frame)}`;
    case "discard": {
      const printable = Buffer.from(e.bytes).toString("latin1").replace(/[^\x20-\x7e]/g, ".");
      return `← skipped ${e.bytes.length} byte(s), ${e.why}: ${hexOf(e.bytes, 32)} "${printable.slice(0, 32)}"`;
    }
    case "timeout":
      return `… no response to seq 0x${e.seq.toString(16).padStart(2, "0")} after ${e.waitedMs} ms (attempt ${e.attempt + 1})`;
  }
}

export interface LinkOptions {
  /** Base per-request timeout (§8: 1,000 ms); a request may add its command's expected time. */
  timeoutMs?: number;
  /** Retransmissions of the identical frame after a timeout (§8: 3). */
  retries?: number;
  trace?: (event: FrameTraceEvent) => void;
  /** First seq; random by default (§8). Tests pin it. */
  initialSeq?: number;
}

export interface LinkResponse {
  status: number;
  body: Uint8Array;
  seq: number;
  /** 1 when the first transmission was answered, 2+ when retransmissions were needed. */
  attempts: number;
}

interface Pending {
  seq: number;
  resolve: (frame: Frame) => void;
  reject: (err: Error) => void;
}

export class HostLink {
  readonly timeoutMs: number;
  readonly retries: number;
  private readonly trace: (event: FrameTraceEvent) => void;
  private readonly parser: FrameParser;
  private nextSeq: number;
  private pending: Pending | undefined;
  private queue: Promise<unknown> = Promise.resolve();
  private partialTimer: ReturnType<typeof setTimeout> | undefined;
  private closedCause: Error | undefined;

  constructor(
    readonly transport: Transport,
    opts: LinkOptions = {},
  ) {
    this.timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.retries = opts.retries ?? DEFAULT_RETRIES;
    if (!Number.isInteger(this.timeoutMs) || this.timeoutMs <= 0) throw new ArgumentError(`timeoutMs must be a positive integer, got ${this.timeoutMs}`);
    if (!Number.isInteger(this.retries) || this.retries < 0) throw new ArgumentError(`retries must be a non-negative integer, got ${this.retries}`);
    this.trace = opts.trace ?? (() => {});
    const seq = opts.initialSeq ?? Math.floor(Math.random() * 256);
    assertByte("initialSeq", seq);
    this.nextSeq = seq;
    this.parser = new FrameParser((bytes, why) => this.trace({ kind: "discard", bytes, why }));
    transport.onData((chunk) => this.receive(chunk));
    transport.onClose((cause) => this.fail(new TransportError(`${transport.description} closed${cause ? `: ${cause.message}` : ""} — check the cable or restart the device`)));
    transport.onError((err) => this.fail(err instanceof TransportError ? err : new TransportError(`${transport.description}: ${err.message}`, undefined, { cause: err })));
  }

  /** The seq the next new request will carry. */
  get peekNextSeq(): number {
    return this.nextSeq;
  }

  /**
   * Sends one request and resolves with the device's response (any status). Requests are
   * serialised (stop-and-wait). Rejects with TimeoutError after 1 + retries unanswered
   * transmissions, or TransportError when the pipe fails.
   */
  request(command: number, body: Uint8Array, opts: RequestOptions = {}): Promise<LinkResponse> {
    assertByte("command", command);
    if (body.length > MAX_BODY) return Promise.reject(new ArgumentError(`request body is ${body.length} bytes; at most ${MAX_BODY} allowed`));
    if (opts.deadlineMs !== undefined && !(Number.isInteger(opts.deadlineMs) && opts.deadlineMs > 0)) {
      return Promise.reject(new ArgumentError(`deadlineMs must be a positive integer, got ${opts.deadlineMs}`));
    }
    const run = this.queue.then(() => this.exchange(command, body, opts));
    this.queue = run.catch(() => undefined);
    return run;
  }

  private async exchange(command: number, body: Uint8Array, opts: RequestOptions): Promise<LinkResponse> {
    if (this.closedCause) throw this.closedCause;
    const seq = this.nextSeq;
    this.nextSeq = (this.nextSeq + 1) & 0xff;
    const frame: Frame = { version: PROTOCOL_MAJOR, type: FRAME_REQUEST, seq, code: command, body };
    const bytes = encodeFrame(frame);
    const firstWaitMs = this.timeoutMs + (opts.extraTimeoutMs ?? 0);
    const started = Date.now();
    const deadline = opts.deadlineMs === undefined ? undefined : started + opts.deadlineMs;
    let waitMs = deadline === undefined ? firstWaitMs : Math.min(firstWaitMs, opts.deadlineMs!);
    let attempt = 0;
    for (;; attempt++) {
      const answer = new Promise<Frame>((resolve, reject) => {
        this.pending = { seq, resolve, reject };
      });
      // The link may fail while the write is in flight, before the race below listens.
      answer.catch(() => undefined);
      let timer: ReturnType<typeof setTimeout> | undefined;
      const timeout = new Promise<"timeout">((resolve) => {
        timer = setTimeout(() => resolve("timeout"), waitMs);
      });
      try {
        this.trace({ kind: "tx", frame, bytes, attempt });
        await this.transport.write(bytes);
        if (attempt === 0) opts.onSent?.();
        const got = await Promise.race([answer, timeout]);
        if (got !== "timeout") return { status: got.code, body: got.body, seq, attempts: attempt + 1 };
        this.trace({ kind: "timeout", seq, attempt, waitedMs: waitMs });
      } finally {
        clearTimeout(timer);
        this.pending = undefined;
      }
      if (deadline === undefined) {
        if (attempt >= this.retries) break;
      } else {
        const left = deadline - Date.now();
        if (left <= 0) break;
        waitMs = Math.min(waitMs * 2, MAX_RETRANSMIT_INTERVAL_MS, left);
      }
    }
    const tries = attempt + 1;
    const how = deadline === undefined ? `of ${waitMs} ms each` : `over ${Date.now() - started} ms`;
    throw new TimeoutError(
      `no response from ${this.transport.description} to ${COMMAND_NAMES[command] ?? `command 0x${command.toString(16)}`} ` +
        `(seq ${seq}) after ${tries} transmission${tries > 1 ? "s" : ""} ${how} — ` +
        "is it a KeyCarrier running its firmware (not the bare REPL) on this port? Try --verbose to see the bytes, or a longer --timeout",
    );
  }

  private receive(chunk: Uint8Array): void {
    this.handle(this.parser.push(chunk));
    clearTimeout(this.partialTimer);
    this.partialTimer = undefined;
    if (this.parser.pending) this.armPartialTimer();
  }

  private armPartialTimer(): void {
    this.partialTimer = setTimeout(() => {
      this.partialTimer = undefined;
      this.handle(this.parser.expirePartial());
      if (this.parser.pending) this.armPartialTimer();
    }, PARTIAL_FRAME_TIMEOUT_MS);
    this.partialTimer.unref?.();
  }

  private handle(frames: Frame[]): void {
    for (const f of frames) {
      if (f.type !== FRAME_RESPONSE) {
        this.trace({ kind: "ignored", frame: f, why: "a request (echo?)" });
        continue;
      }
      if (f.version !== PROTOCOL_MAJOR) {
        this.trace({ kind: "ignored", frame: f, why: `protocol major ${f.version}` });
        continue;
      }
      const p = this.pending;
      if (!p || p.seq !== f.seq) {
        this.trace({ kind: "ignored", frame: f, why: p ? `waiting for seq ${p.seq}` : "no request outstanding" });
        continue;
      }
      this.trace({ kind: "rx", frame: f });
      this.pending = undefined;
      p.resolve(f);
    }
  }

  private fail(err: Error): void {
    if (!this.closedCause) this.closedCause = err;
    clearTimeout(this.partialTimer);
    const p = this.pending;
    this.pending = undefined;
    p?.reject(err);
  }

  /** Closes the transport; an outstanding request rejects with TransportError. */
  async close(): Promise<void> {
    this.fail(new TransportError(`link to ${this.transport.description} was closed`));
    await this.transport.close();
  }
}
