import type { Transport, TransportOptions } from "./transport/types.ts";
import { parsePort } from "./transport/index.ts";
import { HostLink, MAX_BODY, type FrameTraceEvent, type LinkResponse, type RequestOptions } from "./link.ts";
import { decodeCbor, encodeCbor, CborError, type CborMap, type CborValue } from "./codec.ts";
import { Command, Status, STATUS_ADVICE, commandName, statusFamily, statusName } from "./status.ts";
import { CarrierSession, type SessionKeyInfo } from "./flows/session.ts";
import { readLog, type CarrierLog } from "./flows/log.ts";
import { personalisedCarrierId } from "./flows/personalise.ts";
import {
  ArgumentError, BusyError, ChannelError, DeviceError, PaymentError, PinError, ProtocolError,
  RequestRejectedError, StorageError, UnsupportedVersionError, VendorError,
} from "./errors.ts";

export interface OpenOptions {
  /** Base per-request timeout in ms (PROTOCOL.md §8: 1,000). */
  timeoutMs?: number;
  /** Retransmissions of the identical frame after a timeout (§8: 3). */
  retries?: number;
  /** Frame trace, e.g. for --verbose. */
  trace?: ((event: FrameTraceEvent) => void) | undefined;
  /** Serial speed for serial ports. */
  baudRate?: number | undefined;
  /** exec: transports pass the child's stderr here. */
  stderr?: ((text: string) => void) | undefined;
  /** Pin the first sequence number (tests); random otherwise (§8). */
  initialSeq?: number;
  /**
   * Send INFO on open and check the protocol major (§4: the host's first request should be INFO).
   * Default true; the result is kept in `KeyCarrier.handshakeInfo`.
   */
  handshake?: boolean;
}

export const DeviceState = { BLANK: 0, PERSONALISED: 1, LOCKED: 2, DESTROYED: 3 } as const;
export type DeviceStateName = keyof typeof DeviceState | `UNKNOWN_${number}`;

/** INFO (§7.1), decoded. */
export interface DeviceInfo {
  firmwareVersion: string;
  protocolVersion: { major: number; minor: number };
  board: string;
  serial: string;
  state: number;
  stateName: DeviceStateName;
  /** display: the carrier shows PAY's order on its own screen (bit 0x10, minor addition; docs/DISPLAY.md); else its LEDs show only an amount class. */
  capabilities: { bits: number; usb: boolean; nfc: boolean; nativeSha256: boolean; nativeAes: boolean; display: boolean };
  freeStorageBytes: number;
  maxBody: number;
  /** PIN tries left (field 9; firmware that predates the PIN omits it). */
  triesLeft?: number;
  /** The carrier id the channel answers with now, hex (field 10). */
  carrierId?: string;
  /** ATC of the last authorization (field 11; PERSONALISED only). */
  lastAtc?: number;
}

/** PING's limit (§7.2). */
export const MAX_PING_BYTES = 500;


function errorFor(command: number, res: LinkResponse): DeviceError {
  let detail = "";
  let fields: CborMap | undefined;
  try {
    const body = decodeCbor(res.body);
    if (body instanceof Map) {
      fields = body;
      const d = body.get(1);
      if (typeof d === "string") detail = d;
    }
  } catch {
    detail = res.body.length ? "(error detail was not valid CBOR)" : "";
  }
  const name = statusName(res.status);
  const args = [res.status, name, detail, commandName(command), STATUS_ADVICE[res.status]] as const;
  if (res.status === Status.BUSY) return new BusyError(...args);
  if (res.status === Status.UNSUPPORTED_VERSION) {
    const err = new UnsupportedVersionError(...args);
    const majors = fields?.get(2);
    if (Array.isArray(majors)) err.supportedMajors = majors.filter((m): m is number => typeof m === "number");
    return err;
  }
  switch (statusFamily(res.status)) {
    case "general":
      return new RequestRejectedError(...args);
    case "pin":
      return new PinError(...args);
    case "storage":
      return new StorageError(...args);
    case "channel":
      return new ChannelError(...args);
    case "payment":
      return new PaymentError(...args);
    case "vendor":
      return new VendorError(...args);
    default:
      return new DeviceError(...args);
  }
}

/** Reads field `key` of a response map with the expected type, or throws a ProtocolError. */
function field<T>(map: CborMap, key: number, what: string, check: (v: CborValue | undefined) => v is CborValue & T): T {
  const v = map.get(key);
  if (!check(v)) throw new ProtocolError(`device response field ${key} (${what}) is missing or has the wrong type: ${String(v)} — firmware and host disagree on the protocol`);
  return v;
}
const isText = (v: CborValue | undefined): v is string => typeof v === "string";
const isUint = (v: CborValue | undefined): v is number => typeof v === "number" && v >= 0;
const isBytes = (v: CborValue | undefined): v is Uint8Array => v instanceof Uint8Array;
const isVersion = (v: CborValue | undefined): v is number[] => Array.isArray(v) && v.length >= 2 && v.every((x) => typeof x === "number" && x >= 0);

