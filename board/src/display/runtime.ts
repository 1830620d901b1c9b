// The display hardware of a board profile with `peripherals.display` (an SSD1306 on I2C1) and the
// Espruino API the firmware drives it through: the `Graphics` class (graphics.ts), `I2C1`
// (setup, writeTo) and require("SSD1306") (the EspruinoDocs module, ssd1306-module.ts, run in the
// board context). The virtual board calls installDisplay() when it builds a context and keeps one
// DisplayHardware across reboots (the panel keeps its GDDRAM; a power cut clears it).
import type { Realm } from "../runtime/realm.ts";
import { GraphicsBuffer, GraphicsError, type FontName } from "./graphics.ts";
import { Ssd1306 } from "./ssd1306.ts";
import { frameToPng, frameToText, type Frame } from "./frame.ts";

export { SSD1306_MODULE_SOURCE } from "./ssd1306-module.ts";

/** A profile's display: an SSD1306 of width × height at address on I2C1's pins. */
export interface DisplaySpec { controller: "SSD1306"; width: number; height: number; bus: "I2C1"; address: number; scl: string; sda: string }

export const DEFAULT_I2C_BITRATE = 100000; // Espruino's I2C.setup default

export class DisplayHardware {
  readonly panel: Ssd1306;
  /** I2C1.setup's options while set up (undefined until then and after a reset). */
  i2c: { scl: string; sda: string; bitrate: number } | undefined;
  constructor(readonly spec: DisplaySpec) {
    this.panel = new Ssd1306({ width: spec.width, height: spec.height, address: spec.address });
  }
  /** Soft reset / reboot: the MCU's I2C peripheral is unconfigured; the panel keeps its state. */
  resetMcu(): void {
    this.i2c = undefined;
  }
  powerOff(): void {
    this.i2c = undefined;
    this.panel.powerOff();
  }
  frame(): Frame {
    return this.panel.visible();
  }
  png(scale = 2): Buffer {
    return frameToPng(this.frame(), scale);
  }
  text(): string {
    return frameToText(this.frame());
  }
}

export interface DisplayRuntimeDeps {
  native(kind: string, bytes: number, units?: number): void;
  err(message: string): Error;
  /** Marks an object the runtime made (ROM on a board: costs no vars). */
  markRuntime(v: unknown): void;
  /** Fonts this Espruino build has ("6x8" needs USE_FONT_6X8, a build option). */
  fonts: readonly FontName[];
}

/** Flattens writeTo's data arguments as Espruino's jsvIterateCallback does (numbers, strings, arrays, typed arrays). */
function flatten(args: unknown[], out: number[], err: (m: string) => Error): void {
  for (const a of args) {
    if (typeof a === "number" || typeof a === "boolean") out.push(Number(a) & 0xff);
    else if (typeof a === "string") for (let i = 0; i < a.length; i++) out.push(a.charCodeAt(i) & 0xff);
    else if (ArrayBuffer.isView(a)) { const v = a as unknown as ArrayLike<number>; for (let i = 0; i < v.length; i++) out.push(Number(v[i]) & 0xff); }
    else if (Array.isArray(a)) flatten(a, out, err);
    else if (a !== null && typeof a === "object" && Object.prototype.toString.call(a) === "[object ArrayBuffer]") for (const b of new Uint8Array(a as ArrayBuffer)) out.push(b);
    else throw err(`I2C1.writeTo: cannot send ${a === null ? "null" : typeof a} (numbers, strings, arrays or typed arrays)`);
  }
}

