// Records board/test/vectors/real-espruino-vars.json: the vars small programs keep on a real
// Espruino 2v29 interpreter (Linux build with a fixed board pool, Storage memory-mapped like nRF52
// flash), so the cost model's accounting rules are checked against it in CI, which has no such
// interpreter. Usage: node board/test/vectors/record-real-vars.mjs DIR_WITH_espruino-puckjs_AND_espruino-pico
// Method per program: a script writes SETUP and PROGRAM to Storage, evals SETUP from Storage, reads
// process.memory().usage (which garbage-collects first), evals PROGRAM from Storage (so function
// text stays in "flash", as for the firmware's .bootcde), reads usage again; the vector is the
// difference. SETUP absorbs one-off costs the model does not count (a builtin class's prototype the
// first time a program touches it, ~8 vars each; E, Math, JSON objects, 2 each).
import { execFileSync } from "node:child_process";
import { mkdtempSync, writeFileSync, rmSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";

const HERE = dirname(fileURLToPath(import.meta.url));
const OUT = join(HERE, "real-espruino-vars.json");
const binDir = process.argv[2];
if (!binDir) { console.error("usage: node record-real-vars.mjs DIR (holding espruino-puckjs and espruino-pico)"); process.exit(2); }

function probe(bin, setup, code) {
  const d = mkdtempSync(join(tmpdir(), "kc-vars-"));
  try {
    const script = `var u0=0,u1=0;require("Storage").write("p",${JSON.stringify(code)});require("Storage").write("q",${JSON.stringify(setup || ";")});` +
      `eval(require("Storage").read("q"));u0=process.memory().usage;eval(require("Storage").read("p"));u1=process.memory().usage;print("U="+(u1-u0));quit();`;
    writeFileSync(join(d, "s.js"), script);
    let out;
    try { out = execFileSync(join(binDir, bin), ["s.js"], { cwd: d, input: "", timeout: 20000 }).toString(); } catch (e) { out = String(e.stdout ?? ""); }
    const m = /U=(-?\d+)/.exec(out);
    if (!m) throw new Error(`${bin}: no usage printed for ${code}: ${out.slice(-300)}`);
    return Number(m[1]);
  } finally {
    rmSync(d, { recursive: true, force: true });
  }
}

const previous = JSON.parse(readFileSync(OUT, "utf8"));
for (const v of previous.vectors) {
  v.real = { puckjs: probe("espruino-puckjs", previous.setup, v.program), pico: probe("espruino-pico", previous.setup, v.program) };
}
for (const v of previous.firstUse?.vectors ?? []) {
  v.real = { puckjs: probe("espruino-puckjs", ";", v.program), pico: probe("espruino-pico", ";", v.program) };
}
function getSizeOf(bin, program, expr) {
  const d = mkdtempSync(join(tmpdir(), "kc-vars-"));
  try {
    writeFileSync(join(d, "s.js"), `require("Storage").write("p",${JSON.stringify(program + ";print('GS='+E.getSizeOf(" + expr + "));")});eval(require("Storage").read("p"));quit();`);
    let out;
    try { out = execFileSync(join(binDir, bin), ["s.js"], { cwd: d, input: "", timeout: 20000 }).toString(); } catch (e) { out = String(e.stdout ?? ""); }
    const m = /GS=(\d+)/.exec(out);
    if (!m) throw new Error(`${bin}: no size printed for ${expr}: ${out.slice(-300)}`);
    return Number(m[1]);
  } finally {
    rmSync(d, { recursive: true, force: true });
  }
}
for (const v of previous.getSizeOf?.vectors ?? []) {
  v.real = { puckjs: getSizeOf("espruino-puckjs", v.program, v.expr), pico: getSizeOf("espruino-pico", v.program, v.expr) };
}
writeFileSync(OUT, JSON.stringify(previous, null, 2) + "\n");
console.log([...previous.vectors, ...(previous.firstUse?.vectors ?? [])].map((v) => `${v.real.puckjs}\t${v.real.pico}\t${v.program}`).join("\n"));
