// Test-side rig for the carrier firmware: boots the RELEASE bundle on the virtual board, talks
// protocol v1 to it over the board's USB with the host library, and plays the platform end of the
// secure channel with host/src/channel (the same code the platform uses).
import { compile } from "../../build/pipeline.ts";
import { bundleSpec, type BundleFile } from "../../build/bundles.ts";
import { VirtualBoard } from "../../../board/src/virtual-board.ts";
import { CostMeter, type ScopeRecord } from "../../../board/src/cost/meter.ts";
import { loadProfile, type BoardProfile } from "../../../board/src/profiles.ts";
import { KeyCarrier } from "../../../host/src/client.ts";
import type { Transport } from "../../../host/src/transport/types.ts";
import { decodeCbor, encodeCbor, type CborMap, type CborValue } from "../../../host/src/codec.ts";
import { PlatformChannel } from "../../../host/src/channel/session.ts";
import { diversifyCarrierKeys } from "../../../host/src/channel/keys.ts";
import { encryptPinBlock, PinPurpose, verdictMac, Verdict } from "../../../host/src/platform/online-pin.ts";
import { createHash } from "node:crypto";
import { NfcMailboxTransport } from "../../../host/src/transport/nfc-mailbox.ts";
import { VirtualTagReader, type VirtualTagReaderOptions } from "../../../host/src/transport/virtual-tag-reader.ts";
import { PcscTagReader } from "../../../host/src/transport/pcsc.ts";
import { VirtualIcc } from "../../../host/src/transport/vicc.ts";

export const CMD = { INFO: 0x01, WIPE: 0x20, OPEN: 0x30, CONFIRM: 0x31, MESSAGE: 0x32, CLOSE: 0x33, PAY: 0x40, LOG_READ: 0x42, PERSONALISE: 0x60, PROVISION: 0x61 } as const;
export const ST = { OK: 0, NOT_ALLOWED: 0x04, BAD_ARGUMENT: 0x05, BUSY: 0x07, PIN_WRONG: 0x10, PIN_BLOCKED: 0x11, PIN_BAD_FORMAT: 0x12, PIN_VERDICT_BAD: 0x13, CHANNEL_NOT_OPEN: 0x30, BAD_MAC: 0x32, BAD_COUNTER: 0x33, PAY_DECLINED: 0x41, PAY_OVER_LIMIT: 0x43 } as const;

/**
 * The platform's PIN verdict as PAY carries it (fields 5-7), or a shorthand the rig MACs itself with
 * the keys of `rig.payKeys` (the rig plays the platform): "ok" (issuer tries 3), "wrong" (2 left),
 * "blocked" (0), "forged" (an OK verdict with a MAC not under the carrier's key).
 */
export type VerdictArg = "ok" | "wrong" | "blocked" | "forged" | { verdict: number; triesLeft: number; mac: Uint8Array };

// PROTOCOL.md §7.4: SHA-256("KeyCarrier v1 dev transport batch key").
export const DEV_TRANSPORT_BATCH_KEY = createHash("sha256").update("KeyCarrier v1 dev transport batch key").digest();
export const TRANSPORT_PLATFORM_ID = new TextEncoder().encode("KC-TRANSPORT");

const cachedBundles: Partial<Record<BundleFile, Promise<string>>> = {};
/**
 * The release bundle as `npm run build` makes it (firmware/build/bundles.ts): keycarrier.js
 * (USB-only, the NFC link compiled out) by default, keycarrier.nfc.js with nfc (what the Puck.js
 * takes), or the bundle named (keycarrier.full.js: + offline, peer and display, the nrf52840's).
 */
export function releaseBundle(which: boolean | BundleFile = false): Promise<string> {
  const file: BundleFile = which === true ? "keycarrier.nfc.js" : which === false ? "keycarrier.js" : which;
  cachedBundles[file] ??= compile({ entry: "firmware/src/main.ts", minify: true, features: bundleSpec(file).features }).then((r) => r.code);
  return cachedBundles[file]!;
}

export interface Identity { carrierId: Uint8Array; platformId: Uint8Array; channelKey: Uint8Array }

export function transportIdentity(serial: string): Identity {
  let id = serial.slice(0, 32);
  while (id.length < 4) id += "_";
  const carrierId = new TextEncoder().encode(id);
  return { carrierId, platformId: TRANSPORT_PLATFORM_ID, channelKey: diversifyCarrierKeys(DEV_TRANSPORT_BATCH_KEY, carrierId).channelKey };
}

