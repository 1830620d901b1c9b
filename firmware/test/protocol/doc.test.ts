// Proves the worked examples in PROTOCOL.md: every ```frame block is decoded byte by byte and each
// annotation (version, type, seq, command/status, length, body in CBOR diagnostic notation, crc)
// must match; then the examples must agree with firmware/vectors/frames.json.
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { decode, isText, type CborValue } from "../../src/codec.ts";
import { crc32 } from "../firmware/harness.ts";
import { frameVectors, bytesToHex, fromVector, hexToBytes } from "./vectors.ts";

const doc = readFileSync(new URL("../../../PROTOCOL.md", import.meta.url), "utf8");
const COMMANDS: Record<number, string> = { 0x01: "INFO", 0x02: "PING" };
const STATUSES: Record<number, string> = {
  0x00: "OK", 0x01: "BAD_FRAME", 0x02: "BAD_CBOR", 0x03: "UNKNOWN_COMMAND", 0x04: "NOT_ALLOWED_IN_STATE",
  0x05: "BAD_ARGUMENT", 0x06: "TOO_LARGE", 0x07: "BUSY", 0x08: "INTERNAL", 0x09: "UNSUPPORTED_VERSION",
};

// RFC 8949 §8 diagnostic notation, as the doc writes it. Text is UTF-8 bytes in the firmware.
function diag(v: CborValue): string {
  if (v === null) return "null";
  if (typeof v === "number" || typeof v === "boolean") return String(v);
  if (typeof v === "string") return "h'" + bytesToHex(v) + "'";
  if (Array.isArray(v)) return "[" + v.map(diag).join(", ") + "]";
  if (isText(v)) return JSON.stringify(Buffer.from(v.tstr, "latin1").toString("utf8"));
  return "{" + Object.keys(v).map((k) => k + ": " + diag(v[Number(k)]!)).join(", ") + "}";
}

interface Line { hex: string; note: string }
const blocks: Line[][] = [];
for (const m of doc.matchAll(/```frame\n([\s\S]*?)```/g)) {
  blocks.push(m[1]!.trim().split("\n").map((line) => {
    const hm = /^((?:[0-9a-f]{2} ?)+)\s+(.*)$/.exec(line);
    if (!hm) throw new Error("PROTOCOL.md frame line without hex and a note: " + line);
    return { hex: hm[1]!.replace(/ /g, ""), note: hm[2]!.trim() };
  }));
}

describe("PROTOCOL.md worked examples", () => {
  it("the document has the examples it promises (INFO, PING, errors, version)", () => {
    expect(blocks.length).toBeGreaterThanOrEqual(7);
  });

  blocks.forEach((lines, n) => {
    it(`example ${n + 1}: ${lines.map((l) => l.note).slice(4, 5).join("")}`, () => {
      const field = (i: number, want: RegExp) => {
        expect(lines[i]!.note, `line ${i + 1} of example ${n + 1}`).toMatch(want);
        return lines[i]!.hex;
      };
      expect(field(0, /^magic$/)).toBe("f54b");
      const version = parseInt(field(1, /^version \d+$/), 16);
      expect(lines[1]!.note).toBe(`version ${version}`);
      const type = parseInt(field(2, /^type (request|response)$/), 16);
      expect(lines[2]!.note).toBe(type === 0 ? "type request" : "type response");
      const seq = parseInt(field(3, /^seq \d+$/), 16);
      expect(lines[3]!.note).toBe(`seq ${seq}`);
      const code = parseInt(lines[4]!.hex, 16);
      const hexCode = "0x" + code.toString(16).padStart(2, "0");
      expect(lines[4]!.note).toBe(type === 0 ? `command ${COMMANDS[code]} (${hexCode})` : `status ${STATUSES[code]} (${hexCode})`);
      const length = parseInt(field(5, /^length \d+$/), 16);
      expect(lines[5]!.note).toBe(`length ${length}`);
      const bodyHex = lines.slice(6, -1).map((l) => l.hex).join("");
      expect(bodyHex.length / 2).toBe(length);
      const decoded = decode(hexToBytes(bodyHex));
      expect(decoded.ok).toBe(true);
      if (!decoded.ok) return;
      expect(lines[6]!.note).toBe("body " + diag(decoded.value));
      const all = lines.map((l) => l.hex).join("");
      const crcHex = field(lines.length - 1, /^crc$/);
      expect(crc32(hexToBytes(all.slice(0, -8))).toString(16).padStart(8, "0")).toBe(crcHex);
      // every example is also a shared vector, with the same decoded body
      const v = frameVectors.valid.find((x) => x.hex === all);
      expect(v, "example " + all + " missing from frames.json").toBeDefined();
      expect(v!.bodyHex).toBe(bodyHex);
      expect(decoded.value).toEqual(fromVector(v!.body));
    });
  });

  it("every valid frame vector is self-consistent (header fields, body, CRC)", () => {
    for (const v of frameVectors.valid) {
      const b = Buffer.from(v.hex, "hex");
      expect([b[2], b[3], b[4], b[5], b.readUInt16BE(6)]).toEqual([v.version, v.type, v.seq, v.code, v.bodyHex.length / 2]);
      expect(b.subarray(8, -4).toString("hex")).toBe(v.bodyHex);
      expect(crc32(b.subarray(0, -4).toString("latin1"))).toBe(b.readUInt32BE(b.length - 4));
      const d = decode(hexToBytes(v.bodyHex));
      expect(d.ok && d.value).toEqual(fromVector(v.body));
    }
  });

  it("the status table in the doc matches the firmware constants", async () => {
    const p = await import("../../src/protocol.ts");
    for (const [code, name] of Object.entries(STATUSES)) {
      expect((p as Record<string, unknown>)["STATUS_" + name]).toBe(Number(code));
      expect(doc).toContain(`| 0x${Number(code).toString(16).padStart(2, "0")} | ${name} |`);
    }
  });
});
