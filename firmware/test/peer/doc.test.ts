// PROTOCOL.md §12's hex lines against firmware/vectors/peer.json: the document, the vectors and (through
// the messages tests) both implementations say the same bytes.
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";

const V = JSON.parse(readFileSync("firmware/vectors/peer.json", "utf8"));
const doc = readFileSync("PROTOCOL.md", "utf8");
const section = doc.slice(doc.indexOf("## 12. Peer payment"));
const lines = new Map<string, string[]>();
for (const block of section.matchAll(/```hex\n([\s\S]*?)```/g)) {
  for (const m of block[1]!.matchAll(/^(\w+)\s*=\s*([0-9a-f]+)$/gm)) lines.set(m[1]!, [...(lines.get(m[1]!) ?? []), m[2]!]);
}

describe("PROTOCOL.md §12 hex", () => {
  it("has the section and its worked examples", () => {
    expect(section.length).toBeGreaterThan(1000);
    expect([...lines.keys()].sort()).toEqual(["D", "I", "R", "reply", "request", "sealedI", "sealedR"]);
  });
  it("layouts and seals equal the vectors", () => {
    expect(lines.get("R")).toEqual([V.requests[0].request]);
    expect(lines.get("D")).toEqual([V.requests[0].digest]);
    expect(lines.get("sealedR")).toEqual([V.requests[0].sealed]);
    expect(lines.get("I")).toEqual([V.instructions[0].instruction]);
    expect(lines.get("sealedI")).toEqual([V.instructions[0].sealed]);
  });
  it("PEER_REQUEST and PEER_PAY bodies equal the vectors", () => {
    expect(lines.get("request")).toEqual([V.wire.peerRequest.request, V.wire.peerPay.request]);
    expect(lines.get("reply")).toEqual([V.wire.peerRequest.reply, V.wire.peerPay.reply]);
  });
});
