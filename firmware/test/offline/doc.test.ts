// PROTOCOL.md §11.6: the worked OFFLINE_PAY frame and signed message agree with
// firmware/vectors/offline.json and with the frame layout of §3.1 (CRC-32 trailer).
import { describe, expect, it } from "vitest";
import { readFileSync } from "node:fs";
import { crc32 } from "node:zlib";

const doc = readFileSync(new URL("../../../PROTOCOL.md", import.meta.url), "utf8");
const v = JSON.parse(readFileSync(new URL("../../vectors/offline.json", import.meta.url), "utf8"));

describe("PROTOCOL.md §11 worked example", () => {
  it("the OFFLINE_PAY frame is the vectors' request body in a §3.1 frame with a correct CRC", () => {
    const block = /```offline-frame\n([\s\S]*?)```/.exec(doc)![1]!;
    const hex = block.trim().split("\n").map((l) => /^((?:[0-9a-f]{2} )+)/.exec(l + " ")![1]!.replace(/ /g, "")).join("");
    const frame = Buffer.from(hex, "hex");
    expect(frame.subarray(0, 6).toString("hex")).toBe("f54b01000151");
    const len = frame.readUInt16BE(6);
    expect(frame.subarray(8, 8 + len).toString("hex")).toBe(v.offlinePay.requestBody);
    expect(frame.readUInt32BE(8 + len)).toBe(crc32(frame.subarray(0, 8 + len)) >>> 0);
  });

  it("the signed message spelled in §11.6 is the vectors'", () => {
    const m = /`"KC-OFFLINE-v1"` ‖ `([0-9a-f\s]+)`/.exec(doc)![1]!.replace(/\s/g, "");
    expect(Buffer.from("KC-OFFLINE-v1").toString("hex") + m).toBe(v.offlinePay.signedMessage);
  });
});