export interface Reply { status: number; body: CborMap; bytes: number }

// `during` (set by CarrierRig.inner for one request): what happens on the board after the request
// arrived and before the host waits for the reply, e.g. the user's press while PAY waits (§7.5).
interface Pending { during?: (() => void) | undefined }

function boardTransport(board: VirtualBoard, wire: { bytes: number; chunks: Uint8Array[] }, pending: Pending, meter?: CostMeter, records?: ScopeRecord[]): Transport {
  const listeners: ((c: Uint8Array) => void)[] = [];
  let open = false;
  board.usb.onData((bytes) => {
    wire.bytes += bytes.length;
    wire.chunks.push(bytes.slice());
    for (const l of listeners) l(bytes);
  });
  return {
    description: `virtual ${board.profile.id} USB`,
    get isOpen() { return open; },
    async open() { open = true; },
    async close() { open = false; },
    async write(bytes) {
      wire.bytes += bytes.length;
      wire.chunks.push(bytes.slice());
      if (meter && records) {
        // Only the request's own handling: 1 virtual ms runs the data event, not the UI's blink timer.
        records.push(meter.measure("usb request", () => { board.usb.write(bytes); board.advance(1); }).record);
      }
      else board.usb.write(bytes);
      const during = pending.during;
      pending.during = undefined;
      if (during) {
        if (meter && records) records.push(meter.measure("decision", during).record);
        else during();
      }
      board.runUntilIdle(5_000);
    },
    onData(l) { listeners.push(l); },
    onClose() {},
    onError() {},
  };
}

// The same rig over NFC (PROTOCOL.md §10): the host's mailbox transport in front of the board's NFC
// controller through a virtual reader; `during` runs once the request's pages are all written.
function nfcBoardTransport(wire: { bytes: number; chunks: Uint8Array[] }, pending: Pending, reader: VirtualTagReader | PcscTagReader): NfcMailboxTransport {
  const t = new NfcMailboxTransport(reader, {
    onRequestWritten: () => {
      const during = pending.during;
      pending.during = undefined;
      if (during) during();
    },
  });
  const write = t.write.bind(t);
  t.write = async (bytes) => {
    wire.bytes += bytes.length;
    wire.chunks.push(bytes.slice());
    await write(bytes);
  };
  t.onData((bytes) => {
    wire.bytes += bytes.length;
    wire.chunks.push(bytes.slice());
  });
  return t;
}

/** One reader frame's answer time: the cost record of its NFCrx scope up to the firmware's nfcSend. */
export interface NfcFrameRecord { frame: Uint8Array; record: ScopeRecord }

export class CarrierRig {
  readonly wire = { bytes: 0, chunks: [] as Uint8Array[] };
  kc!: KeyCarrier;
  serial = "";
  bootcde = false;
  // with a meter: one cost record per host write (one request frame each)
  readonly costRecords: ScopeRecord[] = [];
  /** The personalised carrier id and K_ac: the rig MACs PIN verdicts with them (it plays the platform). */
  payKeys: { carrierId: Uint8Array; cryptogramKey: Uint8Array } | undefined;
  /** The carrier nonce of each session this rig opened (a verdict is bound to it). */
  readonly sessionNonces = new Map<PlatformChannel, Uint8Array>();
  private readonly pending: Pending = {};
  // NFC mode: the reader, its transport, and (with a meter) each frame's record up to nfcSend
  reader?: VirtualTagReader;
  nfcTransport?: NfcMailboxTransport;
  readonly nfcFrames: NfcFrameRecord[] = [];
  private nfcOpts?: Omit<VirtualTagReaderOptions, "advance">;
  // PC/SC mode: the board is a card in a vpcd reader of a (private) pcscd, the host a PC/SC client
  vicc?: VirtualIcc;
  private pcscOpts?: { vpcdPort: number; readerName: string };
  private constructor(readonly board: VirtualBoard, readonly meter?: CostMeter) {}

