/**
 * Every error the host library throws is a KeyCarrierError, so a caller can catch one class and
 * still branch on `.status` / `.statusName`. Device statuses are the one-byte codes of PROTOCOL.md;
 * failures that happen on the host side (transport, timeout, malformed reply, bad argument) use
 * codes above 0xFF so they can never collide with a device status.
 */
export class KeyCarrierError extends Error {
  readonly status: number;
  readonly statusName: string;
  constructor(status: number, statusName: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.status = status;
    this.statusName = statusName;
  }
}

/** Host-side pseudo statuses (outside the device's 0x00–0xFF range). */
export const HostStatus = {
  TRANSPORT: 0x100,
  TIMEOUT: 0x101,
  PROTOCOL: 0x102,
  ARGUMENT: 0x103,
} as const;

/** The byte pipe failed: port missing, no permission, connection refused, peer went away. */
export class TransportError extends KeyCarrierError {
  /** The OS error code when there was one (ENOENT, EACCES, ECONNREFUSED, …). */
  readonly code: string | undefined;
  constructor(message: string, code?: string, options?: { cause?: unknown }) {
    super(HostStatus.TRANSPORT, "TRANSPORT", message, options);
    this.code = code;
  }
}

/** No valid response arrived within the per-request timeout, after every retry. */
export class TimeoutError extends KeyCarrierError {
  constructor(message: string) {
    super(HostStatus.TIMEOUT, "TIMEOUT", message);
  }
}

/** The device answered, but with something this host cannot accept (bad CBOR, wrong shape). */
export class ProtocolError extends KeyCarrierError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(HostStatus.PROTOCOL, "PROTOCOL", message, options);
  }
}

/** A caller passed a value the API cannot send (too large, wrong type); nothing was sent. */
export class ArgumentError extends KeyCarrierError {
  constructor(message: string) {
    super(HostStatus.ARGUMENT, "ARGUMENT", message);
  }
}

/** Pulls an errno-style code out of a Node or serialport error (serialport only puts it in text). */
export function osErrorCode(err: unknown): string | undefined {
  if (err && typeof err === "object" && "code" in err && typeof (err as { code: unknown }).code === "string") {
    return (err as { code: string }).code;
  }
  const text = err instanceof Error ? err.message : String(err);
  if (/No such file or directory/i.test(text)) return "ENOENT";
  if (/Permission denied/i.test(text)) return "EACCES";
  if (/Resource busy|Cannot lock port/i.test(text)) return "EBUSY";
  if (/Connection refused/i.test(text)) return "ECONNREFUSED";
  return undefined;
}

/**
 * Turns an OS-level failure to open `target` into a TransportError whose message says what to do.
 * `kind` picks the advice: a serial path, a TCP address or an exec command fail for different reasons.
 */
export function openFailure(kind: "serial" | "tcp" | "exec", target: string, err: unknown): TransportError {
  const code = osErrorCode(err);
  const detail = err instanceof Error ? err.message : String(err);
  let message: string;
  switch (code) {
    case "ENOENT":
      message =
        kind === "exec"
          ? `cannot start ${target}: command not found`
          : `no such port: ${target} — run \`keycarrier devices\` to list candidates, and check the cable`;
      break;
    case "EACCES":
      message =
        `permission denied opening ${target} — add yourself to the dialout group ` +
        "(`sudo usermod -aG dialout $USER`, then log in again) or install a udev rule " +
        "giving the board's USB id MODE=\"0660\", GROUP=\"dialout\"";
      break;
    case "EBUSY":
      message = `${target} is busy — another program (a terminal, the Espruino IDE, another keycarrier) has it open`;
      break;
    case "ECONNREFUSED":
      message = `connection refused by ${target} — is \`keycarrier emulate\` running?`;
      break;
    case "ENOTFOUND":
    case "EAI_AGAIN":
      message = `cannot resolve host in ${target} — check the host name`;
      break;
    default:
      message = `cannot open ${target}: ${detail}`;
  }
  return new TransportError(message, code, { cause: err });
}

/**
 * The device answered with a non-OK status (PROTOCOL.md §6). `detail` is the device's own text
 * (for people); branch on `status`. Subclasses group the §6 ranges so callers can catch a family.
 */
export class DeviceError extends KeyCarrierError {
  constructor(
    status: number,
    statusName: string,
    /** The device's detail text (field 1 of the error body), or "" when it sent none. */
    readonly detail: string,
    /** The command that was refused, e.g. "PING". */
    readonly command: string,
    advice: string | undefined,
  ) {
    super(status, statusName, `${command} failed: ${statusName} (0x${status.toString(16).padStart(2, "0")})${detail ? `: ${detail}` : ""}${advice ? ` — ${advice}` : ""}`);
  }
}
/** 0x01–0x0f: the request itself was refused (frame, CBOR, command, state, argument, size). */
export class RequestRejectedError extends DeviceError {}
/** 0x07 BUSY: the device is running another request; sending the same request later is safe. */
export class BusyError extends RequestRejectedError {}
/** 0x09: the device does not speak our major version; `supportedMajors` lists what it does. */
export class UnsupportedVersionError extends RequestRejectedError {
  supportedMajors: number[] = [];
}
/** 0x10–0x1f: PIN (wrong PIN, blocked, …). */
export class PinError extends DeviceError {}
/** 0x20–0x2f: storage and wipe. */
export class StorageError extends DeviceError {}
/** 0x30–0x3f: secure channel. */
export class ChannelError extends DeviceError {}
/** 0x40–0x5f: payments. */
export class PaymentError extends DeviceError {}
/** 0xf0–0xff: vendor-specific statuses. */
export class VendorError extends DeviceError {}
