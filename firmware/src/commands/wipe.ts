// WIPE (0x20): {} → {1: state}. Needs a button hold (physical presence) armed just before.
import { ok, refuse, type Command } from "../dispatch.ts";
import type { CborMap } from "../codec.ts";
import { STATE_BLANK, STATE_LOCKED, STATUS_OK } from "../protocol.ts";
import { CMD_WIPE, STATUS_PRESENCE_REQUIRED } from "../security/status.ts";
import type { Presence } from "../security/presence.ts";
import { STATE_PERSONALISED, type Carrier } from "../security/carrier.ts";

export function createWipeCommand(carrier: Carrier): Command {
  return {
    id: CMD_WIPE,
    allowedStates: 1 << STATE_PERSONALISED,
    // no fields: the dispatcher refuses any (BAD_ARGUMENT)
    fields: 0,
    run: function () {
      const o = carrier.wipe();
      if (o.status !== STATUS_OK) return refuse(o.status, o.detail);
      const m: CborMap = {};
      m[1] = carrier.state();
      return ok(m);
    },
  };
}

// WIPE on a carrier that still holds store v1 files (state LOCKED, STORAGE.md §9): the same button
// hold, then `wipe` erases them; the reply says BLANK and the board restarts into store v2.
export function createStoreV1WipeCommand(presence: Presence, wipe: () => void): Command {
  return {
    id: CMD_WIPE,
    allowedStates: 1 << STATE_LOCKED,
    fields: 0,
    run: function () {
      if (!presence.takeConfirmation()) return refuse(STATUS_PRESENCE_REQUIRED, "no presence");
      wipe();
      const m: CborMap = {};
      m[1] = STATE_BLANK;
      return ok(m);
    },
  };
}
