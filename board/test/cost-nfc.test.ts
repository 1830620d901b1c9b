// The NFC frame budget (facts §7: a reply must start within FRAMEDELAYMAX ≈ 4.8 ms) applied to
// NFCrx handlers run instrumented: a 256-byte JS XOR is far over it (facts §3: ~140 ms), one
// native AES block fits (facts §3: ~3.6 ms).
import { describe, expect, it } from "vitest";
import { ecb } from "@noble/ciphers/aes.js";
import { CostMeter } from "../src/cost/meter.ts";
import { runMetered } from "../src/cost/sandbox.ts";
import { nfcFrameBudget, nfcFrameVerdict, NfcFrameBudgetExceeded, NFC_FRAME_BUDGET_MS } from "../src/cost/nfc-budget.ts";
import { loadProfile } from "../src/profiles.ts";

function board() {
  const meter = new CostMeter();
  const sent: Uint8Array[] = [];
  const globals = {
    // what the runtime offers: natives that report to the meter, as the virtual board's do
    AES: { encrypt(m: Uint8Array, k: Uint8Array) { meter.native("AES.encrypt", m.length); return ecb(k, { disablePadding: true }).encrypt(m).buffer; } },
    nfcSend(bytes: Uint8Array) { meter.native("NRF.nfcSend", bytes.length); sent.push(new Uint8Array(bytes)); },
  };
  const { context } = runMetered(`
    var key = new Uint8Array(16), pad = new Uint8Array(256), out = new Uint8Array(256);
    for (var i = 0; i < 16; i++) key[i] = i;
    function xorHandler(frame) {
      for (var i = 0; i < 256; i++) out[i] = frame[i] ^ pad[i];
      nfcSend(out.subarray(0, 16));
    }
    function aesHandler(frame) {
      nfcSend(new Uint8Array(AES.encrypt(frame.subarray(0, 16), key, { mode: "ECB" })));
    }`, { meter, globals });
  const call = (name: string, frame: Uint8Array) => () => (context[name] as (f: Uint8Array) => void)(frame);
  return { meter, sent, call };
}

describe("nfcFrameBudget", () => {
  const puck = loadProfile("puckjs");
  const frame = new Uint8Array(256).map((_, i) => i);

  it("fails a handler that XORs 256 bytes in JS, naming the cost", () => {
    const { meter, call } = board();
    let err: unknown;
    try { nfcFrameBudget(meter, puck, call("xorHandler", frame)); } catch (e) { err = e; }
    expect(err).toBeInstanceOf(NfcFrameBudgetExceeded);
    const e = err as NfcFrameBudgetExceeded;
    expect(e.estimate.ms).toBeGreaterThan(100);
    expect(e.message).toMatch(/over the 4\.8 ms frame delay.*elems/);
    expect(meter.lastScope("NFCrx")!.counts.loops).toBe(256);
  });

  it("passes a handler that does one native AES block, and returns its reply and time", () => {
    const { meter, sent, call } = board();
    const r = nfcFrameBudget(meter, puck, call("aesHandler", frame));
    expect(r.ms).toBeLessThanOrEqual(NFC_FRAME_BUDGET_MS);
    // the AES block alone is 20k instructions on 2v29 (issue #10): 0.39 ms at 1.25 CPI, 64 MHz
    expect(r.estimate.breakdown.nativeByKind["AES.encrypt"]).toBeCloseTo((20_000 * 1.25) / 64_000, 6);
    expect(r.ms).toBeGreaterThan(r.estimate.breakdown.nativeByKind["AES.encrypt"]!);
    expect(sent).toHaveLength(1);
    expect(Buffer.from(sent[0]!).toString("hex")).toBe(Buffer.from(ecb(new Uint8Array(16).map((_, i) => i), { disablePadding: true }).encrypt(frame.subarray(0, 16))).toString("hex"));
  });

  it("passes exceptions from the handler through unchanged", () => {
    const meter = new CostMeter();
    expect(() => nfcFrameBudget(meter, puck, () => { throw new Error("bad frame"); })).toThrow("bad frame");
  });
});

describe("nfcFrameVerdict (for the runtime's own NFCrx dispatch)", () => {
  it("judges a finished scope without throwing", () => {
    const puck = loadProfile("puckjs");
    const frame = new Uint8Array(256);
    const { meter, call } = board();
    const slow = meter.measure("NFCrx", call("xorHandler", frame)).record;
    const fast = meter.measure("NFCrx", call("aesHandler", frame)).record;
    expect(nfcFrameVerdict(meter, puck, slow).inTime).toBe(false);
    expect(nfcFrameVerdict(meter, puck, fast).inTime).toBe(true);
  });
});
