// SET_PIN as a command, for the security tests only: not on the wire (PROTOCOL.md §7: PERSONALISE
// sets the PIN) and not in the bundle (main.ts does not import it). {1: pin text} → {1: tries}.
import { refuse, type Command } from "../dispatch.ts";
import type { CborMap } from "../codec.ts";
import { STATUS_BAD_ARGUMENT } from "../protocol.ts";
import { CMD_SET_PIN } from "../security/status.ts";
import { STATE_BLANK, STATE_DESTROYED, type Carrier } from "../security/carrier.ts";
import { pinFields, reply } from "../security/pin-args.ts";

export function createSetPinCommand(carrier: Carrier): Command {
  return {
    id: CMD_SET_PIN,
    allowedStates: (1 << STATE_BLANK) | (1 << STATE_DESTROYED),
    fields: 1,
    run: function (args: CborMap) {
      const pins = pinFields(args, 1);
      if (pins === null) return refuse(STATUS_BAD_ARGUMENT, "bad PIN");
      return reply(carrier.setPin(pins[0]!));
    },
  };
}