export function installDisplay(g: Record<string, unknown>, realm: Realm, hw: DisplayHardware, deps: DisplayRuntimeDeps): void {
  // Espruino's Object.length property answers an ArrayBuffer's byte length (src/jswrap_object.c
  // jswrap_object_length); the SSD1306 module's flip() loops over this.buffer.length. Defined here,
  // on display profiles, because that module is the only code relying on it so far.
  const abProto = realm.ctors.ArrayBuffer.prototype as unknown as Record<string, unknown>;
  if (!Object.prototype.hasOwnProperty.call(abProto, "length")) {
    Object.defineProperty(abProto, "length", { get(this: ArrayBuffer) { return this.byteLength; }, configurable: true });
  }
  // The bus pins as globals (D27, D26 on the DK layout), as the board's other pins are.
  for (const pin of [hw.spec.scl, hw.spec.sda]) {
    if (g[pin] !== undefined) continue;
    const o = realm.object();
    o["toString"] = () => pin;
    deps.markRuntime(o);
    g[pin] = o;
  }
  const pinName = (v: unknown): string | undefined => {
    if (v === undefined || v === null) return undefined;
    const name = String(v);
    return /^D\d{1,2}$/.test(name) ? name : undefined;
  };
  const state = new WeakMap<object, GraphicsBuffer>();
  const gfxOf = (self: unknown): GraphicsBuffer => {
    const b = self !== null && typeof self === "object" ? state.get(self) : undefined;
    if (!b) throw deps.err("Graphics method called on something that is not a Graphics instance");
    return b;
  };
  const num = (v: unknown, d = 0) => (v === undefined ? d : Math.trunc(Number(v)) || 0);
  const guard = <T>(f: () => T): T => {
    try {
      return f();
    } catch (e) {
      if (e instanceof GraphicsError) throw deps.err(e.message);
      throw e;
    }
  };

  // One prototype holding the natives (ROM on a board); an instance owns its buffer and state.
  const proto = realm.object();
  const method = (name: string, f: (b: GraphicsBuffer, ...a: unknown[]) => unknown) => {
    proto[name] = function (this: unknown, ...a: unknown[]) { return guard(() => f(gfxOf(this), ...a)); };
  };
  method("getWidth", (b) => b.width);
  method("getHeight", (b) => b.height);
  method("getBPP", (b) => b.bpp);
  const self = function (this: unknown) { return this; };
  // Graphics methods return the instance (chainable), as in jswrap_graphics.c.
  const chain = (name: string, f: (b: GraphicsBuffer, ...a: unknown[]) => void) => {
    proto[name] = function (this: unknown, ...a: unknown[]) { guard(() => f(gfxOf(this), ...a)); return self.call(this); };
  };
  chain("clear", (b, reset) => {
    if (reset) b.resetState();
    const px = b.clear();
    deps.native("Graphics.clear", Math.ceil(px / 8), px);
  });
  chain("setColor", (b, c) => { b.fg = colour(b, c); deps.native("Graphics.setColor", 0); });
  chain("setBgColor", (b, c) => { b.bg = colour(b, c); deps.native("Graphics.setColor", 0); });
  chain("setFont", (b, name, scale) => { b.setFont(name === undefined ? undefined : String(name), scale === undefined ? undefined : Number(scale), deps.fonts); deps.native("Graphics.setFont", 0); });
  chain("setFontAlign", (b, x, y) => { b.alignX = Math.sign(num(x, -1)) || 0; b.alignY = Math.sign(num(y, -1)) || 0; if (x === undefined) b.alignX = -1; if (y === undefined) b.alignY = -1; deps.native("Graphics.setFontAlign", 0); });
  method("getFont", (b) => b.getFont());
  method("getFontHeight", (b) => b.fontHeight());
  method("stringWidth", (b, s) => { const t = String(s); deps.native("Graphics.stringWidth", t.length); return b.stringWidth(t); });
  chain("drawString", (b, s, x, y, solid) => {
    const t = String(s);
    const c = b.drawString(t, num(x), num(y), Boolean(solid));
    deps.native("Graphics.drawString", c.chars, c.pixels);
  });
  chain("fillRect", (b, x1, y1, x2, y2) => { const px = b.fillRect(num(x1), num(y1), num(x2), num(y2), b.fg); deps.native("Graphics.fillRect", Math.ceil(px / 8), px); });
  chain("clearRect", (b, x1, y1, x2, y2) => { const px = b.fillRect(num(x1), num(y1), num(x2), num(y2), b.bg); deps.native("Graphics.fillRect", Math.ceil(px / 8), px); });
  chain("drawRect", (b, x1, y1, x2, y2) => { const px = b.drawRect(num(x1), num(y1), num(x2), num(y2)); deps.native("Graphics.fillRect", Math.ceil(px / 8), px); });
  chain("setPixel", (b, x, y, c) => { b.setPixel(num(x), num(y), c === undefined ? b.fg : colour(b, c)); deps.native("Graphics.setPixel", 0); });
  method("getPixel", (b, x, y) => { deps.native("Graphics.getPixel", 0); return b.getPixel(num(x), num(y)); });
  // A flip() the SSD1306 module does not replace: an ArrayBuffer Graphics has nothing to send.
  chain("flip", () => {});
  for (const name of ["drawLine", "drawCircle", "fillCircle", "drawImage", "drawPoly", "fillPoly", "setRotation", "scroll", "setFontVector", "setFontCustom", "drawEllipse", "fillEllipse", "setClipRect", "asImage", "wrapString"]) {
    proto[name] = () => { throw deps.err(`Graphics.${name} is not modelled by the virtual board (board/src/display/graphics.ts lists what is)`); };
  }
  deps.markRuntime(proto);
  for (const k of Object.keys(proto)) deps.markRuntime(proto[k]);

  const Graphics = realm.object();
  Graphics["createArrayBuffer"] = (w: unknown, h: unknown, bpp: unknown, options?: unknown) => {
    const width = num(w), height = num(h), depth = num(bpp);
    if (width <= 0 || height <= 0 || width > 32767 || height > 32767) throw deps.err("Invalid Size");
    if (![1, 2, 4, 8, 16, 24, 32].includes(depth)) throw deps.err("Invalid BPP");
    const o = (options !== null && typeof options === "object" ? options : {}) as Record<string, unknown>;
    const verticalByte = Boolean(o["vertical_byte"]);
    if (verticalByte && depth !== 1) throw deps.err("vertical_byte only works for 1bpp ArrayBuffers");
    if (verticalByte && height & 7) throw deps.err("height must be a multiple of 8 when using vertical_byte");
    const bytes = GraphicsBuffer.byteLength(width, height, depth);
    const ab = realm.arrayBuffer(new Uint8Array(bytes));
    deps.native("Graphics.createArrayBuffer", bytes);
    const inst = realm.object();
    Object.setPrototypeOf(inst, proto);
    inst["buffer"] = ab;
    state.set(inst, new GraphicsBuffer(width, height, depth, new Uint8Array(ab), { verticalByte, msb: o["msb"] === undefined ? true : Boolean(o["msb"]) }));
    return inst;
  };
  deps.markRuntime(Graphics);
  g["Graphics"] = Graphics;

  // I2C1: hardware I2C (TWI) of the nRF52: writeTo is synchronous, the CPU waits for the bus.
  const i2c = realm.object();
  i2c["setup"] = (opts?: unknown) => {
    const o = (opts !== null && typeof opts === "object" ? opts : {}) as Record<string, unknown>;
    const scl = pinName(o["scl"]), sda = pinName(o["sda"]);
    if (scl === undefined || sda === undefined) throw deps.err("I2C1.setup needs {scl: pin, sda: pin}");
    const bitrate = o["bitrate"] === undefined ? DEFAULT_I2C_BITRATE : Number(o["bitrate"]);
    if (!(bitrate > 0)) throw deps.err("I2C1.setup: bitrate must be a positive number");
    hw.i2c = { scl, sda, bitrate: Math.min(bitrate, 400000) }; // nRF52 TWI: 100k, 250k or 400k
  };
  i2c["writeTo"] = (address: unknown, ...data: unknown[]) => {
    if (!hw.i2c) throw deps.err("I2C1 is not set up: call I2C1.setup({scl, sda}) first");
    const addr = address !== null && typeof address === "object" ? Number((address as Record<string, unknown>)["address"]) : Number(address);
    const bytes: number[] = [];
    flatten(data, bytes, deps.err);
    deps.native("I2C.writeTo", bytes.length, hw.i2c.bitrate / 1000);
    // a device only answers on the pins it is wired to
    const wired = hw.i2c.scl === hw.spec.scl && hw.i2c.sda === hw.spec.sda;
    if (!wired || addr !== hw.spec.address) throw deps.err(`I2C Error: no ACK from address 0x${(addr >>> 0).toString(16)} on SCL ${hw.i2c.scl} / SDA ${hw.i2c.sda}`);
    hw.panel.write(Uint8Array.from(bytes));
  };
  i2c["readFrom"] = () => { throw deps.err("I2C1.readFrom is not modelled: the SSD1306 on I2C cannot be read"); };
  deps.markRuntime(i2c);
  for (const k of Object.keys(i2c)) deps.markRuntime(i2c[k]);
  g["I2C1"] = i2c;
}

function colour(b: GraphicsBuffer, c: unknown): number {
  const n = Number(c);
  if (!Number.isFinite(n)) return 0;
  // a whole number is the colour value itself; a fraction 0..1 is a grey level (1 bpp: on from 0.5)
  return Number.isInteger(n) ? n & b.mask : Math.round(Math.min(1, Math.max(0, n)) * b.mask);
}

export { type Frame } from "./frame.ts";
