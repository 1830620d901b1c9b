// `npm run fuzz [-- --inputs N --seed S --board ID]`: a long fuzz run of the release bundle on the
// virtual board over USB (default 1,000,000 inputs). Inputs are the segments of fuzz/strategies.ts;
// many go into one delivery and one board boot serves the whole run (a fresh board after a
// failure, so shrinking starts clean). Prints progress and throughput; exits 1 on a failure,
// printing the seed and the shrunk counterexample to replay it.
import fc from "fast-check";
import { checkBatch } from "./check.ts";
import { FuzzRig, releaseBundle } from "./rig.ts";
import { batchArbitrary, STRATEGIES } from "./strategies.ts";

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(name);
  if (i < 0) return fallback;
  const v = Number(process.argv[i + 1]);
  if (!Number.isSafeInteger(v) || v < 0) throw new Error(`${name} needs a non-negative integer, got ${process.argv[i + 1]}`);
  return v;
}

// `--target nfc`: the NFC mailbox target (hil-tests/fuzz/nfc.ts) instead of the USB link.
if (process.argv.includes("--target") && process.argv[process.argv.indexOf("--target") + 1] === "nfc") {
  const { runNfcFuzz } = await import("./nfc.ts");
  const nfcInputs = arg("--inputs", 100_000);
  const nfcSeed = arg("--seed", Date.now() % 2 ** 31);
  const t0 = performance.now();
  console.log(`fuzz nfc: ${nfcInputs} inputs, seed ${nfcSeed}, board nrf52840 (metered: every answer inside the 4.8 ms frame delay)`);
  try {
    const s = await runNfcFuzz({ inputs: nfcInputs, seed: nfcSeed, log: (l) => console.log(l) });
    console.log(`done ${s.frames} reader frames (${s.reads} READ answers, ${s.acks} ACKs, ${s.nacks} NACKs), ${s.fieldDrops} field drops, ${s.infos} INFO exchanges in ${((performance.now() - t0) / 1000).toFixed(1)} s: 0 crashes, 0 hangs, worst answer ${s.worstMs.toFixed(2)} ms`);
    process.exit(0);
  } catch (e) {
    console.error((e as Error).message);
    process.exit(1);
  }
}

const inputs = arg("--inputs", 1_000_000);
const seed = arg("--seed", Date.now() % 2 ** 31);
const boardArg = process.argv.indexOf("--board");
const boardId = boardArg >= 0 ? process.argv[boardArg + 1]! : "nrf52840";

const bundle = await releaseBundle();
let rig: FuzzRig | undefined;
let done = 0, responses = 0, coincidences = 0, batches = 0, maxVars = 0;
const started = performance.now();
let lastReport = started;
console.log(`fuzz: ${inputs} inputs, seed ${seed}, board ${boardId}, release bundle ${bundle.length} B, strategies: ${STRATEGIES.join(", ")}`);

function report(final = false): void {
  const s = (performance.now() - started) / 1000;
  console.log(`${final ? "done" : "...."} ${done} inputs (${batches} deliveries, ${responses} responses, ${coincidences} coincidental frames) in ${s.toFixed(1)} s: ${Math.round(done / s)} inputs/s, max ~${maxVars} vars`);
}

const property = fc.property(batchArbitrary(40), (batch) => {
  rig ??= new FuzzRig(bundle, boardId, seed);
  try {
    const o = checkBatch(rig, batch);
    done += o.inputs; responses += o.responses; coincidences += o.coincidences; batches++;
    if (batches % 200 === 0) maxVars = Math.max(maxVars, rig.checkVars());
  } catch (e) {
    rig.dispose();
    rig = undefined;
    throw e;
  }
  const now = performance.now();
  if (now - lastReport > 5000) { lastReport = now; report(); }
});

// Deliveries needed for `inputs` segments, from the mean batch size of a sample with the same seed.
const sample = fc.sample(batchArbitrary(40), { seed, numRuns: 200 });
const meanSegments = sample.reduce((n, b) => n + b.segments.length, 0) / sample.length;
const result = fc.check(property, { seed, numRuns: Math.max(1, Math.round(inputs / meanSegments)) });
if (rig) maxVars = Math.max(maxVars, rig.checkVars());
report(true);
rig?.dispose();
if (result.failed) {
  console.error(fc.defaultReportMessage(result) ?? "fuzz: failed");
  console.error(`replay: npm run fuzz -- --inputs ${inputs} --seed ${seed} --board ${boardId}`);
  process.exit(1);
}
