// INFO (PROTOCOL.md §7.1): identity, versions, state and capabilities. Allowed in every state.
import { refuse, type Command } from "../dispatch.ts";
import { encodeEntries, head, text, type CborMap } from "../codec.ts";
import { ALL_STATES_MASK, CMD_INFO, MAX_BODY, PROTOCOL_MAJOR, PROTOCOL_MINOR, STATUS_BAD_ARGUMENT, STATUS_OK } from "../protocol.ts";

export interface InfoSource {
  firmwareVersion: string;
  board(): string;
  serial(): string;
  state(): number;
  // Read once, when the command is created: capabilities do not change while the firmware runs.
  capabilities(): number;
  storageFree(): number;
}

const FIELD_COUNT = 8;
const MAJOR_UINT = 0;

export function createInfoCommand(source: InfoSource): Command {
  // Fields 1-4, 6 and 8 never change while running: they are encoded once, at boot, and each
  // response splices them around the two live fields (the board pays ~0.2 ms per JS statement).
  const fixed: CborMap = {};
  fixed[1] = text(source.firmwareVersion);
  fixed[2] = [PROTOCOL_MAJOR, PROTOCOL_MINOR];
  fixed[3] = text(source.board());
  fixed[4] = text(source.serial());
  const fixedHead = String.fromCharCode(0xa0 + FIELD_COUNT) + encodeEntries(fixed) + "\x05";
  const fixedCaps = "\x06" + head(MAJOR_UINT, source.capabilities()) + "\x07";
  const fixedTail = "\x08" + head(MAJOR_UINT, MAX_BODY);
  const state = source.state;
  const storageFree = source.storageFree;
  return {
    id: CMD_INFO,
    name: "INFO",
    allowedStates: ALL_STATES_MASK,
    run: function (_args: CborMap, body: string) {
      // The body is a canonical map (checked by the dispatcher), so any field makes it differ from {}.
      if (body !== "\xa0") return refuse(STATUS_BAD_ARGUMENT, "INFO takes no fields");
      return { status: STATUS_OK, raw: fixedHead + head(MAJOR_UINT, state()) + fixedCaps + head(MAJOR_UINT, storageFree()) + fixedTail };
    },
  };
}
