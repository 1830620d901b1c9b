// CHANGE_PIN (0x12): {1: old pin, 2: new pin} → {1: tries left}. Same counter discipline as VERIFY.
import { refuse, unknownField, type Command } from "../dispatch.ts";
import type { CborMap } from "../codec.ts";
import { STATUS_BAD_ARGUMENT } from "../protocol.ts";
import { CMD_CHANGE_PIN } from "../security/status.ts";
import { STATE_PERSONALISED, type Carrier } from "../security/carrier.ts";
import { missingPin, pinField, reply } from "../security/pin-args.ts";

export function createChangePinCommand(carrier: Carrier): Command {
  return {
    id: CMD_CHANGE_PIN,
    name: "CHANGE_PIN",
    allowedStates: 1 << STATE_PERSONALISED,
    run: function (args: CborMap) {
      if (unknownField(args, [1, 2]) >= 0) return refuse(STATUS_BAD_ARGUMENT, "CHANGE_PIN takes fields 1 and 2");
      const oldPin = pinField(args, 1);
      const newPin = pinField(args, 2);
      if (oldPin === null || newPin === null) return missingPin("CHANGE_PIN (old in 1, new in 2)");
      return reply(carrier.changePin(oldPin, newPin));
    },
  };
}
