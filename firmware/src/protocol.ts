// Constants of wire protocol v1. PROTOCOL.md is the normative text; section numbers are cited.

// §3.1 frame layout
export const MAGIC = "\xf5\x4b";
export const MAGIC_FIRST_BYTE = 0xf5;
export const HEADER_BYTES = 8;
export const CRC_BYTES = 4;
export const MAX_BODY = 512;
export const MAX_FRAME = HEADER_BYTES + MAX_BODY + CRC_BYTES;
export const TYPE_REQUEST = 0x00;
export const TYPE_RESPONSE = 0x01;
export const HIGHEST_VERSION_BYTE = 127;

// §4 versions
export const PROTOCOL_MAJOR = 1;
export const PROTOCOL_MINOR = 0;

// §3.3 partial-frame inactivity timeout
export const PARTIAL_FRAME_TIMEOUT_MS = 500;

// §6 status codes, shared by USB and NFC
export const STATUS_OK = 0x00;
export const STATUS_BAD_FRAME = 0x01;
export const STATUS_BAD_CBOR = 0x02;
export const STATUS_UNKNOWN_COMMAND = 0x03;
export const STATUS_NOT_ALLOWED_IN_STATE = 0x04;
export const STATUS_BAD_ARGUMENT = 0x05;
export const STATUS_TOO_LARGE = 0x06;
export const STATUS_BUSY = 0x07;
export const STATUS_INTERNAL = 0x08;
export const STATUS_UNSUPPORTED_VERSION = 0x09;

// §6 error body fields
export const ERROR_FIELD_DETAIL = 1;
export const ERROR_FIELD_SUPPORTED_MAJORS = 2;

// §7 command ids
export const CMD_INFO = 0x01;
export const CMD_PING = 0x02;

// §7 device states
export const STATE_BLANK = 0;
export const STATE_PERSONALISED = 1;
export const STATE_LOCKED = 2;
export const STATE_DESTROYED = 3;
export const ALL_STATES_MASK = (1 << STATE_BLANK) | (1 << STATE_PERSONALISED) | (1 << STATE_LOCKED) | (1 << STATE_DESTROYED);

// §7.1 INFO capability bits
export const CAP_USB = 0x01;
export const CAP_NFC = 0x02;
export const CAP_SHA256 = 0x04;
export const CAP_AES = 0x08;
export const CAP_DISPLAY = 0x10; // a screen showing PAY's order before the button decides (docs/DISPLAY.md)

// §7.2 PING
export const PING_MAX_DATA = 500;
