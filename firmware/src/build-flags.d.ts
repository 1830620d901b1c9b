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
// Code chunks (firmware/build/bundles.ts CHUNKS): KC_CHUNKS is true in a bundle whose rarely used
// commands live in Storage files of their own (keycarrier.nfc.js), false where they are compiled
// into the bundle. KC_CHUNK_CRC_PERSO is the CRC-32 of the "perso" chunk file the same build wrote
// (0 where KC_CHUNKS is false).
declare const KC_CHUNKS: boolean;
declare const KC_CHUNK_CRC_PERSO: number;
// Names the root of a code chunk (main.ts, firmware/build/chunks.ts); the build removes the call.
declare function KC_CHUNK_ROOT(storageName: string, root: () => unknown): void;
