// `npm run conformance` — runs every conformance program compiled in Node and prints a pass/fail table.
// `npm run conformance -- --out DIR [--debug]` — writes board files instead (see README.txt there).
// `npm run conformance -- --check NN-name LOGFILE` — compares a captured board console log.
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import {
  compareOutput, compileProgramResult, defaultTargets, listPrograms, programPath, readExpected, runPlainInNode, type ConformanceTarget,
} from "./corpus.ts";
import { checkBoardLog, writeBoardFiles } from "./board-files.ts";

const USAGE = `usage:
  npm run conformance                               run all programs compiled in Node; exit 1 on any mismatch
  npm run conformance -- --only 05,17               run only the programs whose names start with these
  npm run conformance -- --out DIR [--debug]        write DIR/NN-name.js (+ expected, README.txt) for a board
  npm run conformance -- --check NN-name LOGFILE    compare a captured board console log with the expected output
  npm run conformance -- --tsx [--only ...]         run each program with tsx on real Node timers (how expected files are made)`;

async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    options: {
      out: { type: "string" },
      debug: { type: "boolean", default: false },
      only: { type: "string" },
      check: { type: "string" },
      tsx: { type: "boolean", default: false },
      help: { type: "boolean", short: "h", default: false },
    },
    allowPositionals: true,
  });
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  const programs = selectPrograms(values.only);
  if (values.check !== undefined) {
    const log = positionals[0];
    if (log === undefined) throw new Error("--check needs the captured log file after the program name\n" + USAGE);
    const result = checkBoardLog(values.check, readFileSync(log, "latin1"));
    console.log(result.message);
    return result.ok ? 0 : 1;
  }
  if (values.tsx) return runWithTsx(programs);
  if (values.out !== undefined) {
    const written = await writeBoardFiles(path.resolve(values.out), programs, { debug: values.debug });
    console.log(`wrote ${written.length} ${values.debug ? "debug" : "release"} programs, their expected output and README.txt to ${path.resolve(values.out)}`);
    return 0;
  }
  return runTable(programs, defaultTargets);
}

function selectPrograms(only: string | undefined): string[] {
  const all = listPrograms();
  if (only === undefined) return all;
  const prefixes = only.split(",").map((p) => p.trim()).filter((p) => p !== "");
  const picked = all.filter((name) => prefixes.some((p) => name.startsWith(p)));
  if (picked.length === 0) throw new Error(`--only ${only} matches no program; programs are ${all.join(", ")}`);
  return picked;
}

interface Cell { ok: boolean; note: string }

async function attempt(expected: string, run: () => Promise<string>): Promise<Cell> {
  try {
    const c = compareOutput(expected, await run());
    return c.ok ? { ok: true, note: "" } : { ok: false, note: `line ${c.line}: expected "${c.expected}", got "${c.actual}"` };
  } catch (err) {
    return { ok: false, note: (err instanceof Error ? err.message : String(err)).split("\n")[0] };
  }
}

async function runTable(programs: string[], targets: ConformanceTarget[]): Promise<number> {
  const columns = ["plain"];
  for (const t of targets) columns.push(`release@${t.name}`, `debug@${t.name}`);
  const rows = await Promise.all(programs.map(async (name) => {
    const cells: Cell[] = [await attempt(readExpected(name, "node"), () => runPlainInNode(name))];
    for (const t of targets) {
      const expected = readExpected(name, t.order ?? "espruino");
      for (const minify of [true, false]) {
        cells.push(await attempt(expected, async () => t.run((await compileProgramResult(name, { minify })).code)));
      }
    }
    return { name, cells };
  }));

  const nameWidth = Math.max(7, ...programs.map((p) => p.length));
  const widths = columns.map((c) => Math.max(c.length, 4));
  console.log(["program".padEnd(nameWidth), ...columns.map((c, i) => c.padEnd(widths[i]))].join("  ").trimEnd());
  let failures = 0;
  const notes: string[] = [];
  for (const row of rows) {
    const marks = row.cells.map((cell, i) => (cell.ok ? "ok" : "FAIL").padEnd(widths[i]));
    console.log([row.name.padEnd(nameWidth), ...marks].join("  ").trimEnd());
    row.cells.forEach((cell, i) => {
      if (cell.ok) return;
      failures++;
      notes.push(`${row.name} [${columns[i]}] ${cell.note}`);
    });
  }
  for (const note of notes) console.log(note);
  const total = rows.length * columns.length;
  console.log(`${total - failures}/${total} runs match the expected output`);
  return failures === 0 ? 0 : 1;
}

// Real Node with real timers: confirms the vm sandbox's plain run is faithful, and is the way to
// produce a new program's expected output (review it before saving it as NN-name.expected.txt).
function runWithTsx(programs: string[]): number {
  const tsxCli = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../node_modules/tsx/dist/cli.mjs");
  let failures = 0;
  for (const name of programs) {
    const r = spawnSync(process.execPath, [tsxCli, programPath(name)], { encoding: "utf8", timeout: 30_000 });
    const c = compareOutput(readExpected(name, "node"), r.stdout);
    if (!c.ok || r.status !== 0) failures++;
    console.log(`${name.padEnd(24)} ${c.ok && r.status === 0 ? "ok" : `FAIL (exit ${r.status}) line ${c.line}: expected "${c.expected}", got "${c.actual}" ${r.stderr.split("\n")[0]}`}`);
  }
  console.log(`${programs.length - failures}/${programs.length} programs print their expected output under tsx`);
  return failures === 0 ? 0 : 1;
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    console.error("conformance: " + (err instanceof Error ? err.message : String(err)));
    process.exitCode = 2;
  },
);
