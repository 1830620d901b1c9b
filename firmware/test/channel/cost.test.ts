// Device cost of the channel: the firmware channel compiled by the real ES5 pipeline, run on the
// virtual Puck.js with native crypto behind createEspruinoPrimitives, metered by the cost model
// (board/docs/cost-model.md; estimates good to about ±2×). The platform end is the host library.
import { beforeAll, describe, expect, it } from "vitest";
import { fileURLToPath } from "node:url";
import { compile } from "../../build/pipeline.ts";
import { checkBundle } from "../../build/gate.ts";
import { VirtualBoard } from "../../../board/src/virtual-board.ts";
import { loadProfile } from "../../../board/src/profiles.ts";
import { CostMeter } from "../../../board/src/cost/meter.ts";
import { diversifyCarrierKeys } from "../../../host/src/channel/keys.ts";
import { PlatformChannel } from "../../../host/src/channel/session.ts";

const entry = fileURLToPath(new URL("./fixtures/cost-entry.ts", import.meta.url));
const bin = (b: Uint8Array): string => Buffer.from(b).toString("latin1");
const unbin = (s: string): Uint8Array => Uint8Array.from(Buffer.from(s, "latin1"));

let bundle = "";
beforeAll(async () => {
  bundle = (await compile({ entry, minify: true, sourcemap: false })).code;
}, 60000);

interface Costs { [step: string]: { ms: number; native: number; js: number; calls: Record<string, number> } }

function runOnBoard(board: string) {
  const meter = new CostMeter();
  const vb = new VirtualBoard({ board, cost: meter });
  vb.powerOn();
  const profile = loadProfile(board);
  const run = (src: string): unknown => {
    const r = vb.evaluate(meter.prepare(src, "cost-test"));
    if (!r.ok) throw r.error;
    return r.value;
  };
  const costs: Costs = {};
  const step = <T>(label: string, src: string): T => {
    const { result, record } = meter.measure(label, () => run(src));
    const e = meter.estimate(profile, record.counts);
    const calls: Record<string, number> = {};
    for (const [k, v] of Object.entries(record.counts.native)) calls[k] = v.calls;
    costs[label] = { ms: +e.ms.toFixed(2), native: +e.breakdown.native.toFixed(2), js: +(e.ms - e.breakdown.native).toFixed(2), calls };
    return result as T;
  };
  run(bundle);

  const imk = new Uint8Array(32).fill(0x11);
  const carrierId = unbin("KC-CARRIER-00001");
  const platformId = unbin("KC-PLATFORM-0001");
  const keys = diversifyCarrierKeys(imk, carrierId);
  const platform = new PlatformChannel({ channelKey: keys.channelKey, carrierId, platformId });
  const setup = { carrierId: bin(carrierId), platformId: bin(platformId), channelKey: bin(keys.channelKey), cryptogramKey: bin(keys.cryptogramKey) };
  step("setup (static key pads)", `var b = kcBench.setup(${JSON.stringify(setup)}); 0`);

  const np = platform.begin();
  const opened = step<{ status: number; carrierId: string; carrierNonce: string; carrierProof: string }>("CHANNEL_OPEN handler core", `b.channel.open(${JSON.stringify(bin(np))})`);
  expect(opened.status).toBe(0);
  const proof = platform.accept({ carrierId: unbin(opened.carrierId), carrierNonce: unbin(opened.carrierNonce), carrierProof: unbin(opened.carrierProof) });
  expect(step<{ status: number }>("CHANNEL_CONFIRM handler core", `b.channel.confirm(${JSON.stringify(bin(proof))})`).status).toBe(0);

  const request = new Uint8Array(100).map((_, i) => i);
  const sealed = platform.seal(request);
  const unwrapped = step<{ status: number; plaintext: string }>("unwrap 100 B", `var u = b.channel.unwrap(${JSON.stringify(bin(sealed))}); u`);
  expect(unwrapped.status).toBe(0);
  expect(unbin(unwrapped.plaintext)).toEqual(request);
  const reply = step<string>("wrap 100 B", `b.channel.wrap(u.plaintext)`);
  expect(platform.open(unbin(reply))).toEqual(request);

  const sign = step<string>("cryptogram", `b.signer.sign({carrierId: ${JSON.stringify(setup.carrierId)}, orderId: "ORDER-0001", merchantId: "MERCHANT-42", amount: 123456, currency: "EUR", atc: 7})`);
  expect(sign.length).toBe(16);
  return costs;
}

describe("channel cost on the virtual board (cost model)", () => {
  it("the compiled channel passes the Espruino compatibility gate", () => {
    expect(checkBundle(bundle).map((f) => `${f.rule}: ${f.message}`)).toEqual([]);
  });

  it("puckjs: unwrap + wrap of 100 B use 7 native crypto calls together and no per-byte JavaScript", () => {
    const costs = runOnBoard("puckjs");
    console.log("channel cost estimate, puckjs (ms):\n" + Object.entries(costs).map(([k, v]) => `  ${k}: ${v.ms} (native ${v.native}, JS ${v.js}) ${JSON.stringify(v.calls)}`).join("\n"));
    const unwrap = costs["unwrap 100 B"]!, wrap = costs["wrap 100 B"]!;
    // unwrap: HMAC, one ECB (both message keys + the blinded tags), CTR; wrap: CTR, HMAC.
    expect(unwrap.calls).toEqual({ SHA256: 2, "AES.encrypt": 2, "E.toString": 4 });
    expect(wrap.calls).toEqual({ SHA256: 2, "AES.encrypt": 1, "E.toString": 3 });
    // No byte loop: a 100-byte JS XOR alone would be ~55 ms (facts §3: 256 B ≈ 140 ms); what JS
    // remains is a fixed ~40-60 statements and calls per message (and their source text, which
    // the model charges since issue #12), independent of the length.
    expect(unwrap.js).toBeLessThan(25);
    expect(wrap.js).toBeLessThan(25);
    expect(unwrap.ms + wrap.ms).toBeLessThan(80);
  });

  it("pico: the same run works on the Pico profile", () => {
    const costs = runOnBoard("pico");
    console.log("channel cost estimate, pico (ms): " + Object.entries(costs).map(([k, v]) => `${k} ${v.ms}`).join("; "));
    expect(costs["unwrap 100 B"]!.ms + costs["wrap 100 B"]!.ms).toBeLessThan(80);
  });
});

