/**
 * A SOFTWARE CARRIER DOUBLE for the terminal tests — not the carrier. It speaks the offline
 * commands of the interface contract (OFFLINE_LICENSE 0x50, OFFLINE_PAY 0x51 deferred until a
 * simulated button press, OFFLINE_SIG_READ 0x52; statuses OFFLINE_LIMIT, OFFLINE_KEYS_EXHAUSTED,
 * NO_LICENSE, PAY_DECLINED) behind the firmware's real link layer (firmware/src/link.ts) and INFO,
 * signing with the host LMS library. The carrier's applet is lmsfw's firmware; the lead's
 * end-to-end hil-test runs the terminal against it. `attack` makes it misbehave on purpose.
 */
import { crc32 as zlibCrc32 } from "node:zlib";
import { createDeviceLink, type DeviceLink, type HandlerReply } from "../../../firmware/src/link.ts";
import { createDispatcher, STATUS_DEFERRED } from "../../../firmware/src/dispatch.ts";
import { createInfoCommand } from "../../../firmware/src/commands/info.ts";
import { decodeCbor, encodeCbor, type CborMap, type CborValue } from "../../src/codec.ts";
import { HssSigner } from "../../src/lms/index.ts";
import { authorizationMessage, decodeLicense } from "../../src/offline/index.ts";
import { MAX_CHUNK, OfflineCommand, OfflineStatus, PAY_DECLINED } from "../../src/pos/commands.ts";
import type { Transport } from "../../src/transport/types.ts";

const toLatin1 = (b: Uint8Array): string => Buffer.from(b).toString("latin1");
const fromLatin1 = (s: string): Uint8Array => Uint8Array.from(Buffer.from(s, "latin1"));
const OK = 0x00;
const BAD_ARGUMENT = 0x05;
const NOT_ALLOWED_IN_STATE = 0x04;

export interface Attack {
  /** Sign this amount instead of the requested one. */
  signAmount?: number;
  /** Answer with the previous authorization (ATC and signature) instead of a new one. */
  replayPrevious?: boolean;
  /** Sign a fresh request with the previous ATC again. */
  reuseAtc?: boolean;
  /** Sign with the previous one-time key again (a carrier whose leaf index did not advance). */
  reuseLeaf?: boolean;
  /** Ignore the carrier's own offline limits (a compromised carrier; clearing must catch it). */
  ignoreLimits?: boolean;
  /** Rewrites every OK answer (protocol violations: lying lengths, oversized chunks, wrong types). */
  tamper?: (command: number, value: CborMap) => CborMap;
}

export interface SoftCarrierOptions {
  license?: Uint8Array;
  privateState: Uint8Array;
  press?: "accept" | "decline";
  attack?: Attack;
}

export class SoftCarrier {
  readonly link: DeviceLink;
  private out: (bytes: Uint8Array) => void = () => {};
  private signer: HssSigner;
  private readonly info: (command: number, body: string, late: (r: HandlerReply | null) => void) => HandlerReply;
  atc = 0;
  spentOffline = 0;
  private lastSignature: Uint8Array | undefined;
  private previousState: Uint8Array | undefined;
  press: "accept" | "decline";
  attack: Attack;

  constructor(private readonly opts: SoftCarrierOptions) {
    this.signer = new HssSigner(opts.privateState);
    this.press = opts.press ?? "accept";
    this.attack = opts.attack ?? {};
    this.info = createDispatcher([createInfoCommand({
      firmwareVersion: "0.0.0-soft-carrier", board: () => "SOFT", serial: () => "50f7ca11-00000001", state: () => 1, capabilities: () => 0x0e, storageFree: () => 32768,
    })], () => 0);
    this.link = createDeviceLink({
      write: (s) => this.out(fromLatin1(s)),
      crc32: (s) => zlibCrc32(Buffer.from(s, "latin1")) >>> 0,
      setTimer: (fn, ms) => setTimeout(fn, ms),
      clearTimer: (h) => clearTimeout(h as ReturnType<typeof setTimeout>),
      handle: (command, body, late) => this.handle(command, body, late),
    });
  }

  connect(out: (bytes: Uint8Array) => void): void {
    this.out = out;
  }

  input(bytes: Uint8Array): void {
    this.link.onData(toLatin1(bytes));
  }

  private command = 0;

  private reply(status: number, value: CborMap): HandlerReply {
    const v = status === OK && this.attack.tamper ? this.attack.tamper(this.command, value) : value;
    return { status, body: toLatin1(encodeCbor(v)) };
  }

  private refuse(status: number, detail: string): HandlerReply {
    return this.reply(status, new Map([[1, detail]]));
  }

