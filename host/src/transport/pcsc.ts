import { createRequire } from "node:module";
import { connect } from "node:net";
import { TagError, type TagReader } from "./nfc-mailbox.ts";
import { TransportError } from "../errors.ts";

/**
 * A PC/SC reader (pcsc-lite through @pokusew/pcsclite) speaking the storage-card pseudo-APDUs of
 * PC/SC part 3, which readers such as the ACR122U turn into Type 2 Tag commands:
 *   READ BINARY   FF B0 00 pp 10          → T2T READ pp (16 bytes + 90 00)
 *   UPDATE BINARY FF D6 00 pp 04 d0..d3   → T2T WRITE pp (90 00 on ACK)
 * Any other status word means the tag did not answer in time or refused the page (a reader cannot
 * tell those apart: ACR122U says 63 00 for both), so it is reported as "no-answer" and retried.
 */

// The parts of @pokusew/pcsclite this file uses (its own typings are not exported as types).
interface PcscReader {
  name: string;
  connected: boolean;
  state: number;
  SCARD_STATE_PRESENT: number;
  SCARD_SHARE_SHARED: number;
  SCARD_LEAVE_CARD: number;
  on(ev: "status", fn: (s: { state: number; atr?: Buffer }) => void): void;
  on(ev: "end" | "error", fn: (e?: unknown) => void): void;
  connect(opts: { share_mode: number }, cb: (err: unknown, protocol: number) => void): void;
  disconnect(disposition: number, cb: (err: unknown) => void): void;
  transmit(data: Buffer, resLen: number, protocol: number, cb: (err: unknown, data: Buffer) => void): void;
  close(): void;
}
interface PcscLite {
  on(ev: "reader", fn: (r: PcscReader) => void): void;
  on(ev: "error", fn: (e: unknown) => void): void;
  close(): void;
}

let loaded: (() => PcscLite) | undefined;
/** Loads the native binding, or throws a TransportError that says how to get it. */
export function loadPcscLite(): () => PcscLite {
  if (loaded) return loaded;
  try {
    loaded = createRequire(import.meta.url)("@pokusew/pcsclite") as () => PcscLite;
    return loaded;
  } catch (e) {
    throw new TransportError(
      "PC/SC support is not installed: the optional dependency @pokusew/pcsclite did not build. Install pcscd and libpcsclite-dev " +
        "(scripts/install-system-deps.sh), then run `npm install` again", undefined, { cause: e });
  }
}

/**
 * Resolves when pcscd answers on its socket. @pokusew/pcsclite retries SCardEstablishContext for as
 * long as the service is missing, blocking Node's thread, so it is never constructed without this.
 */
export async function assertPcscdRunning(): Promise<void> {
  const path = process.env["PCSCLITE_CSOCK_NAME"] || "/run/pcscd/pcscd.comm";
  await new Promise<void>((resolve, reject) => {
    const s = connect({ path });
    s.once("connect", () => { s.destroy(); resolve(); });
    s.once("error", (e: NodeJS.ErrnoException) => reject(new TransportError(
      `pcscd is not running (${e.code ?? e.message} on ${path}): start it (\`sudo systemctl start pcscd\` or \`pcscd\`), see scripts/install-system-deps.sh`, e.code)));
  });
}

/** Readers pcscd knows, after a short wait for its reader events, and whether a card is on each. */
export async function listPcscReaders(waitMs = 400): Promise<{ name: string; card: boolean }[]> {
  const lib = loadPcscLite();
  await assertPcscdRunning();
  const pcsc = lib();
  const found = new Map<string, boolean>();
  try {
    await new Promise<void>((resolve, reject) => {
      pcsc.on("error", (e) => reject(new TransportError(`PC/SC: ${(e as Error).message ?? String(e)} — is pcscd running?`, undefined, { cause: e })));
      pcsc.on("reader", (r) => {
        found.set(r.name, false);
        r.on("status", (s) => found.set(r.name, (s.state & r.SCARD_STATE_PRESENT) !== 0));
        r.on("error", () => {});
      });
      setTimeout(resolve, waitMs);
    });
  } finally {
    pcsc.close();
  }
  return [...found].map(([name, card]) => ({ name, card }));
}

const sw = (b: Buffer): number => (b.length >= 2 ? (b[b.length - 2]! << 8) | b[b.length - 1]! : -1);

export class PcscTagReader implements TagReader {
  readonly description: string;
  private pcsc: PcscLite | undefined;
  private reader: PcscReader | undefined;
  private protocol = 0;
  private present = false;
  private connected = false;
  private presenceWaiters: (() => void)[] = [];

  /** name: a reader name, or undefined for the first reader pcscd reports. */
  constructor(private readonly name?: string, private readonly opts: { waitMs?: number } = {}) {
    this.description = `pcsc ${name ? `"${name}"` : "(first reader)"}`;
  }

