/**
 * The virtual board's Espruino console (REPL, echo, prompts, DLE/ENQ/Ctrl-C, password lockdown,
 * packet protocol). See board/docs/console.md.
 */
export { EspruinoConsole } from "./console/repl.ts";
export type { ConsoleClock, ConsoleHost, ConsoleStorage, EvalResult, PacketUploadInfo } from "./console/repl.ts";
export { formatReplValue, formatToJS, quoteEspruinoString, formatEspruinoNumber } from "./console/format.ts";
export { countOpenBrackets, parseLooseJson } from "./console/lex.ts";
export {
  ACK, NAK, PacketType, PacketReader, encodePacket, PACKET_TIMEOUT_MS, FILE_TRANSFER_TIMEOUT_MS,
} from "./console/packets.ts";
export type { DecodedPacket } from "./console/packets.ts";
