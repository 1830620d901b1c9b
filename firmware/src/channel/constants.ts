// Wire constants of the secure channel (docs/CHANNEL.md; PROTOCOL.md §7.3). Also imported by the
// host's channel endpoint (host/src/channel/session.ts); firmware/vectors/channel.json pins the byte layouts.

// Outer command ids (PROTOCOL.md §7, range 0x30-0x3f).
export const CMD_CHANNEL_OPEN = 0x30;
export const CMD_CHANNEL_CONFIRM = 0x31;
export const CMD_CHANNEL_MESSAGE = 0x32;
export const CMD_CHANNEL_CLOSE = 0x33;

// Status codes (PROTOCOL.md §6, range 0x30-0x3f).
export const STATUS_CHANNEL_NOT_OPEN = 0x30;
export const STATUS_CHANNEL_AUTH_FAILED = 0x31;
export const STATUS_CHANNEL_BAD_MAC = 0x32;
export const STATUS_CHANNEL_BAD_COUNTER = 0x33;

export const CHANNEL_VERSION = 1;
export const PROTOCOL_MAJOR_BOUND = 1;
export const NONCE_BYTES = 16;
export const PROOF_BYTES = 16;
export const TAG_BYTES = 16;
export const SEALED_HEADER_BYTES = 6;
export const SEALED_FORMAT = 1;
export const DIRECTION_TO_CARRIER = 1;
export const DIRECTION_TO_PLATFORM = 2;
export const SESSION_ENC_KEY_BYTES = 16;
export const STATIC_CHANNEL_KEY_BYTES = 32;
export const ID_MIN_BYTES = 4;
export const ID_MAX_BYTES = 32;
// {1: bstr} costs 5 bytes of the 512-byte body (a1 01 59 hh ll); the sealed bytes add 22.
export const MAX_SEALED_BYTES = 507;
export const MAX_PLAINTEXT_BYTES = MAX_SEALED_BYTES - SEALED_HEADER_BYTES - TAG_BYTES;
export const MAX_COUNTER = 0xffffffff;

// One-byte purposes prefixed to the transcript under the static channel key (§3).
export const PURPOSE_SESSION_ENC = "\x01";
export const PURPOSE_SESSION_MAC = "\x02";
export const PURPOSE_CARRIER_PROOF = "\x03";
export const PURPOSE_PLATFORM_PROOF = "\x04";
export const TRANSCRIPT_MAGIC = "KCT1";
export const MESSAGE_KEY_MAGIC = "KCM1";

export const DEFAULT_IDLE_TIMEOUT_MS = 120000;
export const DEFAULT_LIFETIME_MS = 900000;
export const DEFAULT_MAX_REJECTED_FRAMES = 8;
