// Boots the release bundle (built by the project pipeline from firmware/src/main.ts) in a node:vm
// realm with Espruino's missing built-ins removed and the Espruino globals the firmware uses
// faked, then talks wire protocol v1 to it over the fake USB.
import vm from "node:vm";
import { beforeAll, describe, expect, it } from "vitest";
import { compile } from "../../build/pipeline.ts";
import { decode, encode, text } from "../../src/codec.ts";
import { crc32, parseFrame, request } from "./harness.ts";
import { frameVectors, hexToBytes } from "../protocol/vectors.ts";

let bundle = "";
beforeAll(async () => {
  bundle = (await compile({ entry: "firmware/src/main.ts", minify: true })).code;
}, 60_000);

interface Booted { printed: string[]; written: string[]; send(bytes: string): void; fire(): void; consoleMoves: unknown[][]; timers: Map<number, () => void> }

function boot(opts: { usb?: boolean; crypto?: boolean } = {}): Booted {
  const printed: string[] = [];
  const written: string[] = [];
  const consoleMoves: unknown[][] = [];
  const timers = new Map<number, () => void>();
  let onData: ((s: string) => void) | null = null;
  let nextTimer = 1;
  const sandbox: Record<string, unknown> = {
    print: (s: unknown) => { printed.push(String(s)); },
    getSerial: () => "c0ffee00-12345678",
    process: { env: { BOARD: "PICO_R1_3", VERSION: "2v29" } },
    E: {
      CRC32: (s: string) => crc32(s),
      setConsole: (...args: unknown[]) => { consoleMoves.push(args); },
    },
    setTimeout: (fn: () => void) => { const id = nextTimer++; timers.set(id, fn); return id; },
    clearTimeout: (id: unknown) => {
      if (id === undefined) throw new Error("clearTimeout(undefined) throws on Espruino");
      timers.delete(id as number);
    },
    require: (name: string) => {
      if (name === "Storage") return { getFree: () => 40960 };
      if (name === "crypto" && opts.crypto) return { SHA256: () => new ArrayBuffer(32), AES: {} };
      throw new Error("Module " + name + " not found");
    },
  };
  if (opts.usb !== false) {
    sandbox.USB = {
      on: (ev: string, fn: (s: string) => void) => { if (ev === "data") onData = fn; },
      write: (s: string) => { written.push(s); },
    };
  }
  const ctx = vm.createContext(sandbox);
  // Espruino 2v29 has none of these (facts §1/§10): the bundle must not need them.
  vm.runInContext("delete Map; delete Set; delete WeakMap; delete Symbol; delete Reflect; delete Proxy; delete Number.isInteger; delete Array.from; delete Object.freeze;", ctx);
  vm.runInContext(bundle, ctx, { filename: "keycarrier.js" });
  return {
    printed, written, consoleMoves, timers,
    send(bytes) { if (!onData) throw new Error("the bundle registered no USB data handler"); onData(bytes); },
    fire() { for (const [id, fn] of [...timers]) { timers.delete(id); fn(); } },
  };
}

describe("release bundle on a faked Espruino", () => {
  it("boots: banner, console moved off USB with force, USB handler registered", () => {
    const b = boot();
    expect(b.printed.join("\n")).toContain("KeyCarrier 0.1.0 on PICO_R1_3");
    expect(b.consoleMoves).toEqual([[null, { force: true }]]);
    b.send(hexToBytes(frameVectors.valid[0]!.hex));
    expect(b.written).toHaveLength(1);
  });

  it("answers INFO with the board's identity and capabilities", () => {
    const b = boot({ crypto: true });
    b.send("\r\nEspruino banner noise\r\n>" + request(7, 0x01, "\xa0"));
    const r = parseFrame(b.written[0]!);
    expect(r).toMatchObject({ seq: 7, code: 0, type: 1, crcOk: true });
    const d = decode(r.body);
    expect(d.ok && d.value).toEqual({ 1: text("0.1.0"), 2: [1, 0], 3: text("PICO_R1_3"), 4: text("c0ffee00-12345678"), 5: 0, 6: 0x0d, 7: 40960, 8: 512 });
  });

  it("without a crypto module INFO reports USB only", () => {
    const b = boot({ crypto: false });
    b.send(request(1, 0x01, "\xa0"));
    const d = decode(parseFrame(b.written[0]!).body);
    expect(d.ok && (d.value as Record<number, unknown>)[6]).toBe(0x01);
  });

  it("PING echoes 500 bytes of every value, fed in 7-byte chunks; a retransmission is replayed", () => {
    const b = boot();
    let data = "";
    for (let i = 0; i < 500; i++) data += String.fromCharCode((i * 7) & 255);
    const req = request(200, 0x02, encode({ 1: data }));
    for (let i = 0; i < req.length; i += 7) b.send(req.slice(i, i + 7));
    b.send(req);
    expect(b.written).toHaveLength(2);
    expect(b.written[1]).toBe(b.written[0]);
    const d = decode(parseFrame(b.written[0]!).body);
    expect(d.ok && d.value).toEqual({ 1: data });
  });

  it("a truncated frame is dropped on the timer, and the link still answers", () => {
    const b = boot();
    b.send(request(1, 0x01, "\xa0").slice(0, 6));
    expect(b.timers.size).toBe(1);
    b.fire();
    b.send(request(2, 0x01, "\xa0"));
    expect(b.written.map((f) => parseFrame(f).seq)).toEqual([2]);
  });

  it("a board without USB boots, says so and starts no link", () => {
    const b = boot({ usb: false });
    expect(b.printed.join("\n")).toMatch(/no USB/);
    expect(b.consoleMoves).toEqual([]);
  });
});
