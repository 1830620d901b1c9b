import { TagError, type TagReader } from "./nfc-mailbox.ts";

/** What a virtual board offers a reader (board/src/runtime/nfc.ts through VirtualBoard.nfc). */
export interface VirtualNfc {
  fieldOn(): void;
  fieldOff(): void;
  transceive(frame: Uint8Array, opts?: { loseFieldAfterRx?: boolean }): Promise<Uint8Array & { ack4?: number; rearm?: boolean }>;
}

export interface VirtualTagReaderOptions {
  /** Advances the board's virtual clock (the reader's waits are virtual time). */
  advance(ms: number): void;
  /** The board runs on a real clock: the reader's waits are wall time. */
  realTime?: boolean;
  /** Fault injection: return true to drop the field right after frame number n (from 0) reached the tag. */
  loseFieldAfter?: (n: number, frame: Uint8Array) => boolean;
  /** The user taps again after a field loss (default: at once). Return false to leave the tag away. */
  retap?: () => boolean | Promise<boolean>;
}

/**
 * A Type 2 Tag reader in front of the virtual board's NFC controller: READ/WRITE as raw T2T frames,
 * its late-reply verdict (cost model past 4.8 ms) reported as "no-answer", a field that is off as
 * "gone". The field is switched on by open() (the tap).
 */
export class VirtualTagReader implements TagReader {
  readonly description: string;
  /** Reader frames sent (every READ and WRITE, retries included). */
  frames = 0;
  private field = false;

  constructor(private readonly nfc: VirtualNfc, private readonly opts: VirtualTagReaderOptions, name = "virtual reader") {
    this.description = name;
  }

  get fieldIsOn(): boolean {
    return this.field;
  }

  tap(): void {
    this.field = true;
    this.nfc.fieldOn();
  }

  remove(): void {
    this.field = false;
    this.nfc.fieldOff();
  }

  async open(): Promise<void> {
    this.tap();
  }

  async close(): Promise<void> {
    if (this.field) this.remove();
  }

  async read(page: number): Promise<Uint8Array> {
    const r = await this.send(Uint8Array.of(0x30, page));
    if (r.ack4 !== undefined || r.length !== 16) throw new TagError("nack", `READ ${page}: ${r.ack4 !== undefined ? `NACK 0x${r.ack4.toString(16)}` : `${r.length} bytes, not 16`}`);
    return Uint8Array.from(r);
  }

  async write(page: number, data: Uint8Array): Promise<void> {
    const r = await this.send(Uint8Array.of(0xa2, page, ...data));
    if (r.ack4 !== 0x0a) throw new TagError("nack", `WRITE ${page}: ${r.ack4 !== undefined ? `NACK 0x${r.ack4.toString(16)}` : "bytes instead of ACK"}`);
  }

  async waitForTag(): Promise<void> {
    if (this.field) return;
    const back = this.opts.retap ? await this.opts.retap() : true;
    if (!back) throw new TagError("gone", "the tag was not tapped again");
    if (!this.field) this.tap();
  }

  async sleep(ms: number): Promise<void> {
    if (this.opts.realTime) {
      await new Promise((r) => setTimeout(r, ms));
      return;
    }
    this.opts.advance(ms);
    // let other host work (the link's timers, test code) run between virtual waits
    await new Promise((r) => setImmediate(r));
  }

  private async send(frame: Uint8Array): Promise<Uint8Array & { ack4?: number }> {
    if (!this.field) throw new TagError("gone", "no tag in the field");
    const n = this.frames++;
    const lose = this.opts.loseFieldAfter?.(n, frame) === true;
    try {
      return await this.nfc.transceive(frame, lose ? { loseFieldAfterRx: true } : {});
    } catch (e) {
      const err = e as Error;
      if (lose || /field is off|not active/.test(err.message)) {
        this.field = false;
        throw new TagError("gone", err.message, { cause: e });
      }
      throw new TagError("no-answer", err.message, { cause: e });
    }
  }
}
