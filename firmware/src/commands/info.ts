// INFO (PROTOCOL.md §7.1): identity, versions, state and capabilities. Allowed in every state.
import { okRaw, refuse, unknownField, type Command } from "../dispatch.ts";
import { encode, encodeEntries, text, type CborMap } from "../codec.ts";
import { ALL_STATES_MASK, CMD_INFO, MAX_BODY, PROTOCOL_MAJOR, PROTOCOL_MINOR, STATUS_BAD_ARGUMENT } from "../protocol.ts";

export interface InfoSource {
  firmwareVersion: string;
  board(): string;
  serial(): string;
  state(): number;
  // Read once, on the first INFO: capabilities do not change while the firmware runs.
  capabilities(): number;
  storageFree(): number;
}

const FIELD_COUNT = 8;

export function createInfoCommand(source: InfoSource): Command {
  // Fields 1-4 and 6, 8 never change while running: encode them once (the board pays ~0.2 ms per
  // JS statement, and generic encoding of 8 fields costs tens of statements).
  let fixedHead = "";
  let fixedCaps = "";
  let fixedTail = "";
  return {
    id: CMD_INFO,
    name: "INFO",
    allowedStates: ALL_STATES_MASK,
    run: function (args: CborMap) {
      if (unknownField(args, []) >= 0) return refuse(STATUS_BAD_ARGUMENT, "INFO takes no fields");
      if (fixedHead === "") {
        const head: CborMap = {};
        head[1] = text(source.firmwareVersion);
        head[2] = [PROTOCOL_MAJOR, PROTOCOL_MINOR];
        head[3] = text(source.board());
        head[4] = text(source.serial());
        fixedHead = String.fromCharCode(0xa0 + FIELD_COUNT) + encodeEntries(head);
        fixedCaps = "\x06" + encode(source.capabilities());
        fixedTail = "\x08" + encode(MAX_BODY);
      }
      return okRaw(fixedHead + "\x05" + encode(source.state()) + fixedCaps + "\x07" + encode(source.storageFree()) + fixedTail);
    },
  };
}
