// Regenerates firmware/vectors/frames.json from an oracle that shares no code with the firmware:
// cbor-x (canonical settings from docs, insertion-ordered maps built in ascending key order) for
// bodies and Node's zlib.crc32 for the trailer. Run: npx tsx firmware/vectors/generate-frames.ts
import { writeFileSync } from "node:fs";
import { crc32 } from "node:zlib";
import { Encoder } from "cbor-x";

const cbor = new Encoder({ useRecords: false, variableMapSize: true, useTag259ForMaps: false, tagUint8Array: false });

type J = number | boolean | null | string | J[] | { bytes: string } | { text: string } | { map: [number, J][] };

function toCborX(v: J): unknown {
  if (v === null || typeof v === "number" || typeof v === "boolean") return v;
  if (typeof v === "string") throw new Error("use {text} or {bytes}, not a bare string");
  if (Array.isArray(v)) return v.map(toCborX);
  if ("bytes" in v) return Uint8Array.from(Buffer.from(v.bytes, "hex"));
  if ("text" in v) return v.text;
  const keys = v.map.map((p) => p[0]);
  for (let i = 1; i < keys.length; i++) if (!(keys[i - 1]! < keys[i]!)) throw new Error("map keys must ascend");
  return new Map(v.map.map(([k, x]) => [k, toCborX(x)]));
}

const MAGIC = [0xf5, 0x4b];
function frame(version: number, type: number, seq: number, code: number, body: Buffer): string {
  const head = Buffer.from([...MAGIC, version, type, seq, code, body.length >> 8, body.length & 0xff]);
  const covered = Buffer.concat([head, body]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(covered) >>> 0);
  return Buffer.concat([covered, crc]).toString("hex");
}

interface FrameVector { name: string; section: string; hex: string; version: number; type: number; seq: number; code: number; bodyHex: string; body: J }

function vector(name: string, section: string, version: number, type: number, seq: number, code: number, body: J): FrameVector {
  const enc = Buffer.from(cbor.encode(toCborX(body)));
  return { name, section, hex: frame(version, type, seq, code, enc), version, type, seq, code, bodyHex: enc.toString("hex"), body };
}

const info: J = { map: [
  [1, { text: "0.1.0" }], [2, [1, 0]], [3, { text: "PUCKJS" }], [4, { text: "c0ffee00-12345678" }],
  [5, 0], [6, 0x0e], [7, 32768], [8, 512],
] };

const valid: FrameVector[] = [
  vector("INFO request", "§7.1", 1, 0x00, 0x01, 0x01, { map: [] }),
  vector("INFO response (Puck.js, BLANK)", "§7.1", 1, 0x01, 0x01, 0x00, info),
  vector("PING request", "§7.2", 1, 0x00, 0x02, 0x02, { map: [[1, { bytes: "deadbeef" }]] }),
  vector("PING response", "§7.2", 1, 0x01, 0x02, 0x00, { map: [[1, { bytes: "deadbeef" }]] }),
  vector("PING request, empty data", "§7.2", 1, 0x00, 0xff, 0x02, { map: [[1, { bytes: "" }]] }),
  vector("UNKNOWN_COMMAND response", "§6", 1, 0x01, 0x03, 0x03, { map: [[1, { text: "unknown command" }]] }),
  vector("request with unsupported major version 2", "§4", 2, 0x00, 0x04, 0x01, { map: [] }),
  vector("UNSUPPORTED_VERSION response", "§4", 1, 0x01, 0x04, 0x09, { map: [[1, { text: "unsupported protocol major" }], [2, [1]]] }),
];

// Frames a device must process with the given outcome. "silent" = no response (resynchronise).
const bodyInfo = Buffer.from("a0", "hex");
const good = frame(1, 0, 0x05, 0x01, bodyInfo);
const badCrc = good.slice(0, -2) + ((parseInt(good.slice(-2), 16) ^ 1).toString(16).padStart(2, "0"));
const device = [
  { name: "INFO request", section: "§7.1", hex: valid[0]!.hex, expect: { status: 0x00, seq: 0x01 } },
  { name: "PING request echoes", section: "§7.2", hex: valid[2]!.hex, expect: { status: 0x00, seq: 0x02, bodyHex: valid[3]!.bodyHex } },
  { name: "CRC mismatch (last byte flipped)", section: "§3.3", hex: badCrc, expect: "silent" },
  { name: "response-type frame sent to the device", section: "§3.1", hex: frame(1, 1, 0x06, 0x00, bodyInfo), expect: "silent" },
  { name: "reserved type bits set", section: "§3.1", hex: frame(1, 0x80, 0x06, 0x01, bodyInfo), expect: "silent" },
  { name: "version byte 0 (never valid)", section: "§3.1", hex: frame(0, 0, 0x06, 0x01, bodyInfo), expect: "silent" },
  { name: "unsupported major version", section: "§4", hex: valid[6]!.hex, expect: { status: 0x09, seq: 0x04, bodyHex: valid[7]!.bodyHex } },
  { name: "unknown command 0x7e", section: "§6", hex: frame(1, 0, 0x07, 0x7e, bodyInfo), expect: { status: 0x03, seq: 0x07 } },
  { name: "command id 0x00 is never valid", section: "§7", hex: frame(1, 0, 0x08, 0x00, bodyInfo), expect: { status: 0x03, seq: 0x08 } },
  { name: "empty body", section: "§5", hex: frame(1, 0, 0x09, 0x01, Buffer.alloc(0)), expect: { status: 0x02, seq: 0x09 } },
  { name: "body is not CBOR (truncated map)", section: "§5", hex: frame(1, 0, 0x0a, 0x01, Buffer.from("a1", "hex")), expect: { status: 0x02, seq: 0x0a } },
  { name: "body is CBOR but not a map", section: "§5", hex: frame(1, 0, 0x0b, 0x01, Buffer.from("80", "hex")), expect: { status: 0x05, seq: 0x0b } },
  { name: "INFO with an unknown field", section: "§7.1", hex: frame(1, 0, 0x0c, 0x01, Buffer.from("a10101", "hex")), expect: { status: 0x05, seq: 0x0c } },
  { name: "PING data is a text string", section: "§7.2", hex: frame(1, 0, 0x0d, 0x02, Buffer.from("a1016161", "hex")), expect: { status: 0x05, seq: 0x0d } },
  { name: "PING data over 500 bytes", section: "§7.2", hex: frame(1, 0, 0x0e, 0x02, Buffer.concat([Buffer.from("a1015901f5", "hex"), Buffer.alloc(501, 0x55)])), expect: { status: 0x06, seq: 0x0e } },
  { name: "declared length 513 (over the maximum)", section: "§3.2", hex: "f54b0100" + "0f01" + "0201" + "00".repeat(513) + "00000000", expect: "silent" },
];

const out = {
  source: "PROTOCOL.md (KeyCarrier wire protocol v1); section per vector. Generated by firmware/vectors/generate-frames.ts with cbor-x (canonical settings) and Node zlib.crc32, independent of the firmware code.",
  magicHex: "f54b",
  headerBytes: 8,
  trailerBytes: 4,
  maxBody: 512,
  valid,
  device,
};
writeFileSync(new URL("./frames.json", import.meta.url), JSON.stringify(out, null, 2) + "\n");
console.log("wrote frames.json:", valid.length, "valid,", device.length, "device outcomes");
for (const v of valid) console.log(v.name.padEnd(45), v.hex);
