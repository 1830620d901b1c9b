// INFO (PROTOCOL.md §7.1): identity, versions, state and capabilities. Allowed in every state.
import type { Command } from "../dispatch.ts";
import { encodeEntries, head, text, type CborMap } from "../codec.ts";
import { ALL_STATES_MASK, CMD_INFO, MAX_BODY, PROTOCOL_MAJOR, PROTOCOL_MINOR, STATUS_OK } from "../protocol.ts";
import { chr } from "../store/bytes.ts";

export interface InfoSource {
  firmwareVersion: string;
  board(): string;
  serial(): string;
  state(): number;
  // Read once, when the command is created: capabilities do not change while the firmware runs.
  capabilities(): number;
  storageFree(): number;
  // Fields 9-11 (a minor addition): all three or none.
  triesLeft?(): number;
  channelCarrierId?(): string;
  // the last ATC, or -1 when the carrier is not personalised (field 11 absent)
  lastAtc?(): number;
}

const BASE_FIELD_COUNT = 8;
const MAJOR_UINT = 0;
const MAJOR_BSTR = 2;

export function createInfoCommand(source: InfoSource): Command {
  // Fields 1-4, 6 and 8 never change while running: they are encoded once, at boot, and each
  // response splices them around the two live fields (the board pays ~0.2 ms per JS statement).
  const fixed: CborMap = {};
  fixed[1] = text(source.firmwareVersion);
  fixed[2] = [PROTOCOL_MAJOR, PROTOCOL_MINOR];
  fixed[3] = text(source.board());
  fixed[4] = text(source.serial());
  const fixedBody = encodeEntries(fixed) + "\x05";
  const fixedCaps = "\x06" + head(MAJOR_UINT, source.capabilities()) + "\x07";
  const fixedTail = "\x08" + head(MAJOR_UINT, MAX_BODY);
  const state = source.state;
  const storageFree = source.storageFree;
  const triesLeft = source.triesLeft;
  const channelCarrierId = source.channelCarrierId;
  const lastAtc = source.lastAtc;
  return {
    id: CMD_INFO,
    allowedStates: ALL_STATES_MASK,
    // no fields: the dispatcher refuses any (BAD_ARGUMENT)
    fields: 0,
    run: function () {
      // The state (0-3) and the tries left (at most 15) are always below 24: their own head byte.
      const base = fixedBody + chr(state()) + fixedCaps + head(MAJOR_UINT, storageFree()) + fixedTail;
      if (triesLeft === undefined || channelCarrierId === undefined || lastAtc === undefined) {
        return { status: STATUS_OK, raw: chr(0xa0 + BASE_FIELD_COUNT) + base };
      }
      const cid = channelCarrierId();
      const atc = lastAtc();
      const extra = "\x09" + chr(triesLeft()) + "\x0a" + head(MAJOR_BSTR, cid.length) + cid + (atc >= 0 ? "\x0b" + head(MAJOR_UINT, atc) : "");
      return { status: STATUS_OK, raw: chr(0xa0 + BASE_FIELD_COUNT + (atc >= 0 ? 3 : 2)) + base + extra };
    },
  };
}