  // Tests run the release bundle from RAM (evaluated right after power-on, as an upload without save
  // would), unless bootcde is asked for (console-lockdown and small-board tests): the Storage room a
  // bundle leaves the carrier's files is measured on its own (STORAGE.md §7.1).
  // bootcdeStandIn (capacity measurements, STORAGE.md §7): a `.bootcde` of that many bytes that only
  // holds a comment takes the bundle's place in Storage, and the release bundle runs from RAM — so a
  // bundle of any size can be laid out in Storage, smaller than today's too.
  // A fresh board is provisioned (PROVISION writes kc.tk = the dev batch key diversified for its
  // serial, as `keycarrier provision` with a dev platform does) unless provision is false; over the
  // link the rig uses (USB, NFC or PC/SC).
  // prelude (attack tests: a trojaned firmware): code run from RAM right before the release bundle.
  // nfc: talk over the board's NFC controller instead of USB (the profile must have NFC).
  // pcsc: through pcscd and vpcd instead (hil-tests/pcsc-env.ts starts a private pcscd).
  // Both boot the NFC bundle (keycarrier.nfc.js); otherwise the rig boots keycarrier.js, whose NFC
  // link is compiled out, unless nfcBundle is set (true: keycarrier.nfc.js; or a bundle by name, e.g.
  // the board profile's own `firmware`).
  static async boot(opts: { board?: string | BoardProfile; flashImage?: Uint8Array; meter?: boolean; bootcde?: boolean; bootcdeStandIn?: number; provision?: boolean; prelude?: string; nfc?: boolean | Omit<VirtualTagReaderOptions, "advance">; pcsc?: { vpcdPort: number; readerName: string }; nfcBundle?: boolean | BundleFile } = {}): Promise<CarrierRig> {
    const meter = opts.meter ? new CostMeter() : undefined;
    const board = new VirtualBoard({ board: opts.board ?? "nrf52840", seed: 9, flashImage: opts.flashImage, cost: meter });
    const nfcBundle = opts.nfcBundle ?? (opts.nfc !== undefined && opts.nfc !== false || opts.pcsc !== undefined);
    const bundle = await releaseBundle(nfcBundle);
    if (opts.flashImage === undefined) {
      if (opts.bootcde) board.storage.write(".bootcde", bundle);
      else if (opts.bootcdeStandIn !== undefined) board.storage.write(".bootcde", "//" + "-".repeat(opts.bootcdeStandIn - 2));
    }
    board.powerOn();
    if (meter) meter.attachFlash(board.flash);
    if (!opts.bootcde) {
      if (opts.prelude !== undefined) {
        const p = board.evaluate(opts.prelude);
        if (!p.ok) throw p.error;
      }
      const r = board.evaluate(meter ? meter.prepare(bundle, "boot") : bundle);
      if (!r.ok) throw r.error;
    }
    board.runUntilIdle(5_000);
    const rig = new CarrierRig(board, meter);
    rig.bootcde = opts.bootcde === true;
    if (opts.nfc) rig.nfcOpts = opts.nfc === true ? {} : opts.nfc;
    if (opts.pcsc) rig.pcscOpts = opts.pcsc;
    await rig.connect();
    if (opts.flashImage === undefined && opts.provision !== false) await rig.provision();
    return rig;
  }

  /** PROVISION with the dev transport key (factory step), then forgets its cost, wire and NFC records. */
  async provision(): Promise<void> {
    const p = await this.outer(CMD.PROVISION, new Map([[1, transportIdentity(this.serial).channelKey]]));
    if (p.status !== 0) throw new Error(`PROVISION status ${p.status}: ${String(p.body.get(1))}`);
    this.costRecords.length = 0;
    this.wire.bytes = 0;
    this.wire.chunks.length = 0;
    this.nfcFrames.length = 0;
  }

