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

// Secure channel (docs/CHANNEL.md): key diversification, cryptogram, platform end of a session.
export {
  diversifyCarrierKeys, diversifyKey, authorizationMessage, computeAuthorizationCryptogram, verifyAuthorizationCryptogram,
} from "./channel/keys.ts";
export type { CarrierKeys, AuthorizationFields, CryptogramHistory, CryptogramVerdict } from "./channel/keys.ts";
export { PlatformChannel, sealMessage, openMessage, deriveSessionKeys, channelTranscript } from "./channel/session.ts";
export { ChannelError as ChannelSessionError } from "./channel/session.ts";
export type { PlatformChannelOptions, SessionKeys, OpenResponse } from "./channel/session.ts";

// Reference payment platform (docs/PLATFORM.md).
export { Platform, PlatformError, merchantIdBytes } from "./platform/service.ts";
export type {
  PlatformOptions, CarrierView, MerchantView, RegisteredMerchantView, PaymentCodeView, ValidatedCodeView, OrderView, SettlementView, AuthorizationRequest, AuditRow,
} from "./platform/service.ts";
export { startPlatformServer } from "./platform/http.ts";
export type { RunningPlatform } from "./platform/http.ts";
export { PlatformClient, PlatformRequestError } from "./platform/client.ts";
export { measurePlatformThroughput } from "./platform/bench.ts";
export { DEFAULT_RISK_POLICY, checkAuthorizationRisk } from "./platform/risk.ts";
export type { RiskPolicy, RiskRefusal } from "./platform/risk.ts";
export { adminKeyFile, type Principal, type Role } from "./platform/auth.ts";
// Online PIN (PROTOCOL.md §7.5, docs/CHANNEL.md §9): the PIN block to the platform, its verdict for the carrier.
export { encryptPinBlock, decryptPinBlock, verdictMessage, verdictMac, PinPurpose, Verdict, PinBlockError } from "./platform/online-pin.ts";
export { ISSUER_PIN_TRY_LIMIT } from "./platform/pin-verifier.ts";
export type { ChallengeView, VerdictView } from "./platform/pin-verifier.ts";

// Merchant payment codes and QR images.
export * from "./qr/index.ts";

// Host flows (docs/FLOWS.md): flashing, personalisation, payment, log.
export { flashFirmware, readFirmware, progressBar, FlashError, CONSOLE_LOCKED_MESSAGE, DEFAULT_FIRMWARE_FILE, NFC_FIRMWARE_FILE } from "./flash/flash.ts";
export type { FlashOptions, FlashResult, FlashFailure } from "./flash/flash.ts";
export { ConsoleWire, encodeEvalPacket, parseEvalReply } from "./flash/console-wire.ts";
export { CarrierSession, frameBytes } from "./flows/session.ts";
export type { SessionKeyInfo, WireStats } from "./flows/session.ts";
export { personalise, provision, personalisedCarrierId, platformIdFor, DEFAULT_LIMIT_MINOR } from "./flows/personalise.ts";
export type { PersonaliseOptions, PersonaliseResult, IssuingPlatform, ProvisioningPlatform } from "./flows/personalise.ts";
export { pay, authorizeOnCarrier, inProcessPlatform } from "./flows/pay.ts";
export type { PaymentPlatform, CarrierStepOptions, CarrierAuthorization, PayResult } from "./flows/pay.ts";
export { readLog, foldLog, decodeLogEntry, chainStep } from "./flows/log.ts";
export type { CarrierLog, LogEntry } from "./flows/log.ts";
export { FlowCommand, FlowStatus, flowStatusName, innerError, transportCarrierId, TBK_DEV, TRANSPORT_PLATFORM_ID } from "./flows/protocol.ts";
