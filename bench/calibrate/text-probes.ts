// Micro-programs that show how the real interpreter's cost depends on source TEXT (Espruino lexes
// and parses the source as it runs it), next to what the cost model charges for the same programs.
//   npx tsx bench/calibrate/text-probes.ts [--espruino BIN] [--write FILE.json]
// Real side: each program is stored in Storage and run with eval(require("Storage").read(..)) (its
// function text stays in memory-mapped flash, as the firmware's does), under callgrind, with N = 0
// and N iterations; the difference / N is the per-iteration instruction count. Model side: the same
// programs metered (board/src/cost/sandbox.ts) at the model's µs → instructions (64 MHz, 1.25 CPI).
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { CostMeter } from "../../board/src/cost/meter.ts";
import { runMetered } from "../../board/src/cost/sandbox.ts";
import { parseCallgrindTotal } from "./parse.ts";

const filler = (k: number, sep = ";"): string => Array.from({ length: k }, (_, j) => `x=a+b*${j}`).join(sep) + sep;
const F = filler(50);
const FC = filler(50, ",");

/** name → [setup, loop body]: each runs as `setup; for (var i=0;i<N;i++){body}`. */
export const TEXT_PROBES: Record<string, [string, string]> = {
  "empty iteration": ["var x=0,a=1,b=2", ""],
  "x=a+b": ["var x=0,a=1,b=2", "x=a+b;"],
  "x=a+b, 16-character names": ["var xxxxxxxxxxxxxxxx=0,aaaaaaaaaaaaaaaa=1,bbbbbbbbbbbbbbbb=2", "xxxxxxxxxxxxxxxx=aaaaaaaaaaaaaaaa+bbbbbbbbbbbbbbbb;"],
  "100-character string literal": ["var x=0", `x="${"abcdefghij".repeat(10)}";`],
  "member read": ["var x=0,o={abc:1}", "x=o.abc;"],
  "call of an empty function": ["var x=0,a=1,b=2;function f(){}", "f();"],
  "call: return, then 490 characters": [`var x=0,a=1,b=2;function f(){return 1;${F}}`, "f();"],
  "call: untaken if {490 characters}": [`var x=0,a=1,b=2,z=0;function f(){if(z){${F}}}`, "f();"],
  "call: untaken brace-less if, 490 characters": [`var x=0,a=1,b=2,z=0;function f(){if(z)${FC}0;}`, "f();"],
  "call: untaken ?: arm of 490 characters": [`var x=0,a=1,b=2,z=0;function f(){return z?(${FC}0):1}`, "f();"],
  "call: 50 statements run": [`var x=0,a=1,b=2;function f(){${F}}`, "f();"],
  "function expression, 490-character body": ["var x=0,a=1,b=2", `x=function(){${F}};`],
  "string concatenation 40+40": ["var x=0,s='abcdefghijabcdefghijabcdefghijabcdefghij'", "x=s+s;"],
};
export const TEXT_PROBE_ITERATIONS = 400;
const MHZ = 64, CPI = 1.25;

/** Model instructions per iteration of each probe (the cost model's µs at 64 MHz / 1.25 CPI). */
export function modelTextProbes(): Record<string, number> {
  const out: Record<string, number> = {};
  const n = TEXT_PROBE_ITERATIONS;
  for (const [name, [setup, body]] of Object.entries(TEXT_PROBES)) {
    const meter = new CostMeter();
    const { context } = runMetered(setup, { meter });
    const { record } = meter.measure(name, () => runMetered(`for(var i=0;i<${n};i++){${body}}`, { meter, context }));
    out[name] = Math.round((meter.estimate(null, record.counts).ms * 1000 * MHZ) / CPI / n);
  }
  return out;
}

function realRun(bin: string, code: string): number {
  const dir = mkdtempSync(join(tmpdir(), "kc-text-probe-"));
  try {
    writeFileSync(join(dir, "w.js"), `require("Storage").write("bc",${JSON.stringify(code)});quit();`);
    writeFileSync(join(dir, "r.js"), `eval(require("Storage").read("bc"));quit();`);
    execFileSync(bin, ["w.js"], { cwd: dir, stdio: "ignore", timeout: 60_000 });
    execFileSync("valgrind", ["--tool=callgrind", "--callgrind-out-file=cg.out", bin, "r.js"], { cwd: dir, stdio: "ignore", timeout: 120_000 });
    const text = readFileSync(join(dir, "cg.out"), "utf8");
    return parseCallgrindTotal(text);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Real instructions per iteration of each probe on `bin` (needs valgrind). */
export function realTextProbes(bin: string): Record<string, number> {
  const out: Record<string, number> = {};
  const n = TEXT_PROBE_ITERATIONS;
  for (const [name, [setup, body]] of Object.entries(TEXT_PROBES)) {
    const base = realRun(bin, `${setup};for(var i=0;i<0;i++){${body}}`);
    const full = realRun(bin, `${setup};for(var i=0;i<${n};i++){${body}}`);
    out[name] = Math.round((full - base) / n);
    process.stderr.write(`text probe ${name}: ${out[name]}\n`);
  }
  return out;
}

if (process.argv[1] && resolve(process.argv[1]) === resolve(new URL(import.meta.url).pathname)) {
  const arg = (k: string): string | undefined => { const i = process.argv.indexOf(k); return i > 0 ? process.argv[i + 1] : undefined; };
  const bin = arg("--espruino");
  const model = modelTextProbes();
  const real = bin ? realTextProbes(resolve(bin)) : undefined;
  for (const name of Object.keys(TEXT_PROBES)) {
    const r = real?.[name];
    console.log(`${name.padEnd(48)} model ${String(model[name]).padStart(8)}${r !== undefined ? `  real ${String(r).padStart(8)}  ${(((model[name]! - r) / r) * 100).toFixed(0)}%` : ""}`);
  }
  const out = arg("--write");
  if (out && real) {
    writeFileSync(resolve(out), JSON.stringify({ provenance: { binary: resolve(bin!), measuredAt: new Date().toISOString(), iterations: TEXT_PROBE_ITERATIONS, method: "bench/calibrate/text-probes.ts: callgrind, (N − 0 iterations) / N, code run from Storage" }, real }, null, 1) + "\n");
  }
}
