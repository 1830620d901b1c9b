/**
 * Bounded audit of refused requests (docs/PLATFORM.md §"Audit"). A refusal costs no ledger write of
 * its own: it is counted in memory by (entity, reason), and the counts reach the audit trail as ONE
 * aggregated row ("refusals") when the platform next commits anyway, when `flushIntervalMs` passed
 * since the last flush, or at close. Memory is bounded too: at most `maxKeys` distinct
 * (entity, reason) pairs are kept (the rest count under "other"), and each keeps at most
 * `maxSamples` example ids. So N refused requests, authenticated or not, cost at most one ledger
 * write per flush interval, whatever N.
 */

export interface RefusalCount {
  entity: string;
  reason: string;
  count: number;
  firstAt: number;
  lastAt: number;
  /** A few entity ids seen (carrier ids, order ids, client addresses), for the investigator. */
  samples: string[];
}

export interface RefusalAuditOptions {
  flushIntervalMs?: number;
  maxKeys?: number;
  maxSamples?: number;
}

export const DEFAULT_REFUSAL_FLUSH_MS = 60_000;

export class RefusalAudit {
  private counts = new Map<string, RefusalCount>();
  private total = 0;
  private lastFlushAt: number;
  private readonly flushIntervalMs: number;
  private readonly maxKeys: number;
  private readonly maxSamples: number;

  constructor(private readonly now: () => number, opts: RefusalAuditOptions = {}) {
    this.flushIntervalMs = opts.flushIntervalMs ?? DEFAULT_REFUSAL_FLUSH_MS;
    this.maxKeys = opts.maxKeys ?? 64;
    this.maxSamples = opts.maxSamples ?? 4;
    this.lastFlushAt = now();
  }

  /** Counts one refusal (no I/O). */
  count(entity: string, reason: string, entityId: string): void {
    let key = `${entity}\0${reason}`;
    if (!this.counts.has(key) && this.counts.size >= this.maxKeys) key = "other\0other";
    const at = this.now();
    let c = this.counts.get(key);
    if (!c) {
      c = key === "other\0other"
        ? { entity: "other", reason: "other", count: 0, firstAt: at, lastAt: at, samples: [] }
        : { entity, reason, count: 0, firstAt: at, lastAt: at, samples: [] };
      this.counts.set(key, c);
    }
    c.count++;
    c.lastAt = at;
    if (c.samples.length < this.maxSamples && !c.samples.includes(entityId)) c.samples.push(entityId.slice(0, 64));
    this.total++;
  }

  get pending(): number {
    return this.total;
  }

  /** True when counts wait and the interval since the last flush has passed. */
  due(): boolean {
    return this.total > 0 && this.now() - this.lastFlushAt >= this.flushIntervalMs;
  }

  /** Takes the counts for one aggregated audit row (undefined: nothing to write) and resets them. */
  take(): { total: number; since: number; counts: RefusalCount[] } | undefined {
    if (this.total === 0) return undefined;
    const row = { total: this.total, since: this.lastFlushAt, counts: [...this.counts.values()] };
    this.counts = new Map();
    this.total = 0;
    this.lastFlushAt = this.now();
    return row;
  }

  /** Puts counts back after a failed write, so they are not lost. */
  restore(taken: { total: number; counts: RefusalCount[] }): void {
    for (const c of taken.counts) {
      const key = `${c.entity}\0${c.reason}`;
      const mine = this.counts.get(key);
      if (mine) {
        mine.count += c.count;
        mine.firstAt = Math.min(mine.firstAt, c.firstAt);
      } else this.counts.set(key, c);
    }
    this.total += taken.total;
  }
}
