// CHANGE_PIN (0x12): {1: old pin, 2: new pin} → {1: tries left}. Same counter discipline as VERIFY.
import { refuse, type Command } from "../dispatch.ts";
import type { CborMap } from "../codec.ts";
import { STATUS_BAD_ARGUMENT } from "../protocol.ts";
import { CMD_CHANGE_PIN } from "../security/status.ts";
import { STATE_PERSONALISED, type Carrier } from "../security/carrier.ts";
import { pinFields, reply } from "../security/pin-args.ts";

export function createChangePinCommand(carrier: Carrier): Command {
  return {
    id: CMD_CHANGE_PIN,
    allowedStates: 1 << STATE_PERSONALISED,
    fields: 2,
    run: function (args: CborMap) {
      const pins = pinFields(args, 2);
      if (pins === null) return refuse(STATUS_BAD_ARGUMENT, "bad PIN");
      return reply(carrier.changePin(pins[0]!, pins[1]!));
    },
  };
}
