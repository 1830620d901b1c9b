// INFO (PROTOCOL.md §7.1): identity, versions, state and capabilities. Allowed in every state.
import { ok, refuse, unknownField, type Command } from "../dispatch.ts";
import { text, type CborMap } from "../codec.ts";
import { ALL_STATES_MASK, CMD_INFO, MAX_BODY, PROTOCOL_MAJOR, PROTOCOL_MINOR, STATUS_BAD_ARGUMENT } from "../protocol.ts";

export interface InfoSource {
  firmwareVersion: string;
  board(): string;
  serial(): string;
  state(): number;
  capabilities(): number;
  storageFree(): number;
}

export function createInfoCommand(source: InfoSource): Command {
  return {
    id: CMD_INFO,
    name: "INFO",
    allowedStates: ALL_STATES_MASK,
    run: function (args: CborMap) {
      if (unknownField(args, []) >= 0) return refuse(STATUS_BAD_ARGUMENT, "INFO takes no fields");
      const info: CborMap = {};
      info[1] = text(source.firmwareVersion);
      info[2] = [PROTOCOL_MAJOR, PROTOCOL_MINOR];
      info[3] = text(source.board());
      info[4] = text(source.serial());
      info[5] = source.state();
      info[6] = source.capabilities();
      info[7] = source.storageFree();
      info[8] = MAX_BODY;
      return ok(info);
    },
  };
}
