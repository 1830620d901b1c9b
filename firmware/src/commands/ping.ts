// PING (PROTOCOL.md §7.2): echoes a byte string, for link tests and throughput benchmarks.
import { refuse, type Command } from "../dispatch.ts";
import type { CborMap } from "../codec.ts";
import { ALL_STATES_MASK, CMD_PING, PING_MAX_DATA, STATUS_BAD_ARGUMENT, STATUS_OK, STATUS_TOO_LARGE } from "../protocol.ts";

const FIELD_DATA = 1;

export function createPingCommand(): Command {
  return {
    id: CMD_PING,
    allowedStates: ALL_STATES_MASK,
    // field 1 only: the dispatcher refuses any other (BAD_ARGUMENT)
    fields: FIELD_DATA,
    run: function (args: CborMap, body: string) {
      const data = args[FIELD_DATA];
      if (typeof data !== "string") return refuse(STATUS_BAD_ARGUMENT, "bad data");
      if (data.length > PING_MAX_DATA) return refuse(STATUS_TOO_LARGE, "over " + PING_MAX_DATA + " B");
      // The request {1: data} is canonical, so its bytes are exactly the response's.
      return { status: STATUS_OK, raw: body };
    },
  };
}
