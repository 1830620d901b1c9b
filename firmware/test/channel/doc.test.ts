// docs/CHANNEL.md quotes the vectors: every hex value of 16+ bytes in its ```hex blocks must be in
// firmware/vectors/channel.json (or online-pin.json, §9), so the page cannot drift from what both
// implementations check.
import { describe, expect, it } from "vitest";
import { readFileSync } from "node:fs";

const doc = readFileSync(new URL("../../../docs/CHANNEL.md", import.meta.url), "utf8");
const vectors = readFileSync(new URL("../../vectors/channel.json", import.meta.url), "utf8") + readFileSync(new URL("../../vectors/online-pin.json", import.meta.url), "utf8");

describe("docs/CHANNEL.md hex examples", () => {
  const blocks = [...doc.matchAll(/```hex\n([\s\S]*?)```/g)].map((m) => m[1]!);
  const values = blocks.flatMap((b) => [...b.matchAll(/=\s*([0-9a-f]{32,})\b/g)].map((m) => m[1]!));

  it("has the examples (keys, transcript, session keys, proofs, sealed messages, cryptogram)", () => {
    expect(values.length).toBeGreaterThanOrEqual(16);
  });

  it.each(values.map((v) => [v.slice(0, 16), v]))("%s… is in channel.json or online-pin.json", (_, v) => {
    expect(vectors.includes(`"${v}"`)).toBe(true);
  });
});
