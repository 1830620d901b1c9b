// Status codes of the PIN (0x10-0x1f) and storage/wipe (0x20-0x2f) ranges, as in the PROTOCOL.md §6
// table (SECURITY.md §6 says what each means for the PIN).
export const STATUS_PIN_WRONG = 0x10;
export const STATUS_PIN_BLOCKED = 0x11;
export const STATUS_PIN_BAD_FORMAT = 0x12;
export const STATUS_STORAGE_FULL = 0x20;
export const STATUS_PRESENCE_REQUIRED = 0x21;

// Command ids (PROTOCOL.md §7 reserved ranges): PIN 0x10-0x1f, storage/wipe 0x20-0x2f.
export const CMD_SET_PIN = 0x10;
export const CMD_VERIFY_PIN = 0x11;
export const CMD_CHANGE_PIN = 0x12;
export const CMD_WIPE = 0x20;
