/**
 * The two ledger engines behind one interface (docs/PLATFORM.md §Engines): the embedded SQLite
 * ledger (a file, one process, group commit) and PostgreSQL (a server, any number of processes).
 * `--db FILE` picks SQLite, `--db postgres://…` PostgreSQL; the platform's logic is the same
 * `Work` (work.ts) on both.
 */
import { Ledger, LedgerError, checkLedgerLocation, isPostgresUrl } from "./ledger.ts";
import type { Work } from "./work.ts";
import { PostgresLedger } from "./postgres.ts";

/** What the platform needs of a ledger, whatever the engine. */
interface EngineBase {
  /** Runs one operation. PostgreSQL may run `make()` again after a lost race (postgres.ts). */
  perform<T>(make: () => Work<T>): Promise<T>;
  /** Resolves once every commit so far is durable: the point before which no reply may leave. */
  durable(): Promise<void>;
  /** Closes the ledger; `abandon` skips the final sync (tests of a crash). */
  close(abandon: boolean): Promise<void>;
  /** HTTP serving: SQLite batches commits into group commits; PostgreSQL groups its own WAL flushes. */
  enableGroupCommit(): void;
}

export class SqliteEngine implements EngineBase {
  readonly kind = "sqlite" as const;
  constructor(readonly ledger: Ledger) {}

  /** The ledger file (undefined in memory): the admin key file is written next to it. */
  get location(): string | undefined {
    return this.ledger.file;
  }

  /** Runs the operation synchronously (nothing interleaves with it), then hands back its result. */
  perform<T>(make: () => Work<T>): Promise<T> {
    try {
      return Promise.resolve(this.ledger.perform(make()));
    } catch (e) {
      return Promise.reject(e);
    }
  }

  durable(): Promise<void> {
    return this.ledger.durable();
  }

  close(abandon: boolean): Promise<void> {
    if (abandon) this.ledger.abandon();
    else this.ledger.close();
    return Promise.resolve();
  }

  enableGroupCommit(): void {
    this.ledger.enableGroupCommit();
  }
}

export class PostgresEngine implements EngineBase {
  readonly kind = "postgres" as const;
  /** No file: the admin key file must be named (PlatformOptions.adminKeyFile). */
  readonly location = undefined;
  constructor(readonly ledger: PostgresLedger) {}

  perform<T>(make: () => Work<T>): Promise<T> {
    return this.ledger.perform(make);
  }

  /** A COMMIT returns after PostgreSQL flushed its WAL (synchronous_commit = on): nothing to wait for. */
  durable(): Promise<void> {
    return this.ledger.closed ? Promise.reject(new LedgerError("ledger is closed")) : Promise.resolve();
  }

  close(): Promise<void> {
    return this.ledger.close();
  }

  enableGroupCommit(): void {
    /* PostgreSQL flushes the WAL for all sessions committing at once by itself */
  }
}

export type Engine = SqliteEngine | PostgresEngine;

/** Opens the ledger at `location`: a SQLite file (undefined: in memory) or a postgres:// URL. */
export async function openEngine(location: string | undefined): Promise<Engine> {
  if (location !== undefined && isPostgresUrl(location)) return new PostgresEngine(await PostgresLedger.open(location));
  if (location !== undefined) checkLedgerLocation(location);
  return new SqliteEngine(await Ledger.open(location));
}
