// Where the device time of the payment flow goes, per stage of the per-message path: the RELEASE
// bundle runs on a metered virtual nRF52840 over USB (as the bench's payment section does), and
// each metered site is attributed to its TypeScript source function through the release source
// map. For finding what to cut on the sealed-message path (docs/CHANNEL.md §8).
//   npx tsx bench/profile-payment.ts [--lines=N] [--after=N]
// --after=N authorizes N orders first (unmetered), so the profiled PAY runs with N kept log entries
// and its caches warm (8 or more: a full log ring, the steady state).
// The release bundle is one line; it is split after every `;` and `{` token (a newline there never
// changes the meaning), so the meter's per-line sites become per-statement sites.
import { readFileSync } from "node:fs";
import path from "node:path";
import * as acorn from "acorn";
import { TraceMap, originalPositionFor } from "@jridgewell/trace-mapping";
import { compile, REPO_ROOT } from "../firmware/build/pipeline.ts";
import { VirtualBoard } from "../board/src/virtual-board.ts";
import { CostMeter } from "../board/src/cost/meter.ts";
import { loadProfile } from "../board/src/profiles.ts";
import { CarrierRig, CMD, payOrderBody, platformVerdict, transportIdentity, TEST_PIN_OPTIONS } from "../firmware/test/applets/carrier-harness.ts";
import { Platform } from "../host/src/platform/service.ts";
import { personaliseFromPlatform } from "./context.ts";
import type { CborMap } from "../host/src/codec.ts";

const PIN = "482913";
const shownLines = Number(process.argv.find((a) => a.startsWith("--lines="))?.slice(8) ?? 15);
const paidBefore = Number(process.argv.find((a) => a.startsWith("--after="))?.slice(8) ?? 0);

const release = await compile({ entry: "firmware/src/main.ts", minify: true, sourcemap: true });
const cuts: number[] = [];
for (const t of acorn.tokenizer(release.code, { ecmaVersion: 5 })) if (t.type.label === ";" || t.type.label === "{") cuts.push(t.end);
let split = "";
let last = 0;
for (const c of cuts) { split += release.code.slice(last, c) + "\n"; last = c; }
split += release.code.slice(last);
const splitLines = split.split("\n");
const sourceMap = new TraceMap(release.map);

