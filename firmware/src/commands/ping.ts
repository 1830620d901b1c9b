// PING (PROTOCOL.md §7.2): echoes a byte string, for link tests and throughput benchmarks.
import { refuse, type Command } from "../dispatch.ts";
import type { CborMap } from "../codec.ts";
import { ALL_STATES_MASK, CMD_PING, PING_MAX_DATA, STATUS_BAD_ARGUMENT, STATUS_OK, STATUS_TOO_LARGE } from "../protocol.ts";

const FIELD_DATA = 1;

export function createPingCommand(): Command {
  return {
    id: CMD_PING,
    name: "PING",
    allowedStates: ALL_STATES_MASK,
    run: function (args: CborMap, body: string) {
      // The body is a canonical map (checked by the dispatcher): it holds field 1 and nothing
      // else exactly when it starts a1 01 (one pair, key 1).
      const data = args[FIELD_DATA];
      if (body.substr(0, 2) !== "\xa1\x01" || typeof data !== "string") return refuse(STATUS_BAD_ARGUMENT, "PING takes {1: bytes}");
      if (data.length > PING_MAX_DATA) return refuse(STATUS_TOO_LARGE, "PING data over " + PING_MAX_DATA + " bytes");
      // The request {1: data} is canonical, so its bytes are exactly the response's.
      return { status: STATUS_OK, raw: body };
    },
  };
}
