// Device-side cost of one request, from the project's cost model (board/src/cost): the firmware
// bundle boots from Storage on a metered virtual board of each profile and requests arrive on USB —
// including the Puck.js, which has no USB (a stand-in port for its console: "this code path on that
// board's calibration and pool", not a USB claim).
import { crc32 as zlibCrc32 } from "node:zlib";
import { CostMeter, type CostEstimate } from "../board/src/cost/index.ts";
import { VirtualBoard } from "../board/src/virtual-board.ts";
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
  /** Whether the board ran out of memory since it booted. */
  outOfMemory(): boolean;
}

/**
 * Boots `bundle` from Storage on a metered virtual board of `profile` (a board without USB gets a USB
 * port as a stand-in for its console, so the same link code path runs; every figure is the cost
 * model's: board/docs/cost-model.md). send() delivers host bytes as one USB 'data' event.
 */
export function bootMetered(bundle: string, profile: BoardProfile, chunks: readonly { storageName: string; code: string }[] = []): MeteredDevice {
  const meter = new CostMeter();
  const board = new VirtualBoard({ board: profile.peripherals.usb ? profile : { ...profile, peripherals: { ...profile.peripherals, usb: true } }, cost: meter, seed: 9 });
  const written: string[] = [];
  // a chunked bundle's files (firmware/build/bundles.ts) next to it, as a flashed board holds them
  for (const c of chunks) board.storage.write(c.storageName, c.code);
  board.storage.write(".bootcde", bundle);
  board.powerOn();
  board.runUntilIdle(5_000);
  if (!/KeyCarrier/.test(board.transcript())) throw new Error(`bootMetered: the firmware did not boot on ${profile.id}: ${board.transcript().slice(0, 300)}`);
  board.usb.onData((bytes) => written.push(Buffer.from(bytes).toString("latin1")));
  return {
    meter, written,
    send: (s) => { board.usb.write(s); board.advance(1); },
    vars: () => board.memoryEstimate().total,
    outOfMemory: () => board.costEvents().some((e) => e.kind === "out-of-memory"),
  };
}

export interface RequestCost { ms: number; estimate: CostEstimate; response: string; vars: number }

/** Cost of one request frame delivered in `chunks` equal chunks, after `warmUp` frames. */
export function measureRequest(device: MeteredDevice, profile: BoardProfile, frame: string, chunks = 1): RequestCost {
  device.written.length = 0;
  device.meter.reset();
  const step = Math.ceil(frame.length / chunks);
  for (let i = 0; i < frame.length; i += step) device.send(frame.slice(i, i + step));
  // no reply (e.g. the board ran out of memory): reported as such by the caller, not thrown
  if (device.written.length > 1) throw new Error(`measureRequest: expected one response frame, got ${device.written.length}`);
  const estimate = device.meter.estimate(profile);
  return { ms: estimate.ms, estimate, response: device.written[0] ?? "", vars: device.vars() };
}
