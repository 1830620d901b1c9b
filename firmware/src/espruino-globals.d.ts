// Espruino 2v29 globals that @types/espruino (an old snapshot) does not declare. Only platform.ts
// may use them (docs/ARCHITECTURE.md).
declare namespace E {
  function CRC32(data: string): number;
  function setConsole(device: unknown, options?: { force?: boolean }): void;
}
declare function setTimeout(fn: () => void, ms: number): number;
declare function require(module: "Storage"): { getFree(): number };
declare function require(module: string): unknown;
declare var process: { env: { BOARD?: string; VERSION?: string } };
// The build-time constants KC_NFC, KC_OFFLINE, KC_PEER, KC_DISPLAY: build-flags.d.ts.