  async connect(): Promise<void> {
    let transport: Transport;
    if (this.pcscOpts) {
      this.vicc?.remove();
      this.vicc = new VirtualIcc(this.board.nfc, { host: "127.0.0.1", port: this.pcscOpts.vpcdPort }, (l) => console.log(`[vicc] ${l}`), process.env.KC_VICC_TRACE === "1");
      await this.vicc.tap();
      this.nfcTransport = nfcBoardTransport(this.wire, this.pending, new PcscTagReader(this.pcscOpts.readerName, { waitMs: 5_000 }));
      transport = this.nfcTransport;
    } else if (this.nfcOpts) {
      const board = this.board;
      this.reader = new VirtualTagReader(board.nfc, { ...this.nfcOpts, advance: (ms) => board.advance(ms) });
      this.nfcTransport = nfcBoardTransport(this.wire, this.pending, this.reader);
      transport = this.nfcTransport;
      const meter = this.meter;
      if (meter) {
        // The board reads the open NFCrx scope exactly when the firmware calls nfcSend (the reply's
        // start, board/docs/cost-model.md): keep that record per frame.
        const peek = meter.peek.bind(meter);
        const frames = this.nfcFrames;
        const transceive = board.nfc.transceive;
        let current: Uint8Array = new Uint8Array(0);
        board.nfc.transceive = (f, o) => { current = f; return transceive(f, o); };
        meter.peek = (label?: string) => {
          const r = peek(label);
          if (label === "NFCrx" && r) frames.push({ frame: current, record: r });
          return r;
        };
      }
    } else {
      transport = boardTransport(this.board, this.wire, this.pending, this.meter, this.costRecords);
    }
    // PC/SC frames take real time (pcscd, vpcd and TCP in between, ≈ 50 ms each): the transport's own
    // longer wait per request
    this.kc = await KeyCarrier.open(transport, this.pcscOpts ? { initialSeq: 7, retries: 2 } : { initialSeq: 7, timeoutMs: 300, retries: 1 });
    this.serial = this.kc.handshakeInfo!.serial;
  }

  /** Power cycle from the flash as it is now (RAM lost), then reconnect. */
  async reboot(): Promise<void> {
    const image = this.board.flash.snapshot();
    this.board.dispose();
    const next = await CarrierRig.boot({ board: this.board.profile, flashImage: image, bootcde: this.bootcde, provision: false });
    (this as { board: VirtualBoard }).board = next.board;
    // this rig's own link (its `during` and wire counters) on the new board
    await this.connect();
  }

  /** `during` runs on the board right after the request arrived (a press while PAY waits). */
  async outer(command: number, body: CborMap = new Map(), during?: () => void): Promise<Reply> {
    this.pending.during = during;
    const r = await this.kc.link.request(command, encodeCbor(body));
    return { status: r.status, body: decodeCbor(r.body) as CborMap, bytes: r.body.length };
  }

  async info(): Promise<CborMap> {
    const r = await this.outer(CMD.INFO);
    if (r.status !== 0) throw new Error(`INFO failed with status ${r.status}`);
    return r.body;
  }

  async openChannel(id: Identity): Promise<PlatformChannel> {
    const ch = new PlatformChannel(id);
    const open = await this.outer(CMD.OPEN, new Map([[1, ch.begin()]]));
    if (open.status !== 0) throw new Error(`CHANNEL_OPEN status ${open.status}: ${String(open.body.get(1))}`);
    const proof = ch.accept({ carrierId: open.body.get(1) as Uint8Array, carrierNonce: open.body.get(2) as Uint8Array, carrierProof: open.body.get(3) as Uint8Array });
    const confirm = await this.outer(CMD.CONFIRM, new Map([[1, proof]]));
    if (confirm.status !== 0) throw new Error(`CHANNEL_CONFIRM status ${confirm.status}`);
    this.sessionNonces.set(ch, open.body.get(2) as Uint8Array);
    return ch;
  }

  /** Seals an inner request; returns the raw sealed bytes (for replay tests) and a sender. */
  sealInner(ch: PlatformChannel, command: number, body: CborMap): Uint8Array {
    const inner = encodeCbor(body);
    const plain = new Uint8Array(1 + inner.length);
    plain[0] = command;
    plain.set(inner, 1);
    return ch.seal(plain);
  }

  async sendSealed(ch: PlatformChannel | null, sealed: Uint8Array, during?: () => void): Promise<Reply & { outer: number }> {
    const r = await this.outer(CMD.MESSAGE, new Map([[1, sealed]]), during);
    if (r.status !== 0 || ch === null) return { outer: r.status, status: -1, body: r.body, bytes: r.bytes };
    const plain = ch.open(r.body.get(1) as Uint8Array);
    return { outer: 0, status: plain[0]!, body: decodeCbor(plain.subarray(1)) as CborMap, bytes: r.bytes };
  }

  async inner(ch: PlatformChannel, command: number, body: CborMap = new Map(), during?: () => void): Promise<Reply & { outer: number }> {
    return this.sendSealed(ch, this.sealInner(ch, command, body), during);
  }

