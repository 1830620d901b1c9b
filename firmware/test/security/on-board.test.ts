// The store and security modules compiled by the project pipeline to Espruino ES5, passed through
// the compatibility gate, and run on the VirtualBoard (puckjs) against its own Storage, crypto and
// flash model — the code a board runs, not the TypeScript. VERIFY_PIN is metered by the cost model.
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

  it("personalises, verifies, survives a reboot, self-destructs, with Espruino's Storage and crypto", () => {
    const { vb, run } = boot();
    run("var k = KC.start(KC.defaults);");
    expect(run("k.setPin('482913').status")).toBe(0);
    expect(run("k.verifyPin('000000').triesLeft")).toBe(9);
    const image = vb.flash.snapshot();
    const b2 = boot("puckjs", image);
    b2.run("var k = KC.start(KC.defaults);");
    expect(b2.run("k.state()")).toBe(1);
    expect(b2.run("k.triesLeft()")).toBe(9);
    expect(b2.run("k.verifyPin('482913').status")).toBe(0);
    expect(b2.run("k.masterKey().length")).toBe(32);
    for (let i = 0; i < 10; i++) b2.run("k.verifyPin('111111'); 0"), b2.vb.advance(61_000);
    expect(b2.run("k.state()")).toBe(3);
  });

  it("VERIFY_PIN device time on puckjs by the cost model (≲ 300 ms)", () => {
    const { meter, run } = boot();
    run("var k = KC.start(KC.defaults); k.setPin('482913');");
    const profile = loadProfile("puckjs");
    const right = meter.estimate(profile, meter.measure("verify right", () => run("k.verifyPin('482913')")).record.counts).ms;
    const wrong = meter.estimate(profile, meter.measure("verify wrong", () => run("k.verifyPin('000000')")).record.counts).ms;
    console.log(`VERIFY_PIN on puckjs (cost model, ${run("KC.defaults.pinIterations")} rounds): right ${right.toFixed(0)} ms, wrong ${wrong.toFixed(0)} ms`);
    expect(right).toBeLessThan(300);
    expect(wrong).toBeLessThan(300);
  });
});
