// WIPE (0x20): {} → {1: state}. Needs a button hold (physical presence) armed just before.
import { ok, refuse, type Command } from "../dispatch.ts";
import type { CborMap } from "../codec.ts";
import { STATUS_BAD_ARGUMENT, STATUS_OK } from "../protocol.ts";
import { CMD_WIPE } from "../security/status.ts";
import { STATE_PERSONALISED, type Carrier } from "../security/carrier.ts";

export function createWipeCommand(carrier: Carrier): Command {
  return {
    id: CMD_WIPE,
    name: "WIPE",
    allowedStates: 1 << STATE_PERSONALISED,
    run: function (_args: CborMap, body: string) {
      // The body is canonical (checked by the dispatcher): no field exactly when it is {} (a0).
      if (body !== "\xa0") return refuse(STATUS_BAD_ARGUMENT, "WIPE takes no fields");
      const o = carrier.wipe();
      if (o.status !== STATUS_OK) return refuse(o.status, o.detail);
      const m: CborMap = {};
      m[1] = carrier.state();
      return ok(m);
    },
  };
}
