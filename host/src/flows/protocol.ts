/**
 * Command ids, statuses and constants of PROTOCOL.md §7.3–§7.7 that the host flows use, and the
 * mapping of an inner (sealed) status to the host's error classes.
 */
import { decodeCbor, type CborMap } from "../codec.ts";
import {
  ChannelError, DeviceError, PaymentError, PinError, RequestRejectedError, StorageError, VendorError,
} from "../errors.ts";
import { statusFamily, statusName as baseStatusName, STATUS_ADVICE } from "../status.ts";
import { sha256 } from "@noble/hashes/sha2.js";

export const FlowCommand = {
  CHANNEL_OPEN: 0x30,
  CHANNEL_CONFIRM: 0x31,
  CHANNEL_MESSAGE: 0x32,
  CHANNEL_CLOSE: 0x33,
  PAY_BEGIN: 0x40,
  PAY_AUTHORIZE: 0x41,
  LOG_READ: 0x42,
  PERSONALISE: 0x60,
} as const;

export const FlowStatus = {
  PIN_WRONG: 0x10,
  PIN_BLOCKED: 0x11,
  PIN_BAD_FORMAT: 0x12,
  STORAGE_FULL: 0x20,
  PRESENCE_REQUIRED: 0x21,
  CHANNEL_NOT_OPEN: 0x30,
  CHANNEL_AUTH_FAILED: 0x31,
  CHANNEL_BAD_MAC: 0x32,
  CHANNEL_BAD_COUNTER: 0x33,
  PAY_PENDING: 0x40,
  PAY_DECLINED: 0x41,
  PAY_NO_ORDER: 0x42,
  PAY_OVER_LIMIT: 0x43,
} as const;

const COMMAND_NAMES: Record<number, string> = Object.fromEntries(Object.entries(FlowCommand).map(([n, c]) => [c, n]));
const FLOW_STATUS_NAMES: Record<number, string> = Object.fromEntries(Object.entries(FlowStatus).map(([n, c]) => [c, n]));

const FLOW_ADVICE: Record<number, string> = {
  [FlowStatus.PIN_WRONG]: "the PIN is wrong; each wrong PIN spends a try, and the last try destroys the carrier",
  [FlowStatus.PIN_BLOCKED]: "no PIN tries left: the carrier destroyed its keys and must be personalised again",
  [FlowStatus.PIN_BAD_FORMAT]: "a PIN is 4–12 digits; no try was spent",
  [FlowStatus.STORAGE_FULL]: "the carrier's storage is full; nothing changed",
  [FlowStatus.PAY_DECLINED]: "the payment was declined on the carrier (long press, or no press within 30 s)",
  [FlowStatus.PAY_NO_ORDER]: "the carrier has no pending order (rebooted, or already decided); start the payment again",
  [FlowStatus.PAY_OVER_LIMIT]: "the amount is over the per-payment limit installed at personalisation",
};

export function flowStatusName(status: number): string {
  return FLOW_STATUS_NAMES[status] ?? baseStatusName(status);
}

export function commandName(command: number): string {
  return COMMAND_NAMES[command] ?? `command 0x${command.toString(16)}`;
}

/** The DeviceError subclass for a non-OK inner status, with the device's detail text and tries left. */
export function innerError(command: number, status: number, body: CborMap | undefined): DeviceError & { triesLeft?: number } {
  const detail = typeof body?.get(1) === "string" ? (body.get(1) as string) : "";
  const tries = body?.get(2);
  const advice = FLOW_ADVICE[status] ?? STATUS_ADVICE[status];
  const args = [status, flowStatusName(status), detail, commandName(command), advice] as const;
  let err: DeviceError & { triesLeft?: number };
  switch (statusFamily(status)) {
    case "general": err = new RequestRejectedError(...args); break;
    case "pin": err = new PinError(...args); break;
    case "storage": err = new StorageError(...args); break;
    case "channel": err = new ChannelError(...args); break;
    case "payment": err = new PaymentError(...args); break;
    case "vendor": err = new VendorError(...args); break;
    default: err = new DeviceError(...args);
  }
  if (typeof tries === "number") {
    err.triesLeft = tries;
    if (status === FlowStatus.PIN_WRONG) err.message += ` (${tries} ${tries === 1 ? "try" : "tries"} left)`;
  }
  return err;
}

/** Decodes a CBOR map body, or undefined when it is empty or not a map. */
export function decodeMap(bytes: Uint8Array): CborMap | undefined {
  if (bytes.length === 0) return undefined;
  const v = decodeCbor(bytes);
  return v instanceof Map ? v : undefined;
}

export const ascii = (s: string): Uint8Array => Uint8Array.from(s, (c) => c.charCodeAt(0) & 0xff);
export const toHex = (b: Uint8Array): string => Buffer.from(b).toString("hex");
export const fromHex = (h: string): Uint8Array => new Uint8Array(Buffer.from(h, "hex"));

/** §7.4: the development batch transport key, SHA-256("KeyCarrier v1 dev transport batch key"). */
export const TBK_DEV = sha256(ascii("KeyCarrier v1 dev transport batch key"));
/** §7.4: the platform id of the transport session. */
export const TRANSPORT_PLATFORM_ID = ascii("KC-TRANSPORT");

/** §7.4: the transport carrier id — getSerial() as ASCII, cut to 32, padded with "_" to 4. */
export function transportCarrierId(serial: string): Uint8Array {
  let s = serial.slice(0, 32);
  while (s.length < 4) s += "_";
  return ascii(s);
}
