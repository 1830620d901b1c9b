// VERIFY_PIN (0x11): {1: pin text} → {1: tries left}. The try is spent durably before comparing.
import { refuse, type Command } from "../dispatch.ts";
import type { CborMap } from "../codec.ts";
import { STATUS_BAD_ARGUMENT } from "../protocol.ts";
import { CMD_VERIFY_PIN } from "../security/status.ts";
import { STATE_PERSONALISED, type Carrier } from "../security/carrier.ts";
import { pinFields, reply } from "../security/pin-args.ts";

export function createVerifyPinCommand(carrier: Carrier): Command {
  return {
    id: CMD_VERIFY_PIN,
    allowedStates: 1 << STATE_PERSONALISED,
    fields: 1,
    run: function (args: CborMap) {
      const pins = pinFields(args, 1);
      if (pins === null) return refuse(STATUS_BAD_ARGUMENT, "bad PIN");
      return reply(carrier.verifyPin(pins[0]!));
    },
  };
}
