// `npm run bench`: runs every section (bench/sections/index.ts), prints one table per section and
// writes bench/results.json. Exits 1 when a budget (sections/index.ts) is broken.
// `--only <section>` runs one section.
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { ROOT, ensureBuild } from "./context.ts";
import { budgets, sections } from "./sections/index.ts";
import type { Cell, Row } from "./sections/types.ts";

const CAVEAT = "Device ms and vars are cost-model ESTIMATES (board/docs/cost-model.md), calibrated against a real Espruino 2v29 interpreter: time within 15% of its instruction counts per step, shown at 1.25 cycles/instruction (range 1.0-2.0: x0.8-x1.6); vars within 5%. Compare designs with them; don't promise a latency.";

function format(c: Cell): string {
  if (typeof c === "number") return Number.isInteger(c) ? String(c) : c.toFixed(1);
  return c === null ? "" : String(c);
}

export function table(rows: Row[]): string {
  if (rows.length === 0) return "(no rows)";
  const cols: string[] = [];
  for (const r of rows) for (const k of Object.keys(r)) if (!cols.includes(k)) cols.push(k);
  const cells = rows.map((r) => cols.map((c) => format(r[c] ?? null)));
  const widths = cols.map((c, i) => Math.max(c.length, ...cells.map((row) => row[i]!.length)));
  const line = (xs: string[]) => xs.map((x, i) => (i === xs.length - 1 ? x : x.padEnd(widths[i]!))).join("  ").trimEnd();
  return [line(cols), line(widths.map((w) => "-".repeat(w))), ...cells.map(line)].join("\n");
}

async function main(): Promise<number> {
  const only = process.argv.includes("--only") ? process.argv[process.argv.indexOf("--only") + 1] : undefined;
  const started = performance.now();
  ensureBuild((l) => console.log(l));
  console.log(CAVEAT + "\n");
  const all = sections.filter((s) => !only || s.name === only);
  if (all.length === 0) throw new Error(`bench: no section named ${only}; sections: ${sections.map((s) => s.name).join(", ")}`);
  const results: Record<string, { note?: string; ms: number; rows: Row[] }> = {};
  for (const s of all) {
    const t0 = performance.now();
    const rows = await s.run();
    const ms = Math.round(performance.now() - t0);
    results[s.name] = { ...(s.note ? { note: s.note } : {}), ms, rows };
    console.log(`== ${s.name} (${ms} ms)${s.note ? "\n" + s.note : ""}\n${table(rows)}\n`);
  }
  let broken = 0;
  const verdicts = [];
  for (const b of budgets) {
    const rows = results[b.section]?.rows.filter(b.where) ?? [];
    for (const r of rows) {
      const v = Number(r[b.column]);
      const ok = (b.max === undefined || v <= b.max) && (b.min === undefined || v >= b.min);
      const bound = [b.max === undefined ? "" : `max ${b.max}`, b.min === undefined ? "" : `min ${b.min}`].filter(Boolean).join(", ");
      if (!ok && b.knownMiss === undefined) broken++;
      verdicts.push({ why: b.why, value: v, ...(b.max === undefined ? {} : { max: b.max }), ...(b.min === undefined ? {} : { min: b.min }), ok, ...(ok || b.knownMiss === undefined ? {} : { knownMiss: b.knownMiss }) });
      console.log(`${ok ? "PASS" : b.knownMiss === undefined ? "FAIL" : "MISS"} ${b.why}: ${v} (${bound})${ok || b.knownMiss === undefined ? "" : ` — ${b.knownMiss}`}`);
    }
  }
  const out = join(ROOT, "bench", "results.json");
  writeFileSync(out, JSON.stringify({ caveat: CAVEAT, generatedAt: new Date().toISOString(), node: process.version, sections: results, budgets: verdicts }, null, 2) + "\n");
  console.log(`\nwrote ${out} in ${((performance.now() - started) / 1000).toFixed(1)} s`);
  return broken === 0 ? 0 : 1;
}

main().then((code) => process.exit(code), (e: unknown) => {
  console.error(e instanceof Error ? e.stack ?? e.message : String(e));
  process.exit(2);
});
