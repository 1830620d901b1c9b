// WIPE (0x20): {} → {1: state}. Needs a button hold (physical presence) armed just before.
import { ok, refuse, type Command } from "../dispatch.ts";
import type { CborMap } from "../codec.ts";
import { STATUS_OK } from "../protocol.ts";
import { CMD_WIPE } from "../security/status.ts";
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
