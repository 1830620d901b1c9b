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
// Compile-time constant (firmware/build/pipeline.ts esbuild `define`): true in the NFC bundle
// (keycarrier.nfc.js), false in the USB-only keycarrier.js, so the NFC link is tree-shaken out of
// the bundle of a board without NFC (the Pico). Never a run-time global on the board.
declare const KC_NFC: boolean;
// The same for the applets only the larger boards carry (firmware/build/bundles.ts): the offline
// card-emulation payment, the NFC peer payment and the trusted display. True in keycarrier.full.js.
declare const KC_OFFLINE: boolean;
declare const KC_PEER: boolean;
declare const KC_DISPLAY: boolean;