// The source function a split line comes from ("codec.ts:readItem").
const sources: Record<string, string[]> = {};
const NOT_A_NAME = /^(if|for|while|switch|catch|else|return|function)$/;
function sourceOf(line: number): string {
  const column = line === 1 ? 0 : cuts[line - 2]!;
  const pos = originalPositionFor(sourceMap, { line: 1, column });
  if (!pos.source) return "?";
  const file = pos.source.replace(/^(\.\.\/)+/, "");
  const text = (sources[file] ??= readFileSync(path.join(REPO_ROOT, file), "utf8").split("\n"));
  for (let l = (pos.line ?? 1) - 1; l >= 0; l--) {
    const m = /function\s+([\w$]+)\s*\(|^\s*([\w$]+)\s*[:=]\s*function|^\s{2,6}([\w$]+)\s*\([^)]*\)\s*(?::[^{]*)?\{\s*$/.exec(text[l]!);
    const name = m && (m[1] ?? m[2] ?? m[3]);
    if (name && !NOT_A_NAME.test(name)) return file.replace(/^firmware\/src\//, "") + ":" + name;
  }
  return file.replace(/^firmware\/src\//, "");
}

// The stages of one sealed message (docs/CHANNEL.md §8).
function stageOf(where: string): string {
  const [file, fn] = where.split(":");
  if (file === "link.ts" || fn === "crc32" || fn === "usbWrite") return "link";
  if (file === "dispatch.ts" || file === "channel/commands.ts" || file === "main.ts") return "dispatch";
  if (file === "codec.ts") return /^(encodeItem|head|encode|isText|encodeEntries)$/.test(fn ?? "") ? "cbor encode" : "cbor decode";
  if (file!.startsWith("channel/channel") || file!.startsWith("crypto/") || file === "store/bytes.ts") return "channel JS";
  return "handler";
}
const NATIVE_STAGE: Record<string, string> = { "E.CRC32": "link", "USB.write": "link", SHA256: "channel natives", "AES.encrypt": "channel natives", "E.toString": "channel natives" };

const meter = new CostMeter();
const board = new VirtualBoard({ board: "nrf52840", seed: 9, cost: meter });
board.powerOn();
meter.attachFlash(board.flash);
const booted = board.evaluate(meter.prepare(split, "boot"));
if (!booted.ok) throw booted.error;
board.runUntilIdle(5_000);
// The rig's own boot runs the cached release bundle; this one needs the split bundle's line numbers.
const rig = new (CarrierRig as unknown as new (b: VirtualBoard, m: CostMeter) => CarrierRig)(board, meter);
await rig.connect();
// as the factory does (and CarrierRig.boot for a fresh board): PROVISION writes kc.tk, without which
// no transport session opens and PERSONALISE cannot run
const provisioned = await rig.outer(CMD.PROVISION, new Map([[1, transportIdentity(rig.serial).channelKey]]));
if (provisioned.status !== 0) throw new Error(`PROVISION status ${provisioned.status}: ${String(provisioned.body.get(1))}`);
const profile = loadProfile("puckjs");

const add = (m: Record<string, number>, k: string, v: number): void => { m[k] = (m[k] ?? 0) + v; };
const fixed = (m: Record<string, number>): string => Object.entries(m).sort((a, b) => b[1] - a[1]).map(([k, v]) => `${k} ${v.toFixed(1)}`).join(", ");

// labels: the event-loop entries that count (the request handler, and for PAY the button callback
// that decides). Hot lines are taken before the rig runs the timers (LED blink, link timeouts) —
// except with a button callback, whose work runs inside the rig's timer run: then they include the
// LED blinking of the trusted UI.
async function step<T>(name: string, run: () => Promise<T>, labels: string[] = ["USB.data"]): Promise<T> {
  meter.reset();
  let hot: { line: number; hits: number; ms: number }[] | undefined;
  const runUntilIdle = board.runUntilIdle.bind(board);
  if (labels.length === 1) board.runUntilIdle = (ms: number) => { hot ??= meter.hotspots(profile, 1e6); return runUntilIdle(ms); };
  const result = await run();
  board.runUntilIdle = runUntilIdle;
  report(name, labels, hot);
  return result;
}

// Prints what the meter holds since its last reset: the scopes labelled `labels` and the hot lines
// (`hot` when taken earlier, e.g. before the timers ran).
function report(name: string, labels: string[], hot?: { line: number; hits: number; ms: number }[]): void {
  hot ??= meter.hotspots(profile, 1e6);
  const stages: Record<string, number> = {};
  const functions: Record<string, number> = {};
  const nativeCalls: Record<string, number> = {};
  let total = 0;
  for (const scope of meter.scopes) {
    if (!labels.includes(scope.label)) continue;
    const e = meter.estimate(profile, scope.counts);
    total += e.ms;
    for (const [kind, ms] of Object.entries(e.breakdown.nativeByKind)) add(stages, NATIVE_STAGE[kind] ?? "other natives", ms);
    for (const [kind, tally] of Object.entries(scope.counts.native)) add(nativeCalls, kind, tally.calls);
  }
  for (const h of hot ?? []) { const where = sourceOf(h.line); add(functions, where, h.ms); add(stages, stageOf(where), h.ms); }
  console.log(`\n== ${name}: ${total.toFixed(1)} ms (puckjs calibration)`);
  console.log(`stages: ${fixed(stages)}`);
  const parts: Record<string, number> = {};
  for (const scope of meter.scopes) {
    if (!labels.includes(scope.label)) continue;
    for (const [k, v] of Object.entries(meter.estimate(profile, scope.counts).breakdown)) if (typeof v === "number") add(parts, k, v);
  }
  console.log(`cost kinds: ${fixed(parts)}`);
  console.log(`native calls: ${JSON.stringify(nativeCalls)}`);
  console.log(`source functions: ${fixed(Object.fromEntries(Object.entries(functions).filter(([, v]) => v >= 1)))}`);
  for (const h of (hot ?? []).slice(0, shownLines)) console.log(`${h.ms.toFixed(2).padStart(7)} ${String(h.hits).padStart(4)}  ${sourceOf(h.line).padEnd(32)} ${splitLines[h.line - 1]!.trim().slice(0, 100)}`);
}

const platform = await Platform.open({ pin: TEST_PIN_OPTIONS });
try {
  const { cid, pid, keys } = await personaliseFromPlatform(rig, platform, PIN);
  const merchant = platform.registerMerchant({ name: "Bench" });
  await rig.outer(CMD.INFO, new Map());
  await step("INFO (personalised, steady)", () => rig.outer(CMD.INFO, new Map()));
  const channel = await step("channel open (OPEN + CONFIRM)", () => rig.openChannel({ carrierId: cid, platformId: pid, channelKey: keys.channelKey }));
  const newOrder = (): CborMap => {
    const code = platform.issuePaymentCode({ merchantId: merchant.merchantId, amount: 1234, currency: "EUR" });
    const f = platform.createOrder({ code: code.code }).cryptogramFields;
    return payOrderBody(f);
  };
  for (let i = 0; i < paidBefore; i++) {
    const o = newOrder();
    const earlier = await rig.pay(channel, o, platformVerdict(platform, rig, channel, Buffer.from(cid).toString("hex"), o, PIN));
    if (earlier.status !== 0) throw new Error(`profile: PAY ${i + 1} of --after failed with status ${earlier.status}`);
  }
  const order = newOrder();
  const verdict = platformVerdict(platform, rig, channel, Buffer.from(cid).toString("hex"), order, PIN);
  const after = paidBefore > 0 ? `, after ${paidBefore} authorizations` : "";
  // The request (until its reply is deferred) and the decision (the button callback) apart.
  // (no reset at the press: the request's event-loop entry is still open there)
  meter.reset();
  let atPress: Map<number, { hits: number; ms: number }> | undefined;
  // (the request's hot lines also hold the timers that ran before the press: the preparation the
  // request leaves behind and the LED blinking; the totals are per event-loop entry)
  const paid = await rig.pay(channel, order, verdict, () => {
    report(`PAY request (hot lines: + the timers before the press)${after}`, ["USB.data"]);
    report(`timers before the press (the preparation, LED blinking)${after}`, ["timer"], []);
    atPress = new Map(meter.hotspots(profile, 1e6).map((h) => [h.line, h]));
    rig.press();
  });
  const decisionHot = meter.hotspots(profile, 1e6).map((h) => {
    const b = atPress!.get(h.line);
    return { line: h.line, hits: h.hits - (b?.hits ?? 0), ms: h.ms - (b?.ms ?? 0) };
  }).filter((h) => h.hits > 0).sort((x, y) => y.ms - x.ms);
  report(`PAY decision (press → sealed reply; hot lines include the UI's LED timers)${after}`, ["watch"], decisionHot);
  if (paid.status !== 0) throw new Error(`profile: PAY failed with status ${paid.status}`);
} finally {
  board.dispose();
  platform.close();
}
