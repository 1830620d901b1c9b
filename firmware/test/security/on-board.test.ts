// The store and security modules compiled by the project pipeline to Espruino ES5, passed through
// the compatibility gate, and run on the VirtualBoard (puckjs) against its own Storage, require("Flash"),
// crypto and flash model — the code a board runs, not the TypeScript. Counting a verdict is metered by the cost
// model (it replaced VERIFY_PIN's 28 stretching rounds: the PIN is checked online by the platform).
import { beforeAll, describe, expect, it } from "vitest";
import { compile } from "../../build/pipeline.ts";
import { checkBundle, formatFinding } from "../../build/gate.ts";
import { VirtualBoard } from "../../../board/src/virtual-board.ts";
import { CostMeter } from "../../../board/src/cost/meter.ts";
import { loadProfile } from "../../../board/src/profiles.ts";

let bundle = "";
let map = "";
beforeAll(async () => {
  const r = await compile({ entry: "firmware/test/security/fixtures/on-board.ts", minify: true });
  bundle = r.code;
  map = r.map;
}, 60_000);

function boot(board = "puckjs", flashImage?: Uint8Array) {
  const meter = new CostMeter();
  const vb = new VirtualBoard({ board, cost: meter, flashImage });
  // a stand-in firmware file, as on a board: the page store's reservation goes behind Storage's files
  if (flashImage === undefined) vb.storage.write(".bootcde", "//" + "-".repeat(20000));
  vb.powerOn();
  meter.attachFlash(vb.flash);
  const run = (src: string) => {
    const r = vb.evaluate(meter.prepare(src, "test"));
    if (!r.ok) throw r.error;
    return r.value;
  };
  run(bundle);
  return { vb, meter, run };
}

describe("store + security on the virtual board", () => {
  it("passes the Espruino compatibility gate", () => {
    const findings = checkBundle(bundle, { map });
    expect(findings.map(formatFinding)).toEqual([]);
  });

  it("personalises, counts verdicts, survives a reboot, self-destructs, with Espruino's Storage and crypto", () => {
    const { vb, run } = boot();
    run("var k = KC.start(KC.defaults);");
    expect(run("k.enrol().status")).toBe(0);
    expect(run("k.countVerdict(KC.verdict(1)).triesLeft")).toBe(9);
    const image = vb.flash.snapshot();
    const b2 = boot("puckjs", image);
    b2.run("var k = KC.start(KC.defaults);");
    expect(b2.run("k.state()")).toBe(1);
    expect(b2.run("k.triesLeft()")).toBe(9);
    expect(b2.run("k.countVerdict(KC.verdict(0)).status")).toBe(0);
    expect(b2.run("k.triesLeft()")).toBe(10);
    expect(b2.run("k.unwrapKey(k.wrapKey('" + "M".repeat(32) + "', '" + "p".repeat(32) + "')).length")).toBe(32);
    for (let i = 0; i < 10; i++) b2.run("k.countVerdict(KC.verdict(-1)); 0"), b2.vb.advance(61_000);
    expect(b2.run("k.state()")).toBe(3);
  });

  it("counting a verdict on puckjs by the cost model (was VERIFY_PIN ≈ 250 ms with 28 stretching rounds)", () => {
    const { meter, run } = boot();
    run("var k = KC.start(KC.defaults); k.enrol();");
    const profile = loadProfile("puckjs");
    const right = meter.estimate(profile, meter.measure("verdict OK", () => run("k.countVerdict(KC.verdict(0))")).record.counts).ms;
    const wrong = meter.estimate(profile, meter.measure("verdict WRONG", () => run("k.countVerdict(KC.verdict(1))")).record.counts).ms;
    console.log(`counting a PIN verdict on puckjs (cost model, flash writes included, MAC check not included): OK ${right.toFixed(0)} ms, WRONG ${wrong.toFixed(0)} ms`);
    expect(right).toBeLessThan(100);
    expect(wrong).toBeLessThan(100);
  });
});
