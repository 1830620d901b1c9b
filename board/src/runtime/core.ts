// What the peripheral models need from the runtime. Keeping this small lets pins, serial ports and
// NFC be read (and tested) without the whole VirtualBoard.
import type { VirtualClock } from "./clock.ts";
import type { Realm } from "./realm.ts";

export interface RuntimeCore {
  readonly clock: VirtualClock;
  /** The realm of the running context; throws if the board is off. */
  realm(): Realm;
  /** Runs a firmware callback as its own event-loop entry (uncaught errors printed, microtasks drained). */
  invoke(label: string, fn: unknown, args: unknown[]): void;
  /** getTime(): seconds, quantised to the board's timer resolution. */
  timeSeconds(): number;
  /** Cost meter hook for native calls. */
  native(kind: string, bytes: number, units?: number): void;
  /** One console line, as Espruino's own messages ("ERROR: ...") are printed. */
  printLine(line: string): void;
  /** Throws the power cut again if the board has lost power mid-call (firmware can't continue). */
  assertPowered(): void;
  /** Runs due events now if the host is not already inside the event loop. */
  pump(): void;
  /** Runs `fn` inside a cost-model scope (no-op wrapper without a meter). */
  costScope<T>(label: string, fn: () => T): T;
  /** Estimated board time since the NFCrx frame arrived, and whether it is within the frame delay (undefined: not metered). */
  nfcReplyEstimate(): { ms: number; inTime: boolean } | undefined;
  /** Reports a reply that came too late (console line + cost event). */
  nfcLateReply(ms: number): void;
}

/** Espruino's Object.prototype.on/emit, kept per object by the host. */
export class Emitter {
  private listeners = new Map<string, unknown[]>();

  install(target: Record<string, unknown>): void {
    target["on"] = (event: unknown, fn: unknown) => {
      if (typeof fn !== "function") return;
      const key = String(event);
      this.listeners.set(key, [...(this.listeners.get(key) ?? []), fn]);
    };
    target["addListener"] = target["on"];
    target["removeListener"] = (event: unknown, fn: unknown) => {
      const key = String(event);
      this.listeners.set(key, (this.listeners.get(key) ?? []).filter((f) => f !== fn));
    };
    target["removeAllListeners"] = (event?: unknown) => {
      if (event === undefined) this.listeners.clear();
      else this.listeners.delete(String(event));
    };
  }

  get(event: string): unknown[] {
    return this.listeners.get(event) ?? [];
  }

  /** Every event with listeners, and its listeners. */
  entries(): [string, unknown[]][] {
    return [...this.listeners.entries()].filter(([, l]) => l.length > 0);
  }

  count(event: string): number {
    return this.get(event).length;
  }

  clear(): void {
    this.listeners.clear();
  }
}
