// PROVISION (0x61, PROTOCOL.md §7.4): the factory step that writes this carrier's transport key
// kc.tk, diversified by the platform from a batch key only its keystore holds. Outer command, BLANK
// only, once: a carrier that has a transport key refuses another (a re-flash through the BTN1
// bootloader path is the only way to change it, and that path erases nothing a thief could use).
// Without kc.tk the carrier opens no transport session, so it cannot be personalised.
import { bytesArg, okRaw, refuse, type Command } from "../dispatch.ts";
import type { CborMap } from "../codec.ts";
import { STATE_BLANK, STATUS_BAD_ARGUMENT, STATUS_INTERNAL, STATUS_NOT_ALLOWED_IN_STATE } from "../protocol.ts";
import { TRANSPORT_KEY_FILE } from "./transport.ts";

export const CMD_PROVISION = 0x61;
export const TRANSPORT_KEY_BYTES = 32;

// read/write take the file name (TRANSPORT_KEY_FILE), so the platform's own functions fit as they
// are: no closure per port on the board (issue #12).
export interface ProvisionDeps {
  read(name: string): string | undefined;
  write(name: string, key: string): boolean;
  // called after kc.tk was written (main.ts forgets the transport identity it cached)
  onProvisioned(): void;
}

export function createProvisionCommand(deps: ProvisionDeps): Command {
  return {
    id: CMD_PROVISION,
    allowedStates: 1 << STATE_BLANK,
    fields: 1,
    run: function (args: CborMap) {
      const key = bytesArg(args[1], TRANSPORT_KEY_BYTES, TRANSPORT_KEY_BYTES);
      if (key === undefined) return refuse(STATUS_BAD_ARGUMENT, "bad transport key");
      if (deps.read(TRANSPORT_KEY_FILE) !== undefined) return refuse(STATUS_NOT_ALLOWED_IN_STATE, "already provisioned");
      if (!deps.write(TRANSPORT_KEY_FILE, key) || deps.read(TRANSPORT_KEY_FILE) !== key) return refuse(STATUS_INTERNAL, "kc.tk not written");
      deps.onProvisioned();
      return okRaw("\xa0");
    },
  };
}
