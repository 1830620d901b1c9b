// SECURITY.md §2: every "defended" cell of the threat table cites at least one test file that
// exists (attacks are shown, not claimed), and every attack test in this folder is cited there.
import { describe, expect, it } from "vitest";
import { existsSync, readdirSync, readFileSync } from "node:fs";

const doc = readFileSync("SECURITY.md", "utf8");
const section = doc.slice(doc.indexOf("## 2. Attackers"), doc.indexOf("## 3."));
const rows = section.split("\n").filter((l) => l.startsWith("| ") && !l.startsWith("| attacker") && !l.startsWith("|---"));

describe("SECURITY.md threat table", () => {
  it("has its rows", () => {
    expect(rows.length).toBeGreaterThanOrEqual(6);
  });

  it.each(rows.map((r) => [r.split("|")[1]!.trim(), r]))("%s: the defended cell cites existing tests", (_, row) => {
    const defended = row.split("|")[3]!;
    const cited = [...defended.matchAll(/`([\w./-]+\.test\.ts)`/g)].map((m) => m[1]!);
    expect(cited.length).toBeGreaterThan(0);
    for (const f of cited) expect(existsSync(f), f).toBe(true);
  });

  it("cites every attack test", () => {
    for (const f of readdirSync("hil-tests/attacks").filter((n) => n.endsWith(".test.ts") && n !== "threat-table.test.ts")) {
      expect(section, f).toContain(`hil-tests/attacks/${f}`);
    }
  });
});
