import { TransportBase } from "./base.ts";
import { TransportError } from "../errors.ts";

/**
 * The reader side of the NFC binding (PROTOCOL.md §10): protocol v1 frames through the carrier's
 * Type 2 Tag mailbox. A frame the host link writes is cut into 4-byte pages and WRITten to pages
 * 5..; the status page 4 is then polled with READ until it says REPLY, and the reply frame is READ
 * from pages 5.. and handed to the link as received bytes. The link above keeps doing what it does
 * on USB: seq, timeouts, and retransmission of the identical frame, which the carrier answers from
 * its reply cache — so a tap that ends mid-exchange is recovered by the next one.
 */

export const STATUS_PAGE = 4;
export const FRAME_PAGE = 5;
export const MB_IDLE = 0;
export const MB_RECEIVING = 1;
export const MB_WORKING = 2;
export const MB_REPLY = 3;
export const MB_DROPPED = 4;
const STATE_NAMES = ["IDLE", "RECEIVING", "WORKING", "REPLY", "DROPPED"];

/** Why one tag command failed. */
export type TagErrorKind =
  /** The tag answered NACK (a page refused; the mailbox is busy or was reset). */
  | "nack"
  /** No answer within the frame delay (the carrier was busy computing, or the frame was lost). */
  | "no-answer"
  /** The tag is not (or no longer) in the field. */
  | "gone"
  /** The reader itself failed (unplugged, driver error). */
  | "reader";

const MAX_RETAPS = 3;

export class TagError extends Error {
  /** Set once the tag was back in the field after this error (the next tap): the exchange can start again. */
  retapped = false;
  constructor(readonly kind: TagErrorKind, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "TagError";
  }
}

/** A Type 2 Tag reader: READ (16 bytes from a page) and WRITE (4 bytes to a page). */
export interface TagReader {
  readonly description: string;
  /** Resolves once a tag is in the field and selected; rejects with TagError / TransportError. */
  open(): Promise<void>;
  close(): Promise<void>;
  read(page: number): Promise<Uint8Array>;
  write(page: number, data: Uint8Array): Promise<void>;
  /** Resolves once a tag is in the field again (after "gone"); rejects when it cannot tell. */
  waitForTag(timeoutMs: number): Promise<void>;
  /** Waits ms of the reader's time (wall time on hardware, virtual time on the virtual board). */
  sleep(ms: number): Promise<void>;
}

export interface NfcMailboxOptions {
  /** Called once a request's pages are all written (tests press the carrier's button here). */
  onRequestWritten?: (frame: Uint8Array) => void | Promise<void>;
  /** Tries per page when the tag gives no answer (default 4). */
  frameTries?: number;
  /** Status polls start this far apart and double up to maxPollMs (default 5 / 100 ms). */
  firstPollMs?: number;
  maxPollMs?: number;
  /** An exchange gives up after this long in the reader's time (default 40 s: PAY waits up to 35 s). */
  exchangeMs?: number;
  /** How long to wait for a tag that left the field before giving the request up to the link (default 5 s). */
  retapMs?: number;
  /** The link's base timeout this transport asks for when the caller sets none (default 10 s). */
  linkTimeoutMs?: number;
  /** One line per tag-level event (retries, polls, field loss), for --verbose. */
  trace?: (line: string) => void;
}

/** Counters of what the mailbox exchanges cost (the bench reports them per request). */
export interface NfcStats {
  /** READ and WRITE commands sent (each one reader frame) */
  frames: number;
  /** commands sent again after no answer, NACK or field loss */
  retries: number;
  /** status polls that did not find the reply yet */
  polls: number;
  /** taps lost mid-exchange */
  fieldLosses: number;
}

export class NfcMailboxTransport extends TransportBase {
  readonly description: string;
  /** A request moves page by page (a 500-byte PING is 128 WRITEs and 33 READs): the link waits longer. */
  readonly linkTimeoutMs: number;
  readonly stats: NfcStats = { frames: 0, retries: 0, polls: 0, fieldLosses: 0 };
  private generation = 0;
  private readonly trace: (line: string) => void;