  async open(): Promise<void> {
    const lib = loadPcscLite();
    await assertPcscdRunning();
    const pcsc = lib();
    this.pcsc = pcsc;
    const waitMs = this.opts.waitMs ?? 2_000;
    const seen: string[] = [];
    this.reader = await new Promise<PcscReader>((resolve, reject) => {
      const timer = setTimeout(() => reject(new TransportError(seen.length === 0
        ? "no PC/SC reader found: is pcscd running and the reader plugged in? (`pcsc_scan` lists what pcscd sees)"
        : `no PC/SC reader named "${this.name}"; readers: ${seen.map((n) => `"${n}"`).join(", ")}`)), waitMs);
      pcsc.on("error", (e) => {
        clearTimeout(timer);
        reject(new TransportError(`PC/SC: ${(e as Error).message ?? String(e)} — is pcscd running?`, undefined, { cause: e }));
      });
      pcsc.on("reader", (r) => {
        seen.push(r.name);
        r.on("error", () => {}); // readers this one does not use report their errors to nobody
        if (this.name !== undefined && r.name !== this.name) return;
        clearTimeout(timer);
        resolve(r);
      });
    });
    const r = this.reader;
    r.on("error", () => {});
    r.on("end", () => { this.present = false; this.connected = false; });
    r.on("status", (s) => {
      const present = (s.state & r.SCARD_STATE_PRESENT) !== 0;
      this.present = present;
      if (present) for (const w of this.presenceWaiters.splice(0)) w();
    });
    await this.waitForTag(waitMs).catch(() => {
      throw new TransportError(`${this.description} (${r.name}): no card on the reader — tap the KeyCarrier`);
    });
  }

  async close(): Promise<void> {
    const r = this.reader;
    this.reader = undefined;
    if (r && this.connected) await new Promise<void>((res) => r.disconnect(r.SCARD_LEAVE_CARD, () => res()));
    this.connected = false;
    try { r?.close(); } catch { /* already gone */ }
    try { this.pcsc?.close(); } catch { /* already closed */ }
  }

  async waitForTag(timeoutMs: number): Promise<void> {
    if (!this.present) {
      await new Promise<void>((resolve, reject) => {
        const t = setTimeout(() => reject(new TagError("gone", `no card on ${this.reader?.name ?? "the reader"} within ${timeoutMs} ms`)), timeoutMs);
        this.presenceWaiters.push(() => { clearTimeout(t); resolve(); });
      });
    }
    await this.connect();
  }

  private async connect(): Promise<void> {
    const r = this.reader;
    if (!r) throw new TransportError(`${this.description} is closed`);
    if (this.connected) return;
    // a handle from before the card left is stale: release it before connecting again
    if (r.connected) await new Promise<void>((res) => r.disconnect(r.SCARD_LEAVE_CARD, () => res()));
    this.protocol = await new Promise<number>((resolve, reject) => r.connect({ share_mode: r.SCARD_SHARE_SHARED }, (err, protocol) => {
      if (err) reject(new TagError("gone", `connect to the card on ${r.name}: ${(err as Error).message ?? String(err)}`, { cause: err }));
      // an already connected reader answers without a protocol: keep the one it was connected with
      else resolve(protocol ?? this.protocol);
    }));
    this.connected = true;
  }

  async read(page: number): Promise<Uint8Array> {
    const res = await this.apdu(Buffer.from([0xff, 0xb0, 0x00, page, 0x10]));
    if (sw(res) !== 0x9000 || res.length !== 18) throw new TagError("no-answer", `READ ${page}: status ${sw(res).toString(16)}, ${res.length - 2} bytes`);
    return Uint8Array.from(res.subarray(0, 16));
  }

  async write(page: number, data: Uint8Array): Promise<void> {
    const res = await this.apdu(Buffer.from([0xff, 0xd6, 0x00, page, 0x04, ...data]));
    if (sw(res) !== 0x9000) throw new TagError("no-answer", `WRITE ${page}: status ${sw(res).toString(16)}`);
  }

  async sleep(ms: number): Promise<void> {
    await new Promise((r) => setTimeout(r, ms));
  }

  private async apdu(cmd: Buffer): Promise<Buffer> {
    if (!this.present) throw new TagError("gone", "the card left the field");
    await this.connect();
    const r = this.reader!;
    return new Promise<Buffer>((resolve, reject) => r.transmit(cmd, 64, this.protocol, (err, data) => {
      if (!err) return resolve(data);
      const text = (err as Error).message ?? String(err);
      // pcsc-lite: SCARD_W_REMOVED_CARD / SCARD_E_NO_SMARTCARD / SCARD_W_RESET_CARD: the tap is over
      if (/removed|no smart ?card|reset|not transacted|transaction failed|0x80100069|0x8010000c|0x80100068|0x80100016/i.test(text)) {
        // presence itself follows pcscd's status events (the card may be back already)
        this.connected = false;
        reject(new TagError("gone", `the card left the field (${text})`, { cause: err }));
      } else reject(new TagError("reader", `${r.name}: ${text}`, { cause: err }));
    }));
  }
}
