import { connect, type Socket } from "node:net";
import type { VirtualNfc } from "./virtual-tag-reader.ts";

/**
 * The virtual board as a card in a PC/SC reader: a virtual ICC for vsmartcard's vpcd driver (the
 * reader inside pcscd). vpcd's protocol over TCP: every message is a 2-byte big-endian length and a
 * payload; a 1-byte payload is a control (0 power off, 1 power on, 2 reset, 4 get ATR), anything
 * else a command APDU to answer. Here the emulator plays the contactless reader's part between pcscd
 * and the tag: the storage-card pseudo-APDUs (READ BINARY FF B0, UPDATE BINARY FF D6) become Type 2
 * Tag READ/WRITE frames for the board's NFC controller, as an ACR122U would turn them into radio frames.
 *
 * tap() connects to vpcd (the card appears in the reader, the field comes on), remove() disconnects
 * (the card leaves, the field goes), dropFieldAfter(n) makes the field drop right after the n-th
 * next frame reached the tag (a tap that ends mid-transfer).
 */

// ATR of a contactless storage card per PC/SC part 3 (as an ACR122U reports a MIFARE Ultralight /
// NTAG, i.e. a Type 2 Tag): 3B 8F 80 01 80 4F 0C A0 00 00 03 06 03 00 03 00 00 00 00 68.
export const T2T_ATR = Buffer.from("3b8f8001804f0ca0000003060300030000000068", "hex");

const SW_OK = Buffer.from([0x90, 0x00]);
const SW_FAILED = Buffer.from([0x63, 0x00]);
const SW_WRONG_LENGTH = Buffer.from([0x67, 0x00]);
const SW_NOT_SUPPORTED = Buffer.from([0x6a, 0x81]);

export interface ViccStats { apdus: number; frames: number; failed: number }

export class VirtualIcc {
  readonly stats: ViccStats = { apdus: 0, frames: 0, failed: 0 };
  private socket: Socket | undefined;
  private buf = Buffer.alloc(0);
  private dropAfter = -1;
  private queue: Promise<void> = Promise.resolve();

  constructor(private readonly nfc: VirtualNfc, private readonly vpcd: { host: string; port: number }, private readonly log: (line: string) => void = () => {}, private readonly verbose = false) {}

  get inReader(): boolean {
    return this.socket !== undefined;
  }

  /** The card comes into the reader: connects to vpcd. */
  tap(): Promise<void> {
    if (this.socket) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      const s = connect(this.vpcd.port, this.vpcd.host);
      s.setNoDelay(true);
      s.once("connect", () => {
        this.socket = s;
        this.buf = Buffer.alloc(0);
        resolve();
      });
      s.once("error", (e) => {
        if (this.socket !== s) reject(new Error(`cannot reach vpcd at ${this.vpcd.host}:${this.vpcd.port} (${e.message}): is pcscd running with the vpcd reader on that port?`));
        else this.log(`vpcd connection: ${e.message}`);
      });
      s.on("data", (d) => this.receive(s, d));
      s.on("close", () => {
        if (this.socket === s) {
          this.socket = undefined;
          this.nfc.fieldOff();
        }
      });
    });
  }

  /** The card leaves the reader (and its field). */
  remove(): void {
    const s = this.socket;
    this.socket = undefined;
    this.nfc.fieldOff();
    s?.destroy();
  }

  /** The field drops right after the n-th next reader frame (from 0) reached the tag; with
   * retapMs the card comes back that long after. */
  dropFieldAfter(n: number, retapMs?: number): void {
    this.dropAfter = this.stats.frames + n;
    this.retapMs = retapMs;
  }

  private retapMs: number | undefined;

  private receive(s: Socket, d: Buffer): void {
    this.buf = Buffer.concat([this.buf, d]);
    while (this.buf.length >= 2) {
      const len = this.buf.readUInt16BE(0);
      if (this.buf.length < 2 + len) return;
      const msg = this.buf.subarray(2, 2 + len);
      this.buf = this.buf.subarray(2 + len);
      // one at a time, in order: a frame's answer may wait for the board
      this.queue = this.queue.then(() => this.handle(s, Buffer.from(msg))).catch((e) => this.log(`vicc: ${(e as Error).message}`));
    }
  }

  private send(s: Socket, payload: Buffer): void {
    if (s.destroyed) return;
    const head = Buffer.alloc(2);
    head.writeUInt16BE(payload.length);
    s.write(Buffer.concat([head, payload]));
  }

  private async handle(s: Socket, msg: Buffer): Promise<void> {
    if (msg.length === 1) {
      if (this.verbose) this.log(`control ${msg[0]}`);
      switch (msg[0]) {
        case 0: this.nfc.fieldOff(); return;              // power off
        case 1: this.nfc.fieldOn(); return;               // power on
        case 2: this.nfc.fieldOff(); this.nfc.fieldOn(); return; // reset
        case 4: this.send(s, T2T_ATR); return;            // get ATR
        default: return;
      }
    }
    this.stats.apdus++;
    const res = await this.apdu(msg);
    if (this.verbose) this.log(`apdu ${msg.toString("hex")} → ${res.toString("hex")}`);
    this.send(s, res);
  }

  private async apdu(a: Buffer): Promise<Buffer> {
    if (a[0] !== 0xff) return SW_NOT_SUPPORTED;
    // PC/SC part 3 GET DATA (UID): FF CA 00 00 00
    if (a[1] === 0xca) return SW_NOT_SUPPORTED;
    if (a[1] === 0xb0 && a.length === 5) return this.frame(Uint8Array.of(0x30, a[3]!), 16);
    if (a[1] === 0xd6 && a.length === 9 && a[4] === 4) return this.frame(Uint8Array.of(0xa2, a[3]!, ...a.subarray(5, 9)), 0);
    if (a[1] === 0xb0 || a[1] === 0xd6) return SW_WRONG_LENGTH;
    return SW_NOT_SUPPORTED;
  }

  // One T2T frame to the tag: READ answers its 16 bytes, WRITE its ACK; anything else (NACK, no
  // answer in time, field gone) is 63 00 as on an ACR122U.
  private async frame(f: Uint8Array, want: number): Promise<Buffer> {
    const n = this.stats.frames++;
    const lose = n === this.dropAfter;
    try {
      const r = await this.nfc.transceive(f, lose ? { loseFieldAfterRx: true } : {});
      if (want === 0) return r.ack4 === 0x0a ? SW_OK : this.failed();
      return r.ack4 === undefined && r.length === want ? Buffer.concat([Buffer.from(r), SW_OK]) : this.failed();
    } catch (e) {
      if (lose) {
        // the field went with the card: vpcd sees the card leave
        this.remove();
        const back = this.retapMs;
        if (back !== undefined) setTimeout(() => { this.tap().catch((err: Error) => this.log(err.message)); }, back);
      }
      this.log(`tag: ${(e as Error).message}`);
      return this.failed();
    }
  }

  private failed(): Buffer {
    this.stats.failed++;
    return SW_FAILED;
  }
}
