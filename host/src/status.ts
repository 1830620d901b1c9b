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
  PIN_WRONG: 0x10,
  PIN_BLOCKED: 0x11,
  PIN_BAD_FORMAT: 0x12,
  PIN_VERDICT_BAD: 0x13,
  STORAGE_FULL: 0x20,
  PRESENCE_REQUIRED: 0x21,
  CHANNEL_NOT_OPEN: 0x30,
  CHANNEL_AUTH_FAILED: 0x31,
  CHANNEL_BAD_MAC: 0x32,
  CHANNEL_BAD_COUNTER: 0x33,
  PAY_DECLINED: 0x41,
  PAY_OVER_LIMIT: 0x43,
  PAY_ORDER_CHANGED: 0x44,
  OFFLINE_LIMIT: 0x50,
  OFFLINE_KEYS_EXHAUSTED: 0x51,
  NO_LICENSE: 0x52,
} as const;

/** Command ids of PROTOCOL.md §7. */
export const Command = {
  INFO: 0x01,
  PING: 0x02,
  WIPE: 0x20,
  CHANNEL_OPEN: 0x30,
  CHANNEL_CONFIRM: 0x31,
  CHANNEL_MESSAGE: 0x32,
  CHANNEL_CLOSE: 0x33,
  PAY: 0x40,
  LOG_READ: 0x42,
  OFFLINE_LICENSE: 0x50,
  OFFLINE_PAY: 0x51,
  OFFLINE_SIG_READ: 0x52,
  OFFLINE_INSTALL: 0x53,
  PERSONALISE: 0x60,
  PROVISION: 0x61,
} as const;

const COMMAND_NAMES: Record<number, string> = Object.fromEntries(Object.entries(Command).map(([name, code]) => [code, name]));

/** `PAY`, or `command 0x5e` for an id this host does not know. */
export function commandName(command: number): string {
  return COMMAND_NAMES[command] ?? `command 0x${command.toString(16)}`;
}

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
  [Status.BUSY]: "the device is busy with another request (a PAY waiting for the button, or the PIN lockout) — retry in a moment",
  [Status.INTERNAL]: "the device failed internally; its state did not change — retry, and report it if it persists",
  [Status.UNSUPPORTED_VERSION]: "the device speaks a different protocol major version — update the host or the firmware",
  [Status.PIN_WRONG]: "the platform found the PIN wrong; each wrong PIN spends a try there and on the carrier, and the issuer's last try blocks the card and destroys the carrier",
  [Status.PIN_VERDICT_BAD]: "the PIN verdict the host relayed is not the platform's (forged, replayed or for another order/session); it cost the carrier a try",
  [Status.PIN_BLOCKED]: "no PIN tries left: the carrier destroyed its keys — it must be personalised again",
  [Status.PIN_BAD_FORMAT]: "a PIN is 4–12 digits; no try was spent",
  [Status.STORAGE_FULL]: "the carrier's store is full; nothing changed — power-cycle the carrier (it reclaims space at boot) and send it again",
  [Status.PRESENCE_REQUIRED]: "hold the carrier's button for 3 s, then send the command again within 10 s",
  [Status.CHANNEL_NOT_OPEN]: "no secure channel is open (or it expired) — open one with the platform first",
  [Status.CHANNEL_AUTH_FAILED]: "the secure channel handshake failed — wrong platform or carrier keys, or the nonces were altered",
  [Status.CHANNEL_BAD_MAC]: "a sealed message was altered or truncated in transit — resend the genuine frame",
  [Status.CHANNEL_BAD_COUNTER]: "a sealed message was replayed or reordered — the host relayed stale traffic",
  [Status.PAY_DECLINED]: "the payment was declined on the carrier (long press, or no press within 30 s)",
  [Status.PAY_OVER_LIMIT]: "the amount is over the per-payment limit installed at personalisation",
  [Status.PAY_ORDER_CHANGED]: "this order id was already authorized for another amount or currency; nothing was signed — the merchant must issue a new payment code",
  [Status.OFFLINE_LIMIT]: "over the carrier's offline limit (per payment, or since its last online payment), or its license expired — pay online",
  [Status.OFFLINE_KEYS_EXHAUSTED]: "the carrier has used all its one-time offline keys — it needs a new offline key and license",
  [Status.NO_LICENSE]: "the carrier has no offline license installed",
};
