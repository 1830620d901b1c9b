// NRF's raw NFC tag API (facts §7, from targets/nrf5x source): nfcStart([uid7]) returns the
// 10-byte tag header; the reader's ISO14443-3A frames (after anticollision/SELECT, CRC stripped,
// at most 255 bytes) arrive as NFCrx events; the firmware answers each one once with
// nfcSend(bytes) / nfcSend(int: 4-bit ACK/NACK) / nfcSend() (re-arm without a reply).
import type { Emitter, RuntimeCore } from "./core.ts";
import { toBytes } from "./bytes.ts";

export const NFC_MAX_FRAME = 255;
/** FRAMEDELAYMAX = 0xFFFF carrier cycles at 13.56 MHz ≈ 4.83 ms (facts §7). */
export const NFC_FRAME_DELAY_MS = 0xffff / 13_560;

export interface TransceiveOptions {
  /** Fault: the reader's field disappears right after the frame arrives, before any reply. */
  loseFieldAfterRx?: boolean;
}

export class NfcError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "NfcError";
  }
}

/** The firmware replied, but the cost model estimates the reply started after the frame delay. */
export class NfcLateReply extends NfcError {
  constructor(readonly estimatedMs: number, readonly reply: NfcReply) {
    super(`the NFCrx handler replied after an estimated ${estimatedMs.toFixed(2)} ms, past the 4.8 ms frame delay (FRAMEDELAYMAX): ` +
      "the reader got no reply. Precompute the answer or keep the handler to one native call before nfcSend (see meter hotspots)");
    this.name = "NfcLateReply";
  }
}

/** A reply: bytes, a 4-bit ACK/NACK (`ack4`), or nothing (`rearm`). */
export type NfcReply = Uint8Array & { ack4?: number; rearm?: boolean };

/** One frame waiting for its reply; `lateMs` is set when the cost model says the reply came too late. */
interface Waiting { reply?: NfcReply; lateMs?: number }

export class NfcController {
  private started = false;
  private field = false;
  private waiting: Waiting | undefined;
  readonly sent: NfcReply[] = [];

  constructor(
    private readonly core: RuntimeCore,
    private readonly nrfEvents: Emitter,
    private readonly defaultUid: Uint8Array,
    private readonly advance: (ms: number) => void,
  ) {}

  resetRam(): void {
    this.started = false;
    this.waiting = undefined;
  }

  installInto(nrf: Record<string, unknown>): void {
    nrf["nfcStart"] = (uidIn?: unknown) => {
      this.core.assertPowered();
      const uid = uidIn === undefined ? this.defaultUid : toBytes(uidIn);
      if (uid.length !== 7) throw this.core.realm().newError("Error", `nfcStart: UID must be 7 bytes, got ${uid.length}`);
      this.started = true;
      if (this.field) this.emit("NFCon", []);
      // Type 2 tag block 0-2: UID0-2, BCC0 (0x88 cascade tag ^ UID0-2), UID3-6, BCC1, internal byte
      const header = new Uint8Array(10);
      header.set(uid.subarray(0, 3), 0);
      header[3] = 0x88 ^ uid[0]! ^ uid[1]! ^ uid[2]!;
      header.set(uid.subarray(3, 7), 4);
      header[8] = uid[3]! ^ uid[4]! ^ uid[5]! ^ uid[6]!;
      header[9] = 0x48;
      return this.core.realm().arrayBuffer(header);
    };
    nrf["nfcStop"] = () => {
      this.started = false;
    };
    nrf["nfcSend"] = (...args: unknown[]) => {
      this.core.assertPowered();
      let reply: NfcReply;
      if (args.length === 0 || args[0] === undefined) {
        reply = Object.assign(new Uint8Array(0), { rearm: true });
      } else if (typeof args[0] === "number") {
        reply = Object.assign(Uint8Array.of(args[0] & 0x0f), { ack4: args[0] & 0x0f });
      } else {
        reply = toBytes(args[0]);
        if (reply.length > NFC_MAX_FRAME) throw this.core.realm().newError("Error", `nfcSend: at most ${NFC_MAX_FRAME} bytes, got ${reply.length}`);
      }
      this.core.native("NRF.nfcSend", reply.length);
      this.sent.push(reply);
      if (this.waiting && !this.waiting.reply) {
        this.waiting.reply = reply;
        // The reader waits for the start of the reply: judge the time spent up to this call.
        const timing = reply.rearm ? undefined : this.core.nfcReplyEstimate();
        if (timing && !timing.inTime) this.waiting.lateMs = timing.ms;
      }
    };
  }

  fieldOn(): void {
    if (this.field) return;
    this.field = true;
    if (this.started) this.emit("NFCon", []);
  }

  fieldOff(): void {
    if (!this.field) return;
    this.field = false;
    this.waiting = undefined;
    if (this.started) this.emit("NFCoff", []);
  }

  /** Sends one reader frame; resolves with the firmware's reply (waits at most ~4.8 ms of virtual time). */
  transceive(frame: Uint8Array, opts: TransceiveOptions = {}): Promise<NfcReply> {
    if (frame.length === 0 || frame.length > NFC_MAX_FRAME)
      return Promise.reject(new NfcError(`an ISO14443-3A frame after SELECT is 1..${NFC_MAX_FRAME} bytes, got ${frame.length}`));
    if (!this.started) return Promise.reject(new NfcError("the tag is not active: the firmware has not called NRF.nfcStart()"));
    if (!this.field) return Promise.reject(new NfcError("the reader field is off: call board.nfc.fieldOn() first"));
    const waiting: Waiting = {};
    this.waiting = waiting;
    // One cost scope per frame: every NFCrx listener's work delays the reply.
    this.core.costScope("NFCrx", () => this.emit("NFCrx", [this.core.realm().arrayBuffer(frame)]));
    if (opts.loseFieldAfterRx) {
      this.fieldOff();
      return Promise.reject(new NfcError("field lost after the frame was received (injected fault); no reply reached the reader"));
    }
    if (waiting.lateMs !== undefined) {
      // A reply the cost model puts after FRAMEDELAYMAX never reaches the reader: treat it as none.
      this.core.nfcLateReply(waiting.lateMs);
      if (this.waiting === waiting) this.waiting = undefined;
      this.advance(NFC_FRAME_DELAY_MS);
      return Promise.reject(new NfcLateReply(waiting.lateMs, waiting.reply!));
    }
    if (!waiting.reply) this.advance(NFC_FRAME_DELAY_MS);
    if (this.waiting === waiting) this.waiting = undefined;
    if (!waiting.reply) return Promise.reject(new NfcError(`no nfcSend() within ${NFC_FRAME_DELAY_MS.toFixed(2)} ms (FRAMEDELAYMAX): the reader gives up`));
    return Promise.resolve(waiting.reply);
  }

  private emit(event: string, args: unknown[]): void {
    for (const fn of this.nrfEvents.get(event)) this.core.invoke(`NRF.on('${event}')`, fn, args);
  }
}
