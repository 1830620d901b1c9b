// The board's event loop on a virtual clock: firmware timers (setTimeout/setInterval, shared id
// space as on Espruino) and internal events (debounce, watchdog, scheduled faults, device input).
// Deterministic: events at the same time run in the order they were scheduled.

export interface ScheduledEvent {
  id: number;
  due: number;          // virtual ms
  seq: number;
  intervalMs?: number;  // firmware setInterval
  firmware: boolean;    // counts for clearTimeout()/idle; internal events don't
  run: () => void;
  held?: unknown[];     // firmware values the timer holds (callback, args): the memory walk's roots
}

export class VirtualClock {
  private nowMs = 0;
  private seq = 0;
  private nextFirmwareId = 1;
  private nextInternalId = -1;
  private events = new Map<number, ScheduledEvent>();

  now(): number {
    return this.nowMs;
  }

  /** Firmware timer; returns Espruino's integer id. */
  addTimer(delayMs: number, run: () => void, intervalMs?: number, held?: unknown[]): number {
    const id = this.nextFirmwareId++;
    this.events.set(id, { id, due: this.nowMs + delayMs, seq: this.seq++, firmware: true, run, ...(intervalMs !== undefined ? { intervalMs } : {}), ...(held ? { held } : {}) });
    return id;
  }

  /** Host-side event (not visible to clearTimeout); returns a negative id for cancel(). */
  addInternal(delayMs: number, run: () => void): number {
    const id = this.nextInternalId--;
    this.events.set(id, { id, due: this.nowMs + Math.max(0, delayMs), seq: this.seq++, firmware: false, run });
    return id;
  }

  cancel(id: number): boolean {
    return this.events.delete(id);
  }

  has(id: number): boolean {
    return this.events.has(id);
  }

  changeInterval(id: number, ms: number): boolean {
    const e = this.events.get(id);
    if (!e || !e.firmware) return false;
    if (e.intervalMs !== undefined) e.intervalMs = ms;
    e.due = this.nowMs + ms;
    e.seq = this.seq++;
    return true;
  }

  clearFirmwareTimers(): void {
    for (const [id, e] of this.events) if (e.firmware) this.events.delete(id);
  }

  clearAll(): void {
    this.events.clear();
  }

  /** What each pending firmware timer holds (callback, args) and whether it repeats. */
  firmwareTimers(): { held: unknown[]; interval: boolean }[] {
    const out: { held: unknown[]; interval: boolean }[] = [];
    for (const e of this.events.values()) if (e.firmware) out.push({ held: e.held ?? [], interval: e.intervalMs !== undefined });
    return out;
  }

  firmwareTimerCount(): number {
    let n = 0;
    for (const e of this.events.values()) if (e.firmware) n++;
    return n;
  }

  nextDue(): number | undefined {
    let best: ScheduledEvent | undefined;
    for (const e of this.events.values()) if (!best || e.due < best.due || (e.due === best.due && e.seq < best.seq)) best = e;
    return best?.due;
  }

  /**
   * Runs the earliest event due at or before `limitMs`, moving the clock to its time.
   * Returns false when nothing is due.
   */
  runNext(limitMs: number): boolean {
    let best: ScheduledEvent | undefined;
    for (const e of this.events.values()) if (!best || e.due < best.due || (e.due === best.due && e.seq < best.seq)) best = e;
    if (!best || best.due > limitMs) return false;
    this.nowMs = Math.max(this.nowMs, best.due);
    if (best.intervalMs !== undefined) {
      best.due = this.nowMs + best.intervalMs;
      best.seq = this.seq++;
    } else {
      this.events.delete(best.id);
    }
    best.run();
    return true;
  }

  /** Moves time forward with nothing run (used at the end of advance()). */
  setNow(ms: number): void {
    if (ms > this.nowMs) this.nowMs = ms;
  }

  /** After a reset the clock keeps going; only the events are lost. */
  resetEvents(): void {
    this.events.clear();
  }
}
