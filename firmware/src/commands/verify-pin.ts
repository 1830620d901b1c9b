// VERIFY_PIN (0x11): {1: pin text} → {1: tries left}. The try is spent durably before comparing.
import { refuse, unknownField, type Command } from "../dispatch.ts";
import type { CborMap } from "../codec.ts";
import { STATUS_BAD_ARGUMENT } from "../protocol.ts";
import { CMD_VERIFY_PIN } from "../security/status.ts";
import { STATE_PERSONALISED, type Carrier } from "../security/carrier.ts";
import { missingPin, pinField, reply } from "../security/pin-args.ts";

export function createVerifyPinCommand(carrier: Carrier): Command {
  return {
    id: CMD_VERIFY_PIN,
    name: "VERIFY_PIN",
    allowedStates: 1 << STATE_PERSONALISED,
    run: function (args: CborMap) {
      if (unknownField(args, [1]) >= 0) return refuse(STATUS_BAD_ARGUMENT, "VERIFY_PIN takes only field 1");
      const pin = pinField(args, 1);
      if (pin === null) return missingPin("VERIFY_PIN");
      return reply(carrier.verifyPin(pin));
    },
  };
}
