// Bundle entry: wires platform, link, dispatcher and commands.
import { boardId, boardSerial, capabilities, log, startUsbLink, storageFree, usbLinkDeps } from "./platform.ts";
import { createDeviceLink } from "./link.ts";
import { createDispatcher } from "./dispatch.ts";
import { createInfoCommand } from "./commands/info.ts";
import { createPingCommand } from "./commands/ping.ts";
import { STATE_BLANK } from "./protocol.ts";

export const FIRMWARE_VERSION = "0.1.0";

// Until the store module exists every carrier is BLANK; the state source is the one seam to change.
function currentState(): number {
  return STATE_BLANK;
}

const dispatcher = createDispatcher([
  createInfoCommand({
    firmwareVersion: FIRMWARE_VERSION,
    board: boardId,
    serial: boardSerial,
    state: currentState,
    capabilities: capabilities,
    storageFree: storageFree,
  }),
  createPingCommand(),
], currentState);

log("KeyCarrier " + FIRMWARE_VERSION + " on " + boardId() + " " + boardSerial());
const link = createDeviceLink(usbLinkDeps(dispatcher));
if (!startUsbLink(link.onData)) log("KeyCarrier: no USB on this board; the USB link is not started");