/** Decodes an INFO response map; unknown keys are ignored (§5: minor versions add them). */
export function parseInfo(map: CborMap): DeviceInfo {
  const [major, minor] = field(map, 2, "protocol version", isVersion);
  const state = field(map, 5, "state", isUint);
  const bits = field(map, 6, "capabilities", isUint);
  const stateName = (Object.keys(DeviceState) as (keyof typeof DeviceState)[]).find((k) => DeviceState[k] === state) ?? (`UNKNOWN_${state}` as const);
  return {
    firmwareVersion: field(map, 1, "firmware version", isText),
    protocolVersion: { major: major!, minor: minor! },
    board: field(map, 3, "board", isText),
    serial: field(map, 4, "serial", isText),
    state,
    stateName,
    capabilities: { bits, usb: (bits & 0x01) !== 0, nfc: (bits & 0x02) !== 0, nativeSha256: (bits & 0x04) !== 0, nativeAes: (bits & 0x08) !== 0, display: (bits & 0x10) !== 0 },
    freeStorageBytes: field(map, 7, "free storage", isUint),
    maxBody: field(map, 8, "max body", isUint),
    ...(map.has(9) ? { triesLeft: field(map, 9, "tries left", isUint) } : {}),
    ...(map.has(10) ? { carrierId: Buffer.from(field(map, 10, "carrier id", isBytes)).toString("hex") } : {}),
    ...(map.has(11) ? { lastAtc: field(map, 11, "last ATC", isUint) } : {}),
  };
}

/** A connection to one KeyCarrier. */
export class KeyCarrier {
  /** INFO from the open handshake, when it ran. */
  handshakeInfo: DeviceInfo | undefined;

  private constructor(readonly link: HostLink) {}

  /** Opens `port` (a port spec string or a Transport) and, by default, performs the INFO handshake. */
  static async open(port: string | Transport, opts: OpenOptions = {}): Promise<KeyCarrier> {
    const transportOpts: TransportOptions = {};
    if (opts.baudRate !== undefined) transportOpts.baudRate = opts.baudRate;
    if (opts.stderr) transportOpts.stderr = opts.stderr;
    const transport = typeof port === "string" ? parsePort(port, transportOpts) : port;
    await transport.open();
    const linkOpts: ConstructorParameters<typeof HostLink>[1] = {};
    if (opts.timeoutMs !== undefined) linkOpts.timeoutMs = opts.timeoutMs;
    else if (transport.linkTimeoutMs !== undefined) linkOpts.timeoutMs = transport.linkTimeoutMs;
    if (opts.retries !== undefined) linkOpts.retries = opts.retries;
    if (opts.trace) linkOpts.trace = opts.trace;
    if (opts.initialSeq !== undefined) linkOpts.initialSeq = opts.initialSeq;
    let kc: KeyCarrier;
    try {
      kc = new KeyCarrier(new HostLink(transport, linkOpts));
    } catch (e) {
      await transport.close();
      throw e;
    }
    if (opts.handshake ?? true) {
      try {
        kc.handshakeInfo = await kc.info();
      } catch (e) {
        await kc.close();
        throw e;
      }
    }
    return kc;
  }

  get description(): string {
    return this.link.transport.description;
  }

  /**
   * Sends any command with a CBOR map body and returns the OK response map; a non-OK status
   * throws the DeviceError subclass for its family. The building block for future commands.
   */
  async request(command: number, body: CborMap = new Map(), opts: RequestOptions = {}): Promise<CborMap> {
    let bytes: Uint8Array;
    try {
      bytes = encodeCbor(body);
    } catch (e) {
      throw new ArgumentError(`cannot send ${commandName(command)}: ${(e as Error).message}`);
    }
    const res = await this.link.request(command, bytes, opts);
    if (res.status !== Status.OK) throw errorFor(command, res);
    let decoded: CborValue;
    try {
      decoded = decodeCbor(res.body);
    } catch (e) {
      throw new ProtocolError(`device sent an OK response whose body is not canonical CBOR (${(e as CborError).message}) — firmware and host disagree on §5`, { cause: e });
    }
    if (!(decoded instanceof Map)) throw new ProtocolError("device sent an OK response whose body is not a CBOR map (§5)");
    return decoded;
  }

  /** INFO (§7.1). Throws UnsupportedVersionError-like ProtocolError if the major is not 1. */
  async info(): Promise<DeviceInfo> {
    const info = parseInfo(await this.request(Command.INFO));
    if (info.protocolVersion.major !== 1) {
      throw new ProtocolError(`device speaks protocol ${info.protocolVersion.major}.${info.protocolVersion.minor}; this host speaks 1.x — update the host or the firmware`);
    }
    return info;
  }

  /** PING (§7.2): sends up to 500 bytes, returns what the device echoed. */
  async ping(data: Uint8Array): Promise<Uint8Array> {
    if (!(data instanceof Uint8Array)) throw new ArgumentError("ping data must be a Uint8Array");
    if (data.length > MAX_PING_BYTES) throw new ArgumentError(`ping data is ${data.length} bytes; PING carries at most ${MAX_PING_BYTES}`);
    const res = await this.request(Command.PING, new Map([[1, data]]));
    return field(res, 1, "echoed data", isBytes);
  }

  /** The carrier id INFO reports once personalised (field 10, PROTOCOL.md §7.4), hex; undefined when BLANK. */
  async carrierId(): Promise<string | undefined> {
    return personalisedCarrierId(this);
  }

  /**
   * Opens a secure-channel session (§7.3) relayed through this host; `keys` come from the platform
   * (host/src/flows: personalise/pay use it). Inner commands then go through `session.call`.
   */
  async openSession(keys: SessionKeyInfo): Promise<CarrierSession> {
    return CarrierSession.open(this, keys);
  }

  /** LOG_READ (§7.6): every kept entry, oldest first, with the hash chain verified. */
  async readLog(): Promise<CarrierLog> {
    return readLog(this);
  }

  async close(): Promise<void> {
    await this.link.close();
  }
}

export { MAX_BODY };
