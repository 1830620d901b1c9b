// Pins, LEDs, buttons and setWatch. Levels are logical: Espruino negates pins marked inverted in
// its board file, so digitalRead(BTN1) is 1 while a button is pressed even where it is wired
// active-low (nRF52840 DK). Button watches default to edge "rising" and a 25 ms debounce, other
// pins to "both" and 0 (facts §7).
import type { BoardProfile } from "../profiles.ts";
import type { RuntimeCore } from "./core.ts";

interface PinState { level: number; isButton: boolean; isLed: boolean; mode: string }

interface Watch {
  id: number;
  fn: unknown;
  pin: string;
  repeat: boolean;
  edge: -1 | 0 | 1;
  debounceMs: number;
  reported: number;         // last level the watch reported (or saw when created)
  lastTime: number | undefined;
  lastEdgeTime: number;
  debounceEvent: number | undefined;
}

export class PinBank {
  private readonly pins = new Map<string, PinState>();
  private readonly aliases = new Map<string, string>(); // LED1 → D5
  private watches = new Map<number, Watch>();
  private nextWatchId = 1;
  private objectNames = new WeakMap<object, string>();

  constructor(private readonly core: RuntimeCore, private readonly profile: BoardProfile) {
    for (const b of profile.peripherals.buttons) {
      this.pins.set(b.pin, { level: 0, isButton: true, isLed: false, mode: "input" });
      this.aliases.set(b.name, b.pin);
    }
    for (const l of profile.peripherals.leds) {
      this.pins.set(l.pin, { level: 0, isButton: false, isLed: true, mode: "output" });
      this.aliases.set(l.name, l.pin);
    }
    if (profile.peripherals.buttons.length) this.aliases.set("BTN", profile.peripherals.buttons[0]!.pin);
  }

  /** Hardware reset: outputs go low and watches are gone; buttons stay as the user holds them. */
  resetRam(): void {
    for (const p of this.pins.values()) if (!p.isButton) p.level = 0;
    for (const w of this.watches.values()) if (w.debounceEvent !== undefined) this.core.clock.cancel(w.debounceEvent);
    this.watches.clear();
    this.objectNames = new WeakMap();
  }

  installGlobals(g: Record<string, unknown>): void {
    const realm = this.core.realm();
    const pinObject = (name: string) => {
      const o = realm.object();
      o["read"] = () => this.read(name);
      o["write"] = (v: unknown) => this.write(name, v);
      o["set"] = () => this.write(name, 1);
      o["reset"] = () => this.write(name, 0);
      o["toggle"] = () => { const v = this.read(name) ? 0 : 1; this.write(name, v); return Boolean(v); };
      o["mode"] = (m: unknown) => { this.state(name).mode = String(m); };
      o["getMode"] = () => this.state(name).mode;
      o["toString"] = () => name;
      this.objectNames.set(o, name);
      return o;
    };
    const byPin = new Map<string, Record<string, unknown>>();
    for (const pin of this.pins.keys()) {
      const o = pinObject(pin);
      byPin.set(pin, o);
      g[pin] = o;
    }
    for (const [alias, pin] of this.aliases) g[alias] = byPin.get(pin);

    g["digitalWrite"] = (pin: unknown, value: unknown) => {
      if (Array.isArray(pin)) {
        // Espruino: an array of pins gets the bits of value, most significant first
        const v = Number(value);
        pin.forEach((p, i) => this.write(this.nameOf(p), (v >> (pin.length - 1 - i)) & 1));
        return;
      }
      this.write(this.nameOf(pin), value);
    };
    g["digitalRead"] = (pin: unknown) => {
      if (Array.isArray(pin)) return pin.reduce((acc: number, p) => (acc << 1) | this.read(this.nameOf(p)), 0);
      return this.read(this.nameOf(pin));
    };
    g["digitalPulse"] = () => {};
    g["pinMode"] = (pin: unknown, mode: unknown) => { this.state(this.nameOf(pin)).mode = String(mode ?? "input"); };
    g["getPinMode"] = (pin: unknown) => this.state(this.nameOf(pin)).mode;
    g["setWatch"] = (fn: unknown, pin: unknown, opts?: unknown) => this.setWatch(fn, pin, opts);
    g["clearWatch"] = (...args: unknown[]) => this.clearWatch(args);
  }

  private nameOf(pin: unknown): string {
    if (pin !== null && typeof pin === "object") {
      const n = this.objectNames.get(pin);
      if (n) return n;
    }
    if (typeof pin === "string") {
      const n = this.aliases.get(pin) ?? pin;
      if (this.pins.has(n)) return n;
    }
    throw this.core.realm().newError("Error", `Invalid pin: ${String(pin)} (this profile has ${[...this.pins.keys()].join(", ")})`);
  }

  private state(name: string): PinState {
    return this.pins.get(name)!;
  }

