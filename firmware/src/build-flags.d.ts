// Build-time constants, in their own file so that the host's type-check (tsconfig.json), which
// compiles firmware sources its tests import, knows them without Espruino's globals.
// Compile-time constant (firmware/build/pipeline.ts esbuild `define`): true in the NFC bundle
// (keycarrier.nfc.js), false in the USB-only keycarrier.js, so the NFC link is tree-shaken out of
// the bundle of a board without NFC (the Pico). Never a run-time global on the board.
declare const KC_NFC: boolean;
// The same for the applets only the larger boards carry (firmware/build/bundles.ts): the offline
// card-emulation payment, the NFC peer payment and the trusted display. True in keycarrier.full.js.
declare const KC_OFFLINE: boolean;
declare const KC_PEER: boolean;
declare const KC_DISPLAY: boolean;
