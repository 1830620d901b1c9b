// Device-side cost of one request, from the project's cost model (board/src/cost): the firmware
// bundle is instrumented and run in a metered sandbox whose Espruino globals are just enough for
// the USB link, so every board profile can be costed the same way — including the Puck.js, which
// has no USB (its figures are "this code path on that board's calibration", not a USB claim).
import { crc32 as zlibCrc32 } from "node:zlib";
import { CostMeter, estimateVars, globalNames, runMetered, type CostEstimate } from "../board/src/cost/index.ts";
import { builtinVars } from "../board/src/cost/builtins.ts";
import { INTERPRETER_BASELINE_VARS } from "../board/src/virtual-board.ts";
import type { BoardProfile } from "../board/src/profiles.ts";

export function crc32(bytes: string): number {
  return zlibCrc32(Buffer.from(bytes, "latin1")) >>> 0;
}

function u32(n: number): string {
  return String.fromCharCode((n >>> 24) & 255, (n >>> 16) & 255, (n >>> 8) & 255, n & 255);
}

/** A version-1 request frame (PROTOCOL.md §3.1) as a byte string. */
export function requestFrame(seq: number, command: number, body: string): string {
  const covered = "\xf5\x4b\x01\x00" + String.fromCharCode(seq & 255, command, body.length >> 8, body.length & 255) + body;
  return covered + u32(crc32(covered));
}

/** Canonical CBOR of PING's request `{1: bytes}` (PROTOCOL.md §7.2), independent of the firmware codec. */
export function pingBody(bytes: string): string {
  const n = bytes.length;
  const head = n < 24 ? String.fromCharCode(0x40 | n) : n < 256 ? "\x58" + String.fromCharCode(n) : "\x59" + String.fromCharCode(n >> 8, n & 255);
  return "\xa1\x01" + head + bytes;
}

export interface MeteredDevice {
  meter: CostMeter;
  written: string[];
  send(chunk: string): void;
  /** JsVars the firmware holds, counted as Espruino does (cost model, vars.ts). */
  vars(): number;
}

/** Boots `bundle` in a metered sandbox that looks like `profile`'s Espruino (plus a USB port). */
export function bootMetered(bundle: string, profile: BoardProfile): MeteredDevice {
  const meter = new CostMeter();
  const written: string[] = [];
  let onData: ((s: string) => void) | undefined;
  const caps: Record<string, unknown> = {};
  if (profile.crypto.sha256) caps["SHA256"] = () => new ArrayBuffer(32);
  if (profile.crypto.aes) caps["AES"] = {};
  const globals: Record<string, unknown> = {
    print: () => {}, getSerial: () => "c0ffee00-12345678", process: { env: { BOARD: profile.espruinoBoard } },
    E: { CRC32: (s: string) => { meter.native("E.CRC32", s.length); return crc32(s); }, setConsole: () => {} },
    setTimeout: () => 1, clearTimeout: () => {},
    require: (n: string) => {
      if (n === "Storage") return { getFree: () => { meter.native("Storage.getFree", 0); return profile.storage.bytes; } };
      if (n === "crypto" && Object.keys(caps).length) return caps;
      throw new Error("Module " + n + " not found");
    },
    USB: {
      on: (_: string, fn: (s: string) => void) => { onData = fn; },
      write: (s: string) => { meter.native("USB.write", s.length); written.push(s); },
    },
  };
  const { context } = runMetered("", { meter, globals });
  const builtins = globalNames(context);
  // runtime objects (E, USB, the crypto module, their methods) cost the firmware no vars of their own
  const runtime = new WeakSet<object>();
  const mark = (v: unknown, depth: number): void => {
    if (v === null || (typeof v !== "object" && typeof v !== "function") || runtime.has(v)) return;
    runtime.add(v);
    if (depth > 0) for (const k of Object.keys(v)) mark((v as Record<string, unknown>)[k], depth - 1);
  };
  for (const v of Object.values(globals)) mark(v, 2);
  mark(caps, 2);
  runMetered(bundle, { meter, context, filename: "keycarrier.js" });
  if (!onData) throw new Error("bootMetered: the firmware did not register USB.on('data'); did the bundle fail to boot?");
  const handler = onData;
  return {
    meter, written, send: (s) => handler(s),
    // counted as the virtual board counts them (cost-model.md "JsVars"): the USB listener ("#ondata"
    // + array + element) is the root that keeps the firmware's closures alive
    vars: () => estimateVars(context, {
      profile, exclude: builtins, functions: meter, activeCalls: meter.activeCalls(), isBuiltin: (o) => runtime.has(o),
      roots: [{ value: handler, holderVars: 4 }], builtinVars: builtinVars(meter.touched), baselineVars: INTERPRETER_BASELINE_VARS,
    }).total,
  };
}

export interface RequestCost { ms: number; estimate: CostEstimate; response: string; vars: number }

/** Cost of one request frame delivered in `chunks` equal chunks, after `warmUp` frames. */
export function measureRequest(device: MeteredDevice, profile: BoardProfile, frame: string, chunks = 1): RequestCost {
  device.written.length = 0;
  device.meter.reset();
  const step = Math.ceil(frame.length / chunks);
  for (let i = 0; i < frame.length; i += step) device.send(frame.slice(i, i + step));
  if (device.written.length !== 1) throw new Error(`measureRequest: expected one response frame, got ${device.written.length}`);
  const estimate = device.meter.estimate(profile);
  return { ms: estimate.ms, estimate, response: device.written[0]!, vars: device.vars() };
}
