/** Device status codes of PROTOCOL.md §6 (the `code` byte of a response frame). */
export const Status = {
  OK: 0x00,
  BAD_FRAME: 0x01,
  BAD_CBOR: 0x02,
  UNKNOWN_COMMAND: 0x03,
  NOT_ALLOWED_IN_STATE: 0x04,
  BAD_ARGUMENT: 0x05,
  TOO_LARGE: 0x06,
  BUSY: 0x07,
  INTERNAL: 0x08,
  UNSUPPORTED_VERSION: 0x09,
} as const;

/** Command ids of PROTOCOL.md §7. */
export const Command = {
  INFO: 0x01,
  PING: 0x02,
} as const;

/** Status families (§6 ranges); each maps to one error class in the client. */
export type StatusFamily = "general" | "pin" | "storage" | "channel" | "payment" | "vendor" | "reserved";

export function statusFamily(status: number): StatusFamily {
  if (status <= 0x0f) return "general";
  if (status <= 0x1f) return "pin";
  if (status <= 0x2f) return "storage";
  if (status <= 0x3f) return "channel";
  if (status <= 0x5f) return "payment";
  if (status >= 0xf0 && status <= 0xff) return "vendor";
  return "reserved";
}

const NAMES: Record<number, string> = Object.fromEntries(Object.entries(Status).map(([name, code]) => [code, name]));

/** `BAD_CBOR`, or `STATUS_0x1f` for a code this host does not know yet. */
export function statusName(status: number): string {
  return NAMES[status] ?? `STATUS_0x${status.toString(16).padStart(2, "0")}`;
}

/** What a person should do about each known status (shown after the device's own detail). */
export const STATUS_ADVICE: Record<number, string> = {
  [Status.BAD_FRAME]: "the host sent a malformed frame — a host bug; report it with --verbose output",
  [Status.BAD_CBOR]: "the request body was not canonical CBOR — a host bug; report it with --verbose output",
  [Status.UNKNOWN_COMMAND]: "the firmware does not know this command — update the firmware or use a matching host version",
  [Status.NOT_ALLOWED_IN_STATE]: "the device's state does not allow this command — check `keycarrier info` for the state",
  [Status.BAD_ARGUMENT]: "a request field was missing, unknown or out of range — check the arguments",
  [Status.TOO_LARGE]: "the request or its answer is over a size limit — send less per request",
  [Status.BUSY]: "the device is busy with another request — retry in a moment",
  [Status.INTERNAL]: "the device failed internally; its state did not change — retry, and report it if it persists",
  [Status.UNSUPPORTED_VERSION]: "the device speaks a different protocol major version — update the host or the firmware",
};