  constructor(readonly reader: TagReader, private readonly opts: NfcMailboxOptions = {}) {
    super();
    this.description = `nfc ${reader.description}`;
    this.linkTimeoutMs = opts.linkTimeoutMs ?? 10_000;
    this.trace = opts.trace ?? (() => {});
  }

  async open(): Promise<void> {
    await this.reader.open();
    this.opened = true;
  }

  async close(): Promise<void> {
    this.generation++;
    if (!this.opened) return;
    this.opened = false;
    await this.reader.close();
    this.emitClose();
  }

  /**
   * Writes the request's pages and resolves; the reply comes later through onData, once the status
   * page says REPLY. A newer write (the link's retransmission) supersedes a poll still running. A
   * tap lost while writing is not an error here: the link retransmits the identical frame after its
   * timeout, and this writes it again once the tag is back.
   */
  async write(bytes: Uint8Array): Promise<void> {
    if (!this.opened) throw new TransportError(`${this.description} is closed`);
    const gen = ++this.generation;
    await this.deliver(Uint8Array.from(bytes), gen, 0);
  }

  // Writes the pages, then polls for the reply in the background. When the tag left the field and
  // came back (the next tap), the identical frame is written again at once — exactly what the link's
  // retransmission would send, only sooner; otherwise the link retransmits after its timeout.
  private async deliver(frame: Uint8Array, gen: number, retaps: number): Promise<void> {
    try {
      await this.writeRequest(frame, gen);
    } catch (e) {
      if (!(e instanceof TagError)) throw e;
      if (e.retapped && retaps < MAX_RETAPS && this.live(gen)) return this.deliver(frame, gen, retaps + 1);
      this.trace(`request not delivered (${e.message}); the link will retransmit`);
      return;
    }
    if (!this.live(gen)) return;
    void this.poll(frame, gen).catch((err: unknown) => {
      if (!this.live(gen)) return;
      if (err instanceof TagError && err.retapped && retaps < MAX_RETAPS) {
        void this.deliver(frame, gen, retaps + 1).catch((e2: unknown) => this.trace(`request not delivered (${(e2 as Error).message})`));
        return;
      }
      if (err instanceof TransportError) this.emitError(err);
      else this.trace(`reply not read (${(err as Error).message}); the link will retransmit`);
    });
  }

  private live(gen: number): boolean {
    return gen === this.generation && this.opened;
  }

  private async poll(frame: Uint8Array, gen: number): Promise<void> {
    const o = this.opts;
    await o.onRequestWritten?.(frame);
    const limitMs = o.exchangeMs ?? 40_000;
    let waited = 0;
    let wait = o.firstPollMs ?? 5;
    const later = async (): Promise<void> => {
      await this.reader.sleep(wait);
      waited += wait;
      wait = Math.min(wait * 2, o.maxPollMs ?? 100);
    };
    for (;;) {
      if (!this.live(gen)) return;
      if (waited > limitMs) throw new Error(`no reply within ${limitMs} ms`);
      let head: Uint8Array;
      try {
        head = await this.cmd(() => this.reader.read(STATUS_PAGE));
      } catch (e) {
        if (e instanceof TagError && (e.kind === "no-answer" || e.kind === "nack")) {
          // The carrier is computing (reader frames wait behind the link, §10.3): ask again later.
          this.stats.retries++;
          await later();
          continue;
        }
        throw e;
      }
      if (head[0] !== 0x4b || head[1] !== 0x43 || head[2] !== 0x01) {
        throw new TransportError(`${this.description}: page 4 reads ${hex(head.subarray(0, 4))}, not a KeyCarrier mailbox ("KC" 01 …) — is this a KeyCarrier tag?`);
      }
      const state = head[3]!;
      if (state === MB_REPLY) {
        const reply = await this.readReply(head, gen);
        if (reply && this.live(gen)) this.emitData(reply);
        return;
      }
      if (state === MB_WORKING || state === MB_RECEIVING) {
        this.stats.polls++;
        await later();
        continue;
      }
      // IDLE: the request was lost (the field dropped, the carrier restarted); DROPPED: the bytes
      // were not a CRC-valid request. Either way the link's retransmission writes it again.
      this.trace(`mailbox ${STATE_NAMES[state] ?? state}: request not taken; the link will retransmit`);
      return;
    }
  }

