// `npm run calibrate -- --espruino BIN [--board puckjs|pico]`: runs the conformance corpus, the memory
// probes and the firmware's boot / INFO / CHANNEL_OPEN / PAY on a REAL Espruino Linux interpreter
// (built by scripts/real-espruino/build.sh) and prints model vs real side by side. Optional tooling:
// CI never needs the interpreter (tests read the committed board/calibration/real-*.json instead).
import { createHash } from "node:crypto";
import { execFileSync } from "node:child_process";
import { existsSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { compareOutput, compileProgramResult, listPrograms, readExpected, virtualBoardTarget } from "../../firmware/conformance/corpus.ts";
import { programOutputFromTranscript, startMarkerStatement } from "../../firmware/conformance/transcript.ts";
import { KeyCarrier } from "../../host/src/client.ts";
import { CarrierSession } from "../../host/src/flows/session.ts";
import { personalise, platformIdFor, provision } from "../../host/src/flows/personalise.ts";
import { FlowCommand, fromHex, toHex } from "../../host/src/flows/protocol.ts";
import { encryptPinBlock, PinPurpose } from "../../host/src/platform/online-pin.ts";
import { Platform } from "../../host/src/platform/service.ts";
import { ROOT, releaseBundle } from "../context.ts";
import { chunkFiles } from "../../firmware/build/bundles.ts";
import { modelFigures, CYCLES_PER_INSTRUCTION, type ModelFigures, type ModelStep } from "./model.ts";
import { formatTable, parseCliArgs, parseProbeOutput, relDiff, type CliOptions, type ProbeResult, type RigLine } from "./parse.ts";
import { bootAndCollect, instanceDir, interpreterIdentity, RealEspruino, removeDir, uploadFiles } from "./real.ts";
import { sha256Hex, writeFixture } from "./fixture.ts";

const PIN = "482913";
const CALIBRATION_DIR = join(ROOT, "board", "calibration");

export interface RealStep {
  name: string; ok: boolean; note?: string;
  /** process.memory().usage after the step (after a garbage collection), and the error flags then. */
  vars?: number; errorFlags?: string[];
  /** The most vars in use at once during the step (uncollected garbage included); see kc-rig.patch. */
  peak?: number;
  /** Instructions counted by callgrind over the step (host idle loop included, see idle rate). */
  instructions?: number; wallMs: number;
}

const log = (s: string): void => { process.stderr.write(s + "\n"); };

async function runCorpus(bin: string, board: string): Promise<{ name: string; real: string; model: string }[]> {
  const rows: { name: string; real: string; model: string }[] = [];
  const model = virtualBoardTarget(board);
  for (const name of listPrograms()) {
    const code = startMarkerStatement(name) + (await compileProgramResult(name, { minify: true })).code;
    const expected = readExpected(name);
    const dir = instanceDir();
    let real: string;
    try {
      await uploadFiles(bin, dir, [{ name: ".bootcde", data: code }]);
      const text = await bootAndCollect(bin, dir, { quietMs: 1500, maxMs: 60_000 });
      const c = compareOutput(expected, programOutputFromTranscript(text, name));
      real = c.ok ? "ok" : `FAIL line ${c.line}: expected "${c.expected}", got "${c.actual}"`;
    } catch (e) {
      real = "FAIL " + (e as Error).message.split("\n")[0];
    } finally {
      removeDir(dir);
    }
    let m: string;
    try {
      const c = compareOutput(expected, programOutputFromTranscript(await model.run(code), name));
      m = c.ok ? "ok" : `FAIL line ${c.line}`;
    } catch (e) {
      m = "FAIL " + (e as Error).message.split("\n")[0];
    }
    rows.push({ name, real, model: m });
    log(`corpus ${name}: real ${real.slice(0, 60)}, virtual board ${m.slice(0, 40)}`);
  }
  return rows;
}

async function runProbes(bin: string): Promise<{ probes: ProbeResult[]; errors: string[] }> {
  const dir = instanceDir();
  try {
    await uploadFiles(bin, dir, [{ name: ".bootcde", data: readFileSync(join(CALIBRATION_DIR, "probes.js"), "latin1") }]);
    const text = await bootAndCollect(bin, dir, { until: /KCPROBE-END/, maxMs: 30_000 });
    const parsed = parseProbeOutput(text);
    if (!parsed.finished) parsed.errors.push("the probe program did not reach its end marker");
    return parsed;
  } finally {
    removeDir(dir);
  }
}

/** process.memory().usage after a garbage collection, from the build's rig hooks (stderr). */
async function memory(p: RealEspruino, slow: boolean): Promise<Extract<RigLine, { kind: "mem" }> | undefined> {
  try {
    const m = await p.rig("mem", slow ? 120_000 : 10_000);
    return m.kind === "mem" ? m : undefined;
  } catch {
    return undefined;
  }
}

class FirmwareSession {
  readonly steps: RealStep[] = [];
  idlePerSecond: number | undefined;
  constructor(private readonly bin: string, private readonly opts: CliOptions, private readonly bundle: string, private readonly chunks: readonly { storageName: string; code: string }[] = []) {}

  /** The bundle as `.bootcde` and its chunk files (firmware/build/bundles.ts), as a board holds them. */
  private files(): { name: string; data: string }[] {
    return this.chunks.map((c) => ({ name: c.storageName, data: c.code })).concat([{ name: ".bootcde", data: this.bundle }]);
  }

  private async step<T>(p: RealEspruino, name: string, run: () => Promise<T>): Promise<T | undefined> {
    const t0 = Date.now();
    let result: T | undefined;
    let ok = true;
    let note: string | undefined;
    try { result = await run(); } catch (e) { ok = false; note = (e as Error).message.split("\n")[0]; }
    if (!p.isRunning) note = `${note ?? ""}; the interpreter exited: ${JSON.stringify(p.stderrTail.slice(-300))}`;
    const wallMs = Date.now() - t0;
    const instructions = this.opts.callgrind && p.isRunning ? p.dump(name) : undefined;
    await this.record(p, { name, ok, ...(note ? { note } : {}), wallMs, ...(instructions !== undefined ? { instructions } : {}) });
    return result;
  }

  /** `earlierPeak`: a peak the step already reported (a no-GC reading inside it resets the peak). */
  private async record(p: RealEspruino, s: RealStep, earlierPeak?: number): Promise<void> {
    const m = p.isRunning ? await memory(p, this.opts.callgrind) : undefined;
    if (this.opts.callgrind && p.isRunning) p.dump("memory-query"); // not counted: the query's own GC
    if (m) {
      s.vars = m.usage;
      s.errorFlags = m.errorFlags;
      // A nonzero check means the running count behind the peak drifted: then no peak is claimed.
      if (m.peak !== undefined && m.check === 0) s.peak = Math.max(m.peak, earlierPeak ?? 0);
      else if (m.peak !== undefined) s.note = `${s.note ? s.note + "; " : ""}peak not reported (running count off by ${m.check})`;
      if (m.errorFlags.includes("MEMORY") && s.ok) { s.ok = false; s.note = `error flags ${m.errorFlags.join(",")}`; }
    } else if (s.ok) {
      s.note = "memory not readable (the interpreter did not answer)";
    }
    this.steps.push(s);
    log(`firmware ${s.name}: ${s.ok ? "ok" : "FAILED " + (s.note ?? "")}; vars ${s.vars ?? "?"} peak ${s.peak ?? "?"}${s.errorFlags?.length ? ` (flags ${s.errorFlags.join(",")})` : ""}; instructions ${s.instructions ?? "-"}; ${s.wallMs} ms wall`);
  }

  private start(dir: string): RealEspruino {
    return new RealEspruino(this.bin, dir, { callgrind: this.opts.callgrind });
  }

  private async boot(p: RealEspruino, name: string): Promise<void> {
    const t0 = Date.now();
    let ok = true;
    let note: string | undefined;
    try { await p.waitReady(this.opts.callgrind ? 600_000 : 30_000); } catch (e) { ok = false; note = (e as Error).message.split("\n")[0]; }
    const instructions = this.opts.callgrind && p.isRunning ? p.dump(name) : undefined;
    const printed = p.text.replace(/\r/g, "").trim();
    if (/OUT OF MEMORY|Uncaught|Error|corrupt/i.test(printed)) { ok = false; note = (note ? note + "; " : "") + "console: " + printed.slice(0, 160).replace(/\n/g, " | "); }
    await this.record(p, { name, ok, ...(note ? { note } : {}), wallMs: Date.now() - t0, ...(instructions !== undefined ? { instructions } : {}) });
  }

  async run(): Promise<void> {
    const slow = this.opts.callgrind;
    const linkOpts = { handshake: false, timeoutMs: slow ? 60_000 : 5_000, retries: 0 };
    const dir = instanceDir("kc-real-fw-");
    const platform = await Platform.open({});
    let p: RealEspruino | undefined;
    try {
      await uploadFiles(this.bin, dir, this.files());
      p = this.start(dir);
      await this.boot(p, "boot (blank)");
      if (slow && p.isRunning) {
        // The host-side idle loop between steps is counted too: measure its rate once.
        await new Promise((r) => setTimeout(r, 3000));
        const t0 = Date.now();
        await new Promise((r) => setTimeout(r, 3000));
        this.idlePerSecond = Math.round(p.dump("idle") / ((Date.now() - t0 + 3000) / 1000));
      }
      const kc = await KeyCarrier.open(p.transport(), linkOpts);
      await this.step(p, "INFO (blank)", () => kc.info());
      // the factory's step first (kc.tk), not measured: no transport session opens without it
      await provision(kc, platform);
      const perso = await this.step(p, "personalise (whole flow)", () => personalise(kc, platform, { pin: PIN }));
      await kc.close().catch(() => {});
      await p.stop();
      if (!perso) {
        if (!this.opts.personaliseWith) { log("firmware: personalisation failed; pass --personalise-with BIN2 (a bigger pool) to measure the personalised steps"); return; }
        const helperDir = instanceDir("kc-real-perso-");
        try {
          await uploadFiles(this.opts.personaliseWith, helperDir, this.files());
          const h = new RealEspruino(this.opts.personaliseWith, helperDir);
          await h.waitReady(30_000);
          const hk = await KeyCarrier.open(h.transport(), { handshake: false, timeoutMs: 5_000, retries: 0 });
          await provision(hk, platform);
          const done = await personalise(hk, platform, { pin: PIN });
          await hk.close().catch(() => {});
          await h.stop();
          moveFlash(join(helperDir, "espruino.flash"), join(dir, "espruino.flash"), statSync(join(dir, "espruino.flash")).size);
          this.steps.push({ name: "personalise (whole flow)", ok: true, note: `personalised with ${this.opts.personaliseWith} (carrier ${done.carrierId}), flash copied`, wallMs: 0 });
          return await this.personalised(dir, platform, done.carrierId, linkOpts);
        } finally {
          removeDir(helperDir);
        }
      }
      await this.personalised(dir, platform, perso.carrierId, linkOpts);
    } finally {
      if (p) await p.stop();
      platform.close();
      removeDir(dir);
    }
  }

  private async personalised(dir: string, platform: Platform, carrierId: string, linkOpts: { handshake: boolean; timeoutMs: number; retries: number }): Promise<void> {
    const slow = this.opts.callgrind;
    const p = this.start(dir);
    try {
      await this.boot(p, "boot (personalised)");
      const kc = await KeyCarrier.open(p.transport(), linkOpts);
      await this.step(p, "INFO (personalised)", () => kc.info());
      const carrier = platform.getCarrier(carrierId);
      const keys = platform.carrierKeys(carrierId);
      const session = await this.step(p, "CHANNEL_OPEN (OPEN+CONFIRM)", () => CarrierSession.open(kc, { channelKey: keys.channelKey, carrierId: fromHex(carrierId), platformId: platformIdFor(carrier.issuerId) }));
      if (!session) return;
      const merchant = platform.registerMerchant({ name: "Calibration" });
      const code = platform.issuePaymentCode({ merchantId: merchant.merchantId, amount: 1234, currency: "EUR" });
      const order = platform.createOrder({ code: code.code });
      const f = order.cryptogramFields;
      // the online PIN, as `keycarrier pay` does it (host ↔ platform; the carrier gets the verdict in PAY)
      const challenge = platform.pinChallenge({ carrierId, orderId: order.orderId, purpose: "pay" });
      const pinBlock = encryptPinBlock(PIN, fromHex(challenge.publicKey), { purpose: PinPurpose.PAY, carrierId: fromHex(carrierId), orderId: fromHex(order.orderId), challenge: fromHex(challenge.challenge) });
      const verdict = platform.verifyOrderPin({ orderId: order.orderId, carrierId, challenge: challenge.challenge, pinBlock: toHex(pinBlock), sessionNonce: toHex(session.carrierNonce), requestCounter: session.nextCounter });
      // PAY in two parts: the request (until the interpreter is idle again: the rig's memory report
      // comes only between events), then the press of BTN1 → the sealed reply.
      let sent!: () => void;
      const wasSent = new Promise<void>((r) => { sent = r; });
      const t0 = Date.now();
      const reply = session.exchange(FlowCommand.PAY, new Map<number, Uint8Array | number | string>([
        [1, fromHex(f.orderId)], [2, fromHex(f.merchantId)], [3, f.amount], [4, f.currency], [5, verdict.verdict], [6, verdict.triesLeft], [7, fromHex(verdict.mac)],
      ]), { extraTimeoutMs: slow ? 300_000 : 10_000, deadlineMs: slow ? 600_000 : 40_000, onSent: () => sent() });
      reply.catch(() => {});
      await wasSent;
      await new Promise((r) => setTimeout(r, slow ? 2000 : 200)); // let the frame reach the interpreter
      let requestOk = true;
      let requestNote: string | undefined;
      let requestPeak: number | undefined;
      try {
        const idle = await p.rig("mem-nogc", slow ? 300_000 : 20_000);
        if (idle.kind === "mem" && idle.check === 0) requestPeak = idle.peak;
      } catch (e) { requestOk = false; requestNote = (e as Error).message; }
      const reqInstr = slow && p.isRunning ? p.dump("PAY request") : undefined;
      await this.record(p, { name: "PAY request", ok: requestOk, ...(requestNote ? { note: requestNote } : {}), wallMs: Date.now() - t0, ...(reqInstr !== undefined ? { instructions: reqInstr } : {}) }, requestPeak);
      await this.step(p, "PAY press → reply", async () => {
        const pressed = await p.rig("press", slow ? 60_000 : 5_000);
        if (pressed.kind !== "press" || !pressed.watched) throw new Error("BTN1 has no watch: the firmware did not start its button");
        const r = await reply;
        if (r.status !== 0) throw new Error(`PAY answered inner status ${r.status}`);
        return r;
      });
      await kc.close().catch(() => {});
    } finally {
      await p.stop();
    }
  }
}

/** Copies a Storage image to a board with a smaller flash, refusing when data would be cut off. */
function moveFlash(from: string, to: string, bytes: number): void {
  const img = readFileSync(from);
  for (let i = bytes; i < img.length; i++) if (img[i] !== 0xff) throw new Error(`the personalised Storage uses byte ${i}, past the ${bytes} B this board has`);
  writeFileSync(to, img.subarray(0, bytes));
}

function sha256File(file: string): string {
  return createHash("sha256").update(readFileSync(file)).digest("hex");
}

function provenance(bin: string, bundle: string, bundleFrom: string): Record<string, unknown> {
  const id = interpreterIdentity(bin);
  const infoFile = join(dirname(bin), "build-info.json");
  const build = existsSync(infoFile) ? (JSON.parse(readFileSync(infoFile, "utf8")) as Record<string, unknown>) : undefined;
  let repoCommit = "unknown";
  try { repoCommit = execFileSync("git", ["rev-parse", "HEAD"], { cwd: ROOT, encoding: "utf8" }).trim(); } catch { /* not a git checkout */ }
  return {
    interpreter: { version: id.version, board: id.board, binarySha256: sha256File(bin), build: build ?? "no build-info.json beside the binary" },
    // fixture: filled in by --write (the committed copy of exactly this bundle)
    firmware: { bundle: bundleFrom, bytes: bundle.length, sha256: sha256Hex(bundle), repoCommit },
    measuredAt: new Date().toISOString(), node: process.version, tool: "npm run calibrate (bench/calibrate/cli.ts)",
  };
}

function report(opts: CliOptions, model: ModelFigures, corpus: { name: string; real: string; model: string }[] | undefined,
  probes: { probes: ProbeResult[]; errors: string[] } | undefined, fw: FirmwareSession | undefined): string {
  const out: string[] = [];
  if (corpus) {
    out.push(`== conformance corpus (release builds, run as .bootcde) on the real interpreter vs the virtual board ${opts.board}`);
    out.push(formatTable(["program", "real", "virtual board"], corpus.map((r) => [r.name, r.real, r.model])));
    out.push(`${corpus.filter((r) => r.real === "ok").length}/${corpus.length} pass on the real interpreter, ${corpus.filter((r) => r.model === "ok").length}/${corpus.length} on the virtual board\n`);
  }
  if (probes) {
    const byName = new Map(model.probes.map((p) => [p.name, p]));
    out.push("== memory probes (board/calibration/probes.js): vars held, process.memory().usage delta; E.getSizeOf");
    out.push(formatTable(["probe", "real vars", "model vars", "diff", "real getSizeOf", "model getSizeOf"],
      probes.probes.map((r) => { const m = byName.get(r.name); return [r.name, r.vars, m?.vars, relDiff(m?.vars, r.vars), r.sizeOf, m?.sizeOf]; })));
    if (probes.errors.length) out.push("probe errors: " + probes.errors.join(" | "));
    out.push("");
  }
  if (fw) {
    const byName = new Map(model.steps.map((s) => [s.name, s]));
    out.push(`== firmware release bundle as .bootcde, driven by the host library (pool ${opts.board}); vars in use after each step (after a GC); model instructions = model ms × ${model.mhz} MHz / ${CYCLES_PER_INSTRUCTION} CPI`);
    out.push(formatTable(["step", "real ok", "real vars", "real peak", "model vars", "vars diff", "real instr", "model instr", "instr diff", "note"],
      fw.steps.map((s) => { const m: ModelStep | undefined = byName.get(s.name); return [s.name, s.ok ? "ok" : "FAIL", s.vars, s.peak, m?.vars, relDiff(m?.vars, s.vars), s.instructions, m?.instructions, relDiff(m?.instructions, s.instructions), s.note ?? m?.note ?? ""]; })));
    out.push(`callgrind idle loop: ${fw.idlePerSecond ?? "-"} instructions/s of wall time (included in each step's count)`);
  }
  return out.join("\n");
}

async function main(argv: string[]): Promise<number> {
  const opts = parseCliArgs(argv);
  const bin = resolve(opts.espruino);
  if (!existsSync(bin)) throw new Error(`--espruino ${bin}: no such file (build one with scripts/real-espruino/build.sh)`);
  const bundleFrom = opts.bundle ?? "firmware/dist/keycarrier.js";
  const bundle = opts.bundle ? readFileSync(resolve(opts.bundle), "latin1") : releaseBundle();
  // a chunked bundle (keycarrier.nfc.js) loads its chunk files from Storage: uploaded with it, from its directory
  const chunks = opts.bundle ? chunkFiles(dirname(resolve(opts.bundle)), opts.bundle).map((c) => ({ storageName: c.storageName, code: c.code })) : [];
  if (chunks.length) log(`calibrate: chunk files ${chunks.map((c) => `${c.storageName} (${c.code.length} B)`).join(", ")} go into Storage with the bundle`);
  const prov = provenance(bin, bundle, bundleFrom);
  log(`calibrate: ${bin} (${(prov.interpreter as { version: string }).version}, ${(prov.interpreter as { board: string }).board}), model profile ${opts.board}`);
  const model = await modelFigures(opts.board, { probes: opts.only.has("probes"), firmware: opts.only.has("firmware"), bundle, chunks });
  const corpus = opts.only.has("corpus") ? await runCorpus(bin, opts.board) : undefined;
  const probes = opts.only.has("probes") ? await runProbes(bin) : undefined;
  let fw: FirmwareSession | undefined;
  if (opts.only.has("firmware")) {
    fw = new FirmwareSession(bin, opts, bundle, chunks);
    await fw.run();
  }
  console.log(report(opts, model, corpus, probes, fw));
  if (opts.write && chunks.length) throw new Error("calibrate: --write commits the measured bundle as one fixture file; a bundle with chunk files cannot be committed that way yet (run without --write)");
  if (opts.write) {
    // the bundle measured is committed beside the data, and the model side of the tests runs it
    const fixture = writeFixture(bundle, dirname(resolve(opts.write)));
    const data = {
      provenance: { ...prov, firmware: { ...(prov.firmware as object), fixture }, callgrind: opts.callgrind, modelProfile: opts.board },
      ...(corpus ? { corpus } : {}),
      ...(probes ? { probes: { source: "board/calibration/probes.js", real: probes.probes, model: model.probes, errors: probes.errors } } : {}),
      ...(fw ? {
        firmware: {
          idleInstructionsPerSecond: fw.idlePerSecond, steps: fw.steps, model: model.steps, modelCyclesPerInstruction: CYCLES_PER_INSTRUCTION, modelMhz: model.mhz,
        },
      } : {}),
    };
    writeFileSync(resolve(opts.write), JSON.stringify(data, null, 1) + "\n");
    log(`calibrate: wrote ${resolve(opts.write)}`);
  }
  return 0;
}

if (process.argv[1] && resolve(process.argv[1]) === resolve(new URL(import.meta.url).pathname)) {
  main(process.argv.slice(2)).then((c) => { process.exitCode = c; }, (e: unknown) => {
    console.error("calibrate: " + (e instanceof Error ? e.message : String(e)));
    process.exitCode = 2;
  });
}
