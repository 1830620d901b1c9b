// Entry of the "pay" chunk file (firmware/build/bundles.ts CHUNKS): the build turns the
// KC_CHUNK_RETURN call into the `return` of the function body platform.ts loadChunk runs.
import { payChunk } from "./pay.ts";

KC_CHUNK_RETURN(payChunk());
