// Chunk "perso" (firmware/build/bundles.ts CHUNKS): PERSONALISE and PROVISION, which a carrier runs
// once in its life (PROVISION at the factory, PERSONALISE when issued) and a personalised carrier
// never again. In a chunked bundle (KC_CHUNKS) this is a Storage file of its own, loaded by the
// command that needs it and dropped after its reply (main.ts persoCommand), so an idle carrier holds
// none of its functions (issue #12). The interface is this one object of factories; whatever they
// need from the core (carrier, store, Storage access) comes in their deps, never as a shared global.
import { createPersonaliseCommand } from "../perso/personalise.ts";
import { createProvisionCommand } from "../perso/provision.ts";

export interface PersoChunk {
  personalise: typeof createPersonaliseCommand;
  provision: typeof createProvisionCommand;
}

export function persoChunk(): PersoChunk {
  return { personalise: createPersonaliseCommand, provision: createProvisionCommand };
}