  private read(name: string): number {
    return this.state(name).level;
  }

  private write(name: string, value: unknown): void {
    this.core.assertPowered();
    const s = this.state(name);
    if (s.isButton) return; // driving an input pin from firmware has no effect on the button
    const level = value ? 1 : 0;
    if (s.level !== level) {
      s.level = level;
      this.changed(name, level);
    }
  }

  /** Host side: the user presses or releases a button (logical level 1 = pressed). */
  setButton(index: number, pressed: boolean): void {
    const b = this.profile.peripherals.buttons[index - 1];
    if (!b) throw new Error(`board ${this.profile.id} has no BTN${index} (it has ${this.profile.peripherals.buttons.length} button(s))`);
    const s = this.state(b.pin);
    const level = pressed ? 1 : 0;
    if (s.level === level) return;
    s.level = level;
    this.changed(b.pin, level);
  }

  buttonHeld(index: number): boolean {
    const b = this.profile.peripherals.buttons[index - 1];
    return b ? this.state(b.pin).level === 1 : false;
  }

  leds(): boolean[] {
    return this.profile.peripherals.leds.map((l) => this.state(l.pin).level === 1);
  }

  /** The active watches' callbacks and options (the memory walk's roots). */
  watchCallbacks(): { fn: unknown; debounced: boolean; bothEdges: boolean }[] {
    return [...this.watches.values()].map((w) => ({ fn: w.fn, debounced: w.debounceMs > 0, bothEdges: w.edge === 0 }));
  }

  watchCount(): number {
    return this.watches.size;
  }

  private setWatch(fn: unknown, pin: unknown, optsIn: unknown): number {
    if (typeof fn !== "function" && typeof fn !== "string") throw this.core.realm().newError("Error", "setWatch: function or string expected as first argument");
    const name = this.nameOf(pin);
    const s = this.state(name);
    const opts = (optsIn !== null && typeof optsIn === "object" ? optsIn : {}) as Record<string, unknown>;
    const edgeIn = opts["edge"] ?? (s.isButton ? "rising" : "both");
    const edge: -1 | 0 | 1 = edgeIn === "rising" || edgeIn === 1 ? 1 : edgeIn === "falling" || edgeIn === -1 ? -1 : 0;
    const debounceMs = typeof opts["debounce"] === "number" ? Math.max(0, opts["debounce"]) : s.isButton ? 25 : 0;
    const id = this.nextWatchId++;
    this.watches.set(id, {
      id, fn, pin: name, repeat: Boolean(opts["repeat"]), edge, debounceMs,
      reported: s.level, lastTime: undefined, lastEdgeTime: this.core.timeSeconds(), debounceEvent: undefined,
    });
    return id;
  }

  private clearWatch(args: unknown[]): void {
    if (args.length === 0) {
      for (const w of this.watches.values()) if (w.debounceEvent !== undefined) this.core.clock.cancel(w.debounceEvent);
      this.watches.clear();
      return;
    }
    const id = args[0];
    if (id === undefined) {
      // facts §9: clearWatch(undefined) throws (a variable that was never set), clearWatch() clears all
      throw this.core.realm().newError("Error", "clearWatch(undefined) not allowed: pass a watch id, or call clearWatch() with no arguments to clear every watch");
    }
    const w = this.watches.get(Number(id));
    if (!w) throw this.core.realm().newError("Error", `Unknown Watch ${String(id)}`);
    if (w.debounceEvent !== undefined) this.core.clock.cancel(w.debounceEvent);
    this.watches.delete(w.id);
  }

  private changed(pin: string, level: number): void {
    const t = this.core.timeSeconds();
    for (const w of [...this.watches.values()]) {
      if (w.pin !== pin) continue;
      w.lastEdgeTime = t;
      if (w.debounceMs > 0) {
        if (w.debounceEvent !== undefined) this.core.clock.cancel(w.debounceEvent);
        w.debounceEvent = this.core.clock.addInternal(w.debounceMs, () => {
          w.debounceEvent = undefined;
          this.settle(w, this.read(pin), w.lastEdgeTime);
        });
      } else {
        this.core.clock.addInternal(0, () => this.settle(w, level, t));
      }
    }
    this.core.pump();
  }

  private settle(w: Watch, level: number, time: number): void {
    if (!this.watches.has(w.id) || level === w.reported) return;
    w.reported = level;
    if (w.edge === 1 && level !== 1) return;
    if (w.edge === -1 && level !== 0) return;
    if (!w.repeat) this.watches.delete(w.id);
    const e = this.core.realm().object();
    e["state"] = level === 1;
    e["time"] = time;
    e["lastTime"] = w.lastTime ?? time;
    w.lastTime = time;
    this.core.invoke(`setWatch(${w.pin})`, w.fn, [e]);
  }
}
