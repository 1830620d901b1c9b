/**
 * Command ids, statuses and constants of PROTOCOL.md §7.3–§7.7 that the host flows use, and the
 * mapping of an inner (sealed) status to the host's error classes.
 */
import { decodeCbor, type CborMap } from "../codec.ts";
import {
  ChannelError, DeviceError, PaymentError, PinError, RequestRejectedError, StorageError, VendorError,
} from "../errors.ts";
import { Status, STATUS_ADVICE, commandName, statusFamily, statusName } from "../status.ts";
import { sha256 } from "@noble/hashes/sha2.js";

// One table for the whole host: PROTOCOL.md §6/§7 live in ../status.ts (pinned by a doc test).
export { Command as FlowCommand, Status as FlowStatus, commandName, statusName as flowStatusName } from "../status.ts";

/** The DeviceError subclass for a non-OK inner status, with the device's detail text and tries left. */
export function innerError(command: number, status: number, body: CborMap | undefined): DeviceError & { triesLeft?: number } {
  const detail = typeof body?.get(1) === "string" ? (body.get(1) as string) : "";
  const tries = body?.get(2);
  const advice = STATUS_ADVICE[status];
  const args = [status, statusName(status), detail, commandName(command), advice] as const;
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
    if (status === Status.PIN_WRONG) err.message += ` (${tries} ${tries === 1 ? "try" : "tries"} left)`;
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