  /** The verdict fields 5-7 for `order` in session `ch`, MAC'd as the platform does (online-pin.ts). */
  verdictFields(ch: PlatformChannel, order: CborMap, v: VerdictArg): { verdict: number; triesLeft: number; mac: Uint8Array } {
    if (typeof v !== "string") return v;
    const keys = this.payKeys;
    if (!keys) throw new Error("set rig.payKeys (carrier id and K_ac) after personalising: the rig MACs the verdicts");
    const nonce = this.sessionNonces.get(ch);
    if (!nonce) throw new Error("a verdict needs a session the rig opened (its carrier nonce)");
    const verdict = v === "wrong" ? Verdict.WRONG : v === "blocked" ? Verdict.BLOCKED : Verdict.OK;
    const triesLeft = v === "wrong" ? 2 : v === "blocked" ? 0 : 3;
    const key = v === "forged" ? new Uint8Array(32).fill(7) : keys.cryptogramKey;
    const mac = verdictMac(key, {
      carrierId: keys.carrierId, sessionNonce: nonce, requestCounter: ch.nextCounter, orderId: order.get(1) as Uint8Array, merchantId: order.get(2) as Uint8Array,
      amount: order.get(3) as number, currency: order.get(4) as string, verdict, triesLeft,
    });
    return { verdict, triesLeft, mac };
  }

  /** PAY (§7.5) with the platform's PIN verdict and the user's answer on the carrier: a short press by default. */
  async pay(ch: PlatformChannel, order: CborMap, v: VerdictArg, during: (() => void) | "press" | "long" | "silence" = "press"): Promise<Reply & { outer: number }> {
    const body = new Map(order);
    const f = this.verdictFields(ch, order, v);
    body.set(5, f.verdict);
    body.set(6, f.triesLeft);
    body.set(7, f.mac);
    const act = during === "press" ? () => this.press() : during === "long" ? () => { this.board.clickButton(1, 1_500); this.board.runUntilIdle(2_000); } : during === "silence" ? () => this.board.advance(31_000) : during;
    return this.inner(ch, CMD.PAY, body, act);
  }

  /** Cost-model estimate of the last metered record (back = 0; after a `during`, that is the decision and back = 1 the request) on `profile` (default puckjs), in ms, with its breakdown. */
  lastCost(profile = "puckjs", back = 0) {
    if (!this.meter) throw new Error("boot the rig with { meter: true } to measure device time");
    const r = this.costRecords[this.costRecords.length - 1 - back];
    if (!r) throw new Error("no request measured yet");
    return this.meter.estimate(loadProfile(profile), r.counts);
  }

  press(holdMs = 120): void {
    this.board.clickButton(1, holdMs);
    this.board.runUntilIdle(1_000);
  }
}

/** PAY's order fields 1-4 (PROTOCOL.md §7.5) from the platform's `order.cryptogramFields` (hex ids). */
export function payOrderBody(f: { orderId: string; merchantId: string; amount: number; currency: string }): CborMap {
  return new Map<number, Uint8Array | number | string>([[1, Buffer.from(f.orderId, "hex")], [2, Buffer.from(f.merchantId, "hex")], [3, f.amount], [4, f.currency]]);
}

export function hex(b: Uint8Array): string {
  return Buffer.from(b).toString("hex");
}

export function bytesOf(v: CborValue | undefined): Uint8Array {
  if (!(v instanceof Uint8Array)) throw new Error(`expected a byte string, got ${String(v)}`);
  return v;
}

/** Verifies a LOG_READ page: end = fold(base, entries) with SHA-256("KCLG" ‖ h ‖ entry). */
export function verifyLogPage(body: CborMap): { ok: boolean; entries: Uint8Array[] } {
  const entries = body.get(1) as Uint8Array[];
  let h = Buffer.from(bytesOf(body.get(2)));
  for (const e of entries) h = createHash("sha256").update("KCLG").update(h).update(e).digest();
  return { ok: h.equals(Buffer.from(bytesOf(body.get(3)))), entries };
}

export function parseEntry(e: Uint8Array): { atc: number; result: number; orderId: Uint8Array; merchantId: Uint8Array; amount: number; currency: string } {
  const dv = new DataView(e.buffer, e.byteOffset, e.byteLength);
  const atc = dv.getUint32(0);
  const result = e[4]!;
  const ol = e[5]!;
  const orderId = e.slice(6, 6 + ol);
  const ml = e[6 + ol]!;
  const merchantId = e.slice(7 + ol, 7 + ol + ml);
  const at = 7 + ol + ml;
  const amount = dv.getUint32(at) * 2 ** 32 + dv.getUint32(at + 4);
  const currency = new TextDecoder().decode(e.slice(at + 8, at + 11));
  return { atc, result, orderId, merchantId, amount, currency };
}