  // WRITE pages 5.. (the last one zero-padded). A page without an answer is sent again (it may
  // have arrived: writing it twice is harmless); a NACK on page 5 means the mailbox is busy with a
  // reply the user has not decided yet, and restarts from page 5 are bounded by the link's timeout.
  private async writeRequest(frame: Uint8Array, gen: number): Promise<void> {
    const pages = Math.ceil(frame.length / 4);
    const padded = new Uint8Array(pages * 4);
    padded.set(frame);
    let restarts = 0;
    for (let i = 0; i < pages; i++) {
      if (!this.live(gen)) return;
      try {
        await this.cmd(() => this.reader.write(FRAME_PAGE + i, padded.subarray(i * 4, i * 4 + 4)));
      } catch (e) {
        if (e instanceof TagError && e.kind === "nack" && restarts < 2) {
          restarts++;
          this.stats.retries++;
          this.trace(`page ${FRAME_PAGE + i} refused (NACK): mailbox busy or reset; starting again from page ${FRAME_PAGE}`);
          await this.reader.sleep(this.opts.maxPollMs ?? 100);
          i = -1;
          continue;
        }
        throw e;
      }
    }
  }

  private async readReply(head: Uint8Array, gen: number): Promise<Uint8Array | undefined> {
    if (head[4] !== 0xf5 || head[5] !== 0x4b) throw new TransportError(`${this.description}: the mailbox says REPLY but page 5 holds no frame start (${hex(head.subarray(4, 8))})`);
    const total = 12 + ((head[10]! << 8) | head[11]!);
    if (total > 524) throw new TransportError(`${this.description}: reply frame length ${total} is over 524 bytes`);
    const out = new Uint8Array(total);
    out.set(head.subarray(4, 4 + Math.min(12, total)));
    for (let at = 12; at < total; at += 16) {
      if (!this.live(gen)) return undefined;
      const chunk = await this.cmd(() => this.reader.read(FRAME_PAGE + at / 4));
      out.set(chunk.subarray(0, Math.min(16, total - at)), at);
    }
    return out;
  }

  // Tag commands never overlap: an exchange superseded by the link's retransmission may still have
  // one in flight, and a reader (PC/SC) takes one command at a time.
  private busy: Promise<unknown> = Promise.resolve();
  private cmd<T>(op: () => Promise<T>): Promise<T> {
    const run = this.busy.then(() => this.cmdNow(op));
    this.busy = run.catch(() => undefined);
    return run;
  }

  // One tag command with the per-frame retries: a missing answer is retried a few times; a tag
  // that left the field is waited for (retapMs), then the error goes up (the request is lost).
  private async cmdNow<T>(op: () => Promise<T>): Promise<T> {
    const tries = this.opts.frameTries ?? 4;
    for (let attempt = 1; ; attempt++) {
      this.stats.frames++;
      try {
        return await op();
      } catch (e) {
        if (!(e instanceof TagError)) throw e;
        if (e.kind === "no-answer" && attempt < tries) {
          this.stats.retries++;
          this.trace(`no answer (${e.message}); again (${attempt + 1}/${tries})`);
          await this.reader.sleep(2 * attempt);
          continue;
        }
        if (e.kind === "gone") {
          this.stats.fieldLosses++;
          this.trace(`tag left the field: ${e.message}; waiting for the next tap`);
          await this.reader.waitForTag(this.opts.retapMs ?? 5_000);
          e.retapped = true;
        }
        throw e;
      }
    }
  }
}

function hex(b: Uint8Array): string {
  return Buffer.from(b).toString("hex");
}
