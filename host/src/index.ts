// Public API of the KeyCarrier host library. Everything a script needs is exported here by name.
export { KeyCarrier, parseInfo, DeviceState, MAX_PING_BYTES } from "./client.ts";
export type { OpenOptions, DeviceInfo, DeviceStateName } from "./client.ts";

export {
  KeyCarrierError, HostStatus, TransportError, TimeoutError, ProtocolError, ArgumentError,
  DeviceError, RequestRejectedError, BusyError, UnsupportedVersionError,
  PinError, StorageError, ChannelError, PaymentError, VendorError,
} from "./errors.ts";

export { Status, Command, statusName, statusFamily } from "./status.ts";
export type { StatusFamily } from "./status.ts";

export { encodeCbor, decodeCbor, CborError, CBOR_LIMITS } from "./codec.ts";
export type { CborValue, CborMap } from "./codec.ts";

export {
  HostLink, FrameParser, encodeFrame, formatFrameTrace, MAX_BODY, MAX_FRAME, PROTOCOL_MAJOR,
  DEFAULT_TIMEOUT_MS, DEFAULT_RETRIES,
} from "./link.ts";
export type { Frame, FrameTraceEvent, LinkOptions, LinkResponse } from "./link.ts";

export { crc32 } from "./crc32.ts";

export { parsePort, parsePortSpec, SerialTransport, TcpTransport, ExecTransport } from "./transport/index.ts";
export type { Transport, TransportOptions, PortSpec } from "./transport/index.ts";

export { listDevices } from "./devices.ts";
export type { DeviceCandidate, DeviceListing } from "./devices.ts";
export { registerEmulator, listEmulators, registryDir } from "./registry.ts";
export type { EmulatorEntry } from "./registry.ts";