/** The online-PIN steps of the platform the tests run (host/src/platform, in process). */
export interface PinPlatformLike {
  pinChallenge(req: { carrierId?: unknown; orderId?: unknown; purpose?: unknown }): { challenge: string; publicKey: string };
  enrolPin(req: { carrierId?: unknown; challenge?: unknown; pinBlock?: unknown }): { triesLeft: number };
  verifyOrderPin(req: { orderId?: unknown; carrierId?: unknown; challenge?: unknown; pinBlock?: unknown; sessionNonce?: unknown; requestCounter?: unknown }): { verdict: number; triesLeft: number; mac: string };
}

/** Personalisation's last step, as the host does it: the PIN encrypted to the platform (never to the carrier). */
export function enrolPin(platform: PinPlatformLike, carrierId: string, pin: string): number {
  const c = platform.pinChallenge({ carrierId, purpose: "enrol" });
  const block = encryptPinBlock(pin, Buffer.from(c.publicKey, "hex"), { purpose: PinPurpose.ENROL, carrierId: Buffer.from(carrierId, "hex"), orderId: new Uint8Array(0), challenge: Buffer.from(c.challenge, "hex") });
  return platform.enrolPin({ carrierId, challenge: c.challenge, pinBlock: hex(block) }).triesLeft;
}

/**
 * The platform's verdict on `pin` for the order in `orderBody`, bound to session `ch` of `rig` and
 * the counter its next request uses: the PIN goes host → platform, encrypted; only the verdict goes
 * to the carrier (PAY fields 5-7).
 */
export function platformVerdict(platform: PinPlatformLike, rig: CarrierRig, ch: PlatformChannel, carrierId: string, orderBody: CborMap, pin: string): { verdict: number; triesLeft: number; mac: Uint8Array } {
  const orderId = hex(orderBody.get(1) as Uint8Array);
  const c = platform.pinChallenge({ carrierId, orderId, purpose: "pay" });
  const block = encryptPinBlock(pin, Buffer.from(c.publicKey, "hex"), { purpose: PinPurpose.PAY, carrierId: Buffer.from(carrierId, "hex"), orderId: orderBody.get(1) as Uint8Array, challenge: Buffer.from(c.challenge, "hex") });
  const nonce = rig.sessionNonces.get(ch);
  if (!nonce) throw new Error("a verdict needs a session the rig opened (its carrier nonce)");
  const v = platform.verifyOrderPin({ orderId, carrierId, challenge: c.challenge, pinBlock: hex(block), sessionNonce: hex(nonce), requestCounter: ch.nextCounter });
  return { verdict: v.verdict, triesLeft: v.triesLeft, mac: Buffer.from(v.mac, "hex") };
}

/** Cheap verifier parameters for tests (the default scrypt cost is for a real platform). */
export const TEST_PIN_OPTIONS = { kdf: { N: 1024, r: 8, p: 1 } };

/** PIN change, host ↔ platform only (the carrier holds no PIN): returns the platform's verdict on the old PIN. */
export function changePinAtPlatform(platform: PinPlatformLike & { changePin(req: { carrierId?: unknown; challenge?: unknown; oldPinBlock?: unknown; newPinBlock?: unknown }): { verdict: number; triesLeft: number } }, carrierId: string, oldPin: string, newPin: string): { verdict: number; triesLeft: number } {
  const c = platform.pinChallenge({ carrierId, purpose: "change" });
  const ctx = { carrierId: Buffer.from(carrierId, "hex"), orderId: new Uint8Array(0), challenge: Buffer.from(c.challenge, "hex") };
  const oldBlock = encryptPinBlock(oldPin, Buffer.from(c.publicKey, "hex"), { ...ctx, purpose: PinPurpose.CHANGE_OLD });
  const newBlock = encryptPinBlock(newPin, Buffer.from(c.publicKey, "hex"), { ...ctx, purpose: PinPurpose.CHANGE_NEW });
  return platform.changePin({ carrierId, challenge: c.challenge, oldPinBlock: hex(oldBlock), newPinBlock: hex(newBlock) });
}
