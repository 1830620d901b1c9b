/**
 * Espruino's packet protocol (2v25+), as measured byte for byte (facts §6):
 * `DLE SOH HH LL payload`, where `HH<<8|LL` = type (top 3 bits) | payload length (13 bits).
 * The device answers ACK (0x06) or NAK (0x15).
 */

export const DLE = 0x10;
export const SOH = 0x01;
export const ACK = "\x06";
export const NAK = "\x15";

export const PacketType = {
  RESPONSE: 0x0000, // device → host: result of an EVAL
  EVAL: 0x2000, // run an expression, reply with RESPONSE carrying E.toJS(result)
  EVENT: 0x4000, // loose JSON object → E.emit('packet', obj)
  FILE_SEND: 0x6000, // {fn, s, fs?, c?} opens a Storage upload
  DATA: 0x8000, // a block of the open upload (or, device → host, of a FILE_RECV)
  FILE_RECV: 0xa000, // {fn} → DATA blocks then an empty DATA
} as const;

export const PACKET_TYPE_MASK = 0xe000;
export const PACKET_LENGTH_MASK = 0x1fff;
export const MAX_PACKET_PAYLOAD = PACKET_LENGTH_MASK; // 8191 bytes
/** An unfinished packet is NAK'd after this long (jsinteractive.c; the README's 1–2 s is stale). */
export const PACKET_TIMEOUT_MS = 5000;
/** An upload is closed this long after its last DATA block. */
export const FILE_TRANSFER_TIMEOUT_MS = 10000;
/** FILE_RECV answers in DATA blocks of at most this many bytes. */
export const FILE_RECV_BLOCK = 1024;

/** Frame a packet as a byte string. `payload` must be a byte string (each char 0–255). */
export function encodePacket(type: number, payload: string): string {
  if ((type & ~PACKET_TYPE_MASK) !== 0) {
    throw new Error(`encodePacket: type 0x${type.toString(16)} has length bits set; pass one of PacketType`);
  }
  if (payload.length > MAX_PACKET_PAYLOAD) {
    throw new Error(`encodePacket: payload is ${payload.length} bytes; the protocol carries at most ${MAX_PACKET_PAYLOAD}, split it`);
  }
  const flags = type | payload.length;
  return String.fromCharCode(DLE, SOH, (flags >> 8) & 0xff, flags & 0xff) + payload;
}

export interface DecodedPacket { type: number; payload: string }

/**
 * Pull device → host packets and ACK/NAK bytes out of a received byte string, the way
 * EspruinoTools' serial.js does it. Everything else is returned as console text.
 */
export class PacketReader {
  private pending: string | undefined;
  private lastWasDle = false;
  readonly packets: DecodedPacket[] = [];
  readonly acks: string[] = [];
  text = "";

  push(bytes: string): void {
    for (const ch of bytes) {
      if (this.pending !== undefined) {
        this.pending += ch;
        if (this.pending.length >= 2) {
          const flags = (this.pending.charCodeAt(0) << 8) | this.pending.charCodeAt(1);
          const len = flags & PACKET_LENGTH_MASK;
          if (this.pending.length >= len + 2) {
            this.packets.push({ type: flags & PACKET_TYPE_MASK, payload: this.pending.slice(2) });
            this.pending = undefined;
          }
        }
        continue;
      }
      if (ch === ACK || ch === NAK) { this.acks.push(ch); continue; }
      if (ch === "\x10") { this.lastWasDle = true; continue; }
      if (ch === "\x01" && this.lastWasDle) { this.lastWasDle = false; this.pending = ""; continue; }
      if (this.lastWasDle) { this.text += "\x10"; this.lastWasDle = false; }
      this.text += ch;
    }
  }
}
