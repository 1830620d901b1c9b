// Test harness for the device link: a JS CRC-32 (Node's zlib, independent of the firmware), a manual
// timer queue standing in for setTimeout, and a parser for response frames.
import { crc32 as zlibCrc32 } from "node:zlib";
import { createDeviceLink, type DeviceLink, type HandlerReply } from "../../src/link.ts";

export function crc32(bytes: string): number {
  return zlibCrc32(Buffer.from(bytes, "latin1")) >>> 0;
}

export interface ManualTimers {
  set(fn: () => void, ms: number): unknown;
  clear(handle: unknown): void;
  pending(): number;
  // Fires every timer due within ms, in order, including ones set while firing.
  advance(ms: number): void;
  // Fires timers until none remain (bounded, so a wedge shows up as a failure, not a hang).
  runAll(limit?: number): number;
}

export function manualTimers(): ManualTimers {
  let now = 0;
  let nextId = 1;
  const queue: { id: number; at: number; fn: () => void }[] = [];
  function fireNext(until: number): boolean {
    queue.sort((a, b) => a.at - b.at || a.id - b.id);
    const t = queue[0];
    if (!t || t.at > until) return false;
    queue.shift();
    now = t.at;
    t.fn();
    return true;
  }
  return {
    set(fn, ms) { const id = nextId++; queue.push({ id, at: now + ms, fn }); return id; },
    clear(handle) {
      if (typeof handle !== "number") throw new Error("clearTimer got " + String(handle) + ": Espruino throws on clearTimeout(undefined)");
      const i = queue.findIndex((t) => t.id === handle);
      if (i >= 0) queue.splice(i, 1);
    },
    pending: () => queue.length,
    advance(ms) { const until = now + ms; while (fireNext(until)); now = until; },
    runAll(limit = 10_000) { let n = 0; while (fireNext(Infinity)) { if (++n > limit) throw new Error("timers never settle"); } return n; },
  };
}

export interface ParsedFrame { version: number; type: number; seq: number; code: number; body: string; crcOk: boolean }

export function parseFrame(frame: string): ParsedFrame {
  const b = Buffer.from(frame, "latin1");
  if (b[0] !== 0xf5 || b[1] !== 0x4b) throw new Error("no magic at frame start: " + b.toString("hex"));
  const len = b.readUInt16BE(6);
  if (b.length !== 12 + len) throw new Error(`frame length ${b.length} != 12 + ${len}`);
  const crcOk = crc32(frame.slice(0, 8 + len)) === b.readUInt32BE(8 + len);
  return { version: b[2]!, type: b[3]!, seq: b[4]!, code: b[5]!, body: frame.slice(8, 8 + len), crcOk };
}

export interface Rig {
  link: DeviceLink;
  timers: ManualTimers;
  written: string[];
  calls: { command: number; body: string }[];
}

export function rig(handle?: (command: number, body: string) => HandlerReply): Rig {
  const timers = manualTimers();
  const written: string[] = [];
  const calls: { command: number; body: string }[] = [];
  const link = createDeviceLink({
    write: (bytes) => { written.push(bytes); },
    crc32,
    setTimer: timers.set,
    clearTimer: timers.clear,
    handle: (command, body) => {
      calls.push({ command, body });
      return handle ? handle(command, body) : { status: 0, body: "\xa1\x01" + String.fromCharCode(0x40 + Math.min(body.length, 23)) + body.slice(0, 23) };
    },
  });
  return { link, timers, written, calls };
}

export function request(seq: number, command: number, body: string, version = 1): string {
  const covered = String.fromCharCode(0xf5, 0x4b, version, 0, seq, command, body.length >> 8, body.length & 255) + body;
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(covered));
  return covered + crc.toString("latin1");
}
