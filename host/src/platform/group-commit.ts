/**
 * Makes SQLite WAL commits durable with the ledger's own fsync of the `-wal` file, so that one
 * fsync covers every commit made before it (group commit). SQLite runs with synchronous=NORMAL:
 * a commit appends its frames to the WAL without fsync, and checkpoints fsync the WAL before
 * copying it into the database and the database before the WAL is reused. This class closes the
 * remaining gap — the last commits before a power loss — by fsyncing the WAL before anything that
 * could reveal those commits is acknowledged. The argument, checkpoints included, is in
 * docs/PLATFORM.md §"Durability".
 *
 * Commits are numbered as they happen; `durable()` waits for an fsync that *started* after the
 * newest commit so far (fsync only covers writes that completed before it was called), and
 * `syncNow()` is the same, synchronously. Requests that commit while an fsync is running wait for
 * the next one, which then covers all of them: under load one fsync serves a whole batch.
 */
import { closeSync, fstatSync, fsync, fsyncSync, openSync, statSync } from "node:fs";
import { dirname } from "node:path";

export interface SyncStats { syncs: number; syncMs: number }

/** fsync implementations; tests replace them to hold or fail a sync. */
export interface SyncIo {
  fsync(fd: number, done: (err: NodeJS.ErrnoException | null) => void): void;
  fsyncSync(fd: number): void;
}

const realIo: SyncIo = { fsync, fsyncSync };

interface Waiter { seq: number; resolve: () => void; reject: (e: Error) => void }

export class GroupCommit {
  /** Commits noted so far, and the highest commit number known to be on disk. */
  private committed = 0;
  private synced = 0;
  private fd: number | undefined;
  private ino = -1;
  private inFlight = false;
  private scheduled = false;
  private closing = false;
  private waiters: Waiter[] = [];
  /** Set when an fsync failed: nothing committed after the last good sync may be trusted. */
  failure: Error | undefined;

  /**
   * @param beforeSync runs right before each fsync, synchronously: the ledger COMMITs its open
   *   batch there, so the fsync covers every commit counted so far.
   */
  constructor(private readonly walPath: string, private readonly stats: SyncStats, public io: SyncIo = realIo, private readonly beforeSync: () => void = () => {}) {}

  /**
   * Call after each COMMIT returned (its WAL frames are written to the OS, not yet synced). With
   * `soon`, an fsync is scheduled even if nobody waits for it, so a commit whose caller never asks
   * for `durable()` (an in-process caller on a served ledger) is still on disk one turn later.
   */
  noteCommit(soon = false): void {
    this.committed++;
    if (soon) this.schedule();
  }

  get pending(): number {
    return this.committed - this.synced;
  }

  /** Synchronous fsync covering every commit so far (the path without group commit). Throws on failure. */
  syncNow(): void {
    if (this.failure) throw this.failure;
    const target = this.committed;
    if (target <= this.synced) return;
    const started = performance.now();
    try {
      this.beforeSync();
      this.io.fsyncSync(this.walFd());
    } catch (e) {
      this.fail(e as Error);
      throw e;
    }
    this.record(started, target);
  }

  /** Resolves once every commit made before this call is on disk; rejects if the fsync fails. */
  durable(): Promise<void> {
    if (this.failure) return Promise.reject(this.failure);
    if (this.committed <= this.synced) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      this.waiters.push({ seq: this.committed, resolve, reject });
      this.schedule();
    });
  }

  /**
   * Starts the next fsync after the current turn of the event loop, so that every request whose
   * handler runs in this turn joins the same fsync.
   */
  private schedule(): void {
    if (this.scheduled || this.inFlight) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      this.flush();
    });
  }

  private flush(): void {
    if (this.inFlight || this.failure || this.closing) return;
    const target = this.committed;
    if (target <= this.synced) return this.release();
    let fd: number;
    try {
      this.beforeSync();
      fd = this.walFd();
    } catch (e) {
      return this.fail(e as Error);
    }
    this.inFlight = true;
    const started = performance.now();
    this.io.fsync(fd, (err) => {
      this.inFlight = false;
      if (this.closing) this.closeFd();
      if (err) return this.fail(err);
      this.record(started, target);
      if (this.waiters.length > 0 || this.committed > this.synced) this.schedule();
    });
  }

  private record(started: number, target: number): void {
    this.stats.syncs++;
    this.stats.syncMs += performance.now() - started;
    if (target > this.synced) this.synced = target;
    this.release();
  }

  private release(): void {
    const still: Waiter[] = [];
    for (const w of this.waiters) (w.seq <= this.synced ? w.resolve() : still.push(w));
    this.waiters = still;
  }

  /** Rejects every waiter and refuses all later syncs (also called by the ledger when it loses a batch). */
  fail(e: Error): void {
    this.failure ??= e;
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w.reject(this.failure);
  }

  /**
   * The WAL's descriptor, reopened when the file is not the one we hold (SQLite deletes the WAL
   * when the last connection closes and creates it anew; fsync must reach the live one). A newly
   * opened WAL also gets its directory fsynced once: a file's name is directory data, and a WAL
   * whose name did not survive a power loss would take its commits with it.
   */
  private walFd(): number {
    const ino = statSync(this.walPath).ino;
    if (this.fd !== undefined && ino === this.ino) return this.fd;
    this.closeFd();
    this.fd = openSync(this.walPath, "r+");
    this.ino = fstatSync(this.fd).ino;
    const dir = openSync(dirname(this.walPath), "r");
    try {
      this.io.fsyncSync(dir);
    } finally {
      closeSync(dir);
    }
    return this.fd;
  }

  private closeFd(): void {
    if (this.fd === undefined || this.inFlight) return;
    closeSync(this.fd);
    this.fd = undefined;
  }

  /** Before the database closes: a final sync if anything is pending (unless `abandon`), then no more. */
  close(abandon: boolean, why: Error): void {
    if (!abandon && !this.failure && this.pending > 0) {
      try {
        this.syncNow();
      } catch {
        /* fail() has rejected the waiters */
      }
    }
    this.fail(why);
    this.closing = true;
    this.closeFd(); // deferred to the running fsync's callback if one is in flight
  }
}
