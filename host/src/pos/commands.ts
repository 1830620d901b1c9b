/**
 * The carrier's offline-payment commands and statuses (PROTOCOL.md §11, the lead's interface contract
 * for issue #16). Kept here until PROTOCOL.md §6/§7 list them and host/src/status.ts takes them over
 * (status.ts must match the PROTOCOL.md tables row for row).
 */
export const OfflineCommand = { OFFLINE_LICENSE: 0x50, OFFLINE_PAY: 0x51, OFFLINE_SIG_READ: 0x52 } as const;
export const OfflineStatus = { OFFLINE_LIMIT: 0x50, OFFLINE_KEYS_EXHAUSTED: 0x51, NO_LICENSE: 0x52 } as const;
/** PAY_DECLINED (0x41), answered to OFFLINE_PAY as to PAY. */
export const PAY_DECLINED = 0x41;
/** Largest chunk of a license or signature in one response. */
export const MAX_CHUNK = 480;
