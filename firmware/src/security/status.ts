// Status codes of the PIN (0x10-0x1f) and storage/wipe (0x20-0x2f) ranges, as in the PROTOCOL.md §6
// table (SECURITY.md §6 says what each means for the PIN verdicts the carrier counts).
export const STATUS_PIN_WRONG = 0x10;
export const STATUS_PIN_BLOCKED = 0x11;
export const STATUS_PIN_BAD_FORMAT = 0x12;
export const STATUS_PIN_VERDICT_BAD = 0x13;
export const STATUS_STORAGE_FULL = 0x20;
export const STATUS_PRESENCE_REQUIRED = 0x21;

// Command ids (PROTOCOL.md §7 reserved ranges): storage/wipe 0x20-0x2f. 0x10-0x12 (SET_PIN,
// VERIFY_PIN, CHANGE_PIN) are retired with the on-device PIN: UNKNOWN_COMMAND.
export const CMD_WIPE = 0x20;