  private handle(command: number, body: string, late: (r: HandlerReply | null) => void): HandlerReply {
    if (command < 0x50 || command > 0x52) return this.info(command, body, late);
    this.command = command;
    let req: CborValue;
    try {
      req = decodeCbor(fromLatin1(body));
    } catch {
      return this.refuse(0x02, "bad CBOR");
    }
    if (!(req instanceof Map)) return this.refuse(BAD_ARGUMENT, "body must be a map");
    const license = this.opts.license;
    if (!license) return this.refuse(OfflineStatus.NO_LICENSE, "no offline license");
    if (command === OfflineCommand.OFFLINE_LICENSE) {
      const offset = req.get(1) ?? 0;
      if (typeof offset !== "number" || offset < 0 || offset >= license.length) return this.refuse(BAD_ARGUMENT, "offset outside the license");
      return this.reply(OK, new Map<number, CborValue>([[1, license.subarray(offset, offset + MAX_CHUNK)], [2, license.length]]));
    }
    if (command === OfflineCommand.OFFLINE_SIG_READ) {
      const offset = req.get(1);
      if (!this.lastSignature) return this.refuse(NOT_ALLOWED_IN_STATE, "no authorization yet");
      if (typeof offset !== "number" || offset < 0 || offset >= this.lastSignature.length) return this.refuse(BAD_ARGUMENT, "offset outside the signature");
      return this.reply(OK, new Map([[1, this.lastSignature.subarray(offset, offset + MAX_CHUNK)]]));
    }
    return this.pay(req, late, decodeLicense(license).body);
  }

  private pay(req: CborMap, late: (r: HandlerReply | null) => void, body: ReturnType<typeof decodeLicense>["body"]): HandlerReply {
    const amount = req.get(1), currency = req.get(2), terminalId = req.get(3), terminalNonce = req.get(4), date = req.get(5);
    if (typeof amount !== "number" || typeof currency !== "string" || !(terminalId instanceof Uint8Array) || !(terminalNonce instanceof Uint8Array) || typeof date !== "number") {
      return this.refuse(BAD_ARGUMENT, "OFFLINE_PAY needs {1: amount, 2: currency, 3: terminal id, 4: nonce, 5: date}");
    }
    if (!this.attack.ignoreLimits) {
      if (amount > body.perTransactionLimit) return this.refuse(OfflineStatus.OFFLINE_LIMIT, "per-transaction offline limit");
      if (this.spentOffline + amount > body.cumulativeLimit) return this.refuse(OfflineStatus.OFFLINE_LIMIT, "cumulative offline limit since the last online contact");
    }
    if (this.signer.remaining === 0) return this.refuse(OfflineStatus.OFFLINE_KEYS_EXHAUSTED, "no one-time keys left");
    const previous = { atc: this.atc, signature: this.lastSignature };
    setTimeout(() => {
      if (this.press === "decline") return late(this.refuse(PAY_DECLINED, "declined on the carrier"));
      if (this.attack.replayPrevious && previous.signature) {
        return late(this.reply(OK, new Map<number, CborValue>([[1, previous.atc], [2, previous.signature.length], [3, previous.signature.subarray(0, MAX_CHUNK)]])));
      }
      if (this.attack.reuseLeaf && this.previousState) this.signer = new HssSigner(this.previousState);
      const atc = this.attack.reuseAtc ? this.atc : this.atc + 1;
      const message = authorizationMessage(body.carrierId, { amount: this.attack.signAmount ?? amount, currency, terminalId, terminalNonce, date }, atc);
      this.previousState = this.signer.serialisedState;
      const signature = this.signer.sign(message, () => {});
      this.atc = atc;
      this.spentOffline += amount;
      this.lastSignature = signature;
      late(this.reply(OK, new Map<number, CborValue>([[1, atc], [2, signature.length], [3, signature.subarray(0, MAX_CHUNK)]])));
    }, 5);
    return { status: STATUS_DEFERRED, body: "" };
  }
}

/** An in-memory Transport to a SoftCarrier (asynchronous delivery, like a real pipe). */
export class SoftCarrierTransport implements Transport {
  readonly description = "memory soft-carrier (test double)";
  isOpen = false;
  private data: ((c: Uint8Array) => void)[] = [];
  constructor(readonly carrier: SoftCarrier) {
    carrier.connect((bytes) => setImmediate(() => this.data.forEach((l) => l(bytes))));
  }
  async open(): Promise<void> {
    this.isOpen = true;
  }
  async close(): Promise<void> {
    this.isOpen = false;
  }
  async write(bytes: Uint8Array): Promise<void> {
    if (!this.isOpen) throw new Error("closed");
    const copy = new Uint8Array(bytes);
    setImmediate(() => this.carrier.input(copy));
  }
  onData(l: (c: Uint8Array) => void): void {
    this.data.push(l);
  }
  onClose(): void {}
  onError(): void {}
}

/** Serves one SoftCarrier on 127.0.0.1 (an ephemeral port) for `--port tcp://…` in CLI tests. */
export async function serveSoftCarrier(carrier: SoftCarrier): Promise<{ port: number; stop: () => Promise<void> }> {
  const { createServer } = await import("node:net");
  const sockets = new Set<import("node:net").Socket>();
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
    carrier.connect((bytes) => socket.write(bytes));
    socket.on("data", (chunk) => carrier.input(new Uint8Array(chunk)));
    socket.on("error", () => {});
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return {
    port: (server.address() as { port: number }).port,
    stop: () => new Promise<void>((r) => {
      for (const s of sockets) s.destroy();
      server.close(() => r());
    }),
  };
}
