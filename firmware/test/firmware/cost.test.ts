// Estimated device time for the link's hot path, from the project's cost model
// (board/src/cost): the release bundle is instrumented and run with metered natives.
import { readFileSync } from "node:fs";
import { beforeAll, describe, expect, it } from "vitest";
import { compile } from "../../build/pipeline.ts";
import { CostMeter, runMetered } from "../../../board/src/cost/index.ts";
import { encode } from "../../src/codec.ts";
import { crc32, parseFrame, request } from "./harness.ts";

const nrf52840 = JSON.parse(readFileSync(new URL("../../../board/boards/nrf52840.json", import.meta.url), "utf8"));
let bundle = "";
beforeAll(async () => { bundle = (await compile({ entry: "firmware/src/main.ts", minify: true })).code; }, 60_000);

function bootMetered() {
  const meter = new CostMeter();
  const written: string[] = [];
  let onData: (s: string) => void = () => { throw new Error("no USB handler"); };
  runMetered(bundle, {
    meter,
    globals: {
      print: () => {}, getSerial: () => "c0ffee00-12345678", process: { env: { BOARD: "NRF52840DK" } },
      E: { CRC32: (s: string) => { meter.native("E.CRC32", s.length); return crc32(s); }, setConsole: () => {} },
      setTimeout: () => 1, clearTimeout: () => {},
      require: (n: string) => { if (n === "Storage") return { getFree: () => { meter.native("Storage.getFree", 0); return 40960; } }; throw new Error("no " + n); },
      USB: { on: (_: string, fn: (s: string) => void) => { onData = fn; }, write: (s: string) => { meter.native("USB.write", s.length); written.push(s); } },
    },
  });
  return { meter, written, send: (s: string) => onData(s) };
}

function measure(label: string, frame: string, chunks = 1, warmUp?: string) {
  const b = bootMetered();
  if (warmUp) b.send(warmUp);
  b.written.length = 0;
  b.meter.reset();
  const step = Math.ceil(frame.length / chunks);
  for (let i = 0; i < frame.length; i += step) b.send(frame.slice(i, i + step));
  expect(b.written).toHaveLength(1);
  expect(parseFrame(b.written[0]!).code).toBe(0);
  const est = b.meter.estimate(nrf52840);
  console.log(`[cost] ${label}: ~${est.ms.toFixed(1)} ms on nrf52840 (${JSON.stringify(est.breakdown)})`);
  return est.ms;
}

describe("estimated device time per request (nrf52840 profile)", () => {
  it("INFO, PING 16 B and PING 500 B stay well below the 100 ms authorisation budget", () => {
    const firstInfo = measure("first INFO after boot (encodes the constant fields)", request(1, 1, "\xa0"));
    expect(firstInfo).toBeLessThan(200);
    const info = measure("INFO", request(1, 1, "\xa0"), 1, request(0, 1, "\xa0"));
    const ping16 = measure("PING 16 B", request(2, 2, encode({ 1: "0123456789abcdef" })));
    const ping500 = measure("PING 500 B", request(3, 2, encode({ 1: "z".repeat(500) })));
    const ping500chunked = measure("PING 500 B in 64-byte chunks", request(4, 2, encode({ 1: "z".repeat(500) })), 8);
    for (const ms of [info, ping16, ping500]) expect(ms).toBeLessThan(50);
    expect(ping500chunked).toBeLessThan(100); // ~6 ms per extra chunk (append, scan, timer re-arm)
    // Byte work is native: 30x the payload must not cost anywhere near 30x the time.
    expect(ping500).toBeLessThan(ping16 * 3);
  });
});
