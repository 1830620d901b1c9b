// SET_PIN (0x10): personalise a BLANK (or DESTROYED, wiped) carrier: {1: pin text} → {1: tries}.
import { refuse, unknownField, type Command } from "../dispatch.ts";
import type { CborMap } from "../codec.ts";
import { STATUS_BAD_ARGUMENT } from "../protocol.ts";
import { CMD_SET_PIN } from "../security/status.ts";
import { STATE_BLANK, STATE_DESTROYED, type Carrier } from "../security/carrier.ts";
import { missingPin, pinField, reply } from "../security/pin-args.ts";

export function createSetPinCommand(carrier: Carrier): Command {
  return {
    id: CMD_SET_PIN,
    name: "SET_PIN",
    allowedStates: (1 << STATE_BLANK) | (1 << STATE_DESTROYED),
    run: function (args: CborMap) {
      if (unknownField(args, [1]) >= 0) return refuse(STATUS_BAD_ARGUMENT, "SET_PIN takes only field 1");
      const pin = pinField(args, 1);
      if (pin === null) return missingPin("SET_PIN");
      return reply(carrier.setPin(pin));
    },
  };
}
