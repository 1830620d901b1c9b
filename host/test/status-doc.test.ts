// The host's status table is PROTOCOL.md §6, row for row: a status the spec adds and the host does
// not know (or the other way round) fails here rather than surfacing as "STATUS_0x30" to a user.
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { Command, STATUS_ADVICE, Status, statusName } from "../src/status.ts";

function specStatuses(): Record<string, number> {
  const doc = readFileSync("PROTOCOL.md", "utf8");
  const section = doc.slice(doc.indexOf("## 6."), doc.indexOf("## 7."));
  const rows: Record<string, number> = {};
  for (const m of section.matchAll(/^\| 0x([0-9a-f]{2}) \| ([A-Z_]+) \|/gm)) rows[m[2]!] = parseInt(m[1]!, 16);
  return rows;
}

function specCommands(): Record<string, number> {
  const doc = readFileSync("PROTOCOL.md", "utf8");
  const section = doc.slice(doc.indexOf("## 7."), doc.indexOf("### 7.1"));
  const rows: Record<string, number> = {};
  for (const m of section.matchAll(/^\| 0x([0-9a-f]{2}) \| ([A-Z_]+) \|/gm)) rows[m[2]!] = parseInt(m[1]!, 16);
  return rows;
}

describe("command ids", () => {
  it("match the PROTOCOL.md §7 command table exactly", () => {
    expect({ ...Command }).toEqual(specCommands());
  });
});

describe("status codes", () => {
  it("match PROTOCOL.md §6 exactly", () => {
    const spec = specStatuses();
    expect(Object.keys(spec).length).toBeGreaterThan(10);
    expect({ ...Status }).toEqual(spec);
  });

  it("each has a name and advice a person can act on", () => {
    for (const code of Object.values(Status)) {
      expect(statusName(code)).not.toMatch(/^STATUS_0x/);
      if (code !== Status.OK) expect(STATUS_ADVICE[code], statusName(code)).toMatch(/\w{3,}/);
    }
  });
});
