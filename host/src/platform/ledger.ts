/**
 * The durable ledger: SQLite (sql.js, compiled to WebAssembly, so no native build) held in memory
 * and written whole to its file after every committed transaction, atomically:
 * temp file → fsync → rename over the old file → fsync the directory. Durability argument in
 * docs/PLATFORM.md §"Durability". A transaction's result is returned to its caller only after
 * that write, so anything a client was told is on disk.
 */
import initSqlJs, { type Database, type SqlValue } from "sql.js";
import { closeSync, existsSync, fsyncSync, openSync, readFileSync, readdirSync, renameSync, unlinkSync, writeSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";

export const MIGRATIONS_DIR = fileURLToPath(new URL("./migrations/", import.meta.url));

export interface Migration { version: number; name: string; sql: string }

export class LedgerError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "LedgerError";
  }
}

/** Numbered migrations `NNN_name.sql`, in order; gaps and duplicates are refused. */
export function loadMigrations(dir = MIGRATIONS_DIR): Migration[] {
  const files = readdirSync(dir).filter((f) => /^\d{3}_[a-z0-9_]+\.sql$/.test(f)).sort();
  return files.map((file, i) => {
    const version = Number(file.slice(0, 3));
    if (version !== i + 1) throw new LedgerError(`migration ${file} should be numbered ${String(i + 1).padStart(3, "0")}: migrations must be 001, 002, … without gaps`);
    return { version, name: file.replace(/\.sql$/, ""), sql: readFileSync(resolve(dir, file), "utf8") };
  });
}

let sqlJs: Promise<initSqlJs.SqlJsStatic> | undefined;
function sqlite(): Promise<initSqlJs.SqlJsStatic> {
  sqlJs ??= initSqlJs();
  return sqlJs;
}

/** Files opened by a live Ledger in this process (a second writer would overwrite the first). */
const openFiles = new Set<string>();

export type Row = Record<string, SqlValue>;
export type Params = SqlValue[];

export interface LedgerStats { commits: number; persistMs: number; bytesWritten: number }

export class Ledger {
  readonly stats: LedgerStats = { commits: 0, persistMs: 0, bytesWritten: 0 };
  private poisoned: Error | undefined;
  private inTransaction = false;
  private closed = false;

  private constructor(private readonly db: Database, readonly file: string | undefined) {}

  /**
   * Opens (or creates) the ledger at `file` and applies pending migrations. Without a file the
   * ledger lives in memory only (tests and benchmarks of the logic, never a real platform).
   */
  static async open(file?: string, migrations: Migration[] = loadMigrations()): Promise<Ledger> {
    const SQL = await sqlite();
    const path = file === undefined ? undefined : resolve(file);
    if (path !== undefined) {
      if (openFiles.has(path)) throw new LedgerError(`ledger ${path} is already open in this process — close it first (two writers would overwrite each other)`);
      try {
        unlinkSync(`${path}.tmp`); // a write interrupted before its rename: the old file is the truth
      } catch {
        /* none */
      }
    }
    let db: Database;
    try {
      db = new SQL.Database(path !== undefined && existsSync(path) ? readFileSync(path) : undefined);
      db.exec("PRAGMA foreign_keys = ON");
      db.exec("SELECT count(*) FROM sqlite_master");
    } catch (e) {
      throw new LedgerError(`cannot read ledger ${path}: ${(e as Error).message} — is it a KeyCarrier ledger (SQLite) file?`, { cause: e });
    }
    const ledger = new Ledger(db, path);
    if (path !== undefined) openFiles.add(path);
    try {
      ledger.migrate(migrations);
    } catch (e) {
      ledger.abandon();
      throw e;
    }
    return ledger;
  }

  get schemaVersion(): number {
    const row = this.get("SELECT max(version) AS v FROM schema_version");
    return Number(row?.v ?? 0);
  }

  private migrate(migrations: Migration[]): void {
    this.db.exec("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL)");
    const current = this.schemaVersion;
    const latest = migrations.length ? migrations[migrations.length - 1]!.version : 0;
    if (current > latest) {
      throw new LedgerError(`ledger ${this.file} has schema version ${current}, newer than this keycarrier knows (${latest}) — update keycarrier`);
    }
    for (const m of migrations) {
      if (m.version <= current) continue;
      this.transaction(() => {
        this.db.exec(m.sql);
        this.run("INSERT INTO schema_version (version, name, applied_at) VALUES (?, ?, ?)", [m.version, m.name, Date.now()]);
      });
    }
    if (current === 0 && migrations.length === 0) this.persist();
  }

  private check(): void {
    if (this.closed) throw new LedgerError("ledger is closed");
    if (this.poisoned) throw new LedgerError(`ledger ${this.file} could not be written (${this.poisoned.message}); its memory is ahead of its file — reopen it`);
  }

  all(sql: string, params: Params = []): Row[] {
    this.check();
    const stmt = this.db.prepare(sql);
    try {
      stmt.bind(params);
      const rows: Row[] = [];
      while (stmt.step()) rows.push(stmt.getAsObject());
      return rows;
    } finally {
      stmt.free();
    }
  }

  get(sql: string, params: Params = []): Row | undefined {
    return this.all(sql, params)[0];
  }

  run(sql: string, params: Params = []): number {
    this.check();
    this.db.run(sql, params);
    return this.db.getRowsModified();
  }

  /**
   * Runs `fn` as one SQLite transaction and makes it durable before returning. `fn` must be
   * synchronous: nothing else can interleave, so each transaction sees a consistent ledger.
   * If `fn` throws, everything it did is rolled back and the error propagates.
   */
  transaction<T>(fn: () => T): T {
    this.check();
    if (this.inTransaction) return fn(); // nested: part of the outer transaction
    this.db.exec("BEGIN IMMEDIATE");
    this.inTransaction = true;
    let result: T;
    try {
      result = fn();
      this.db.exec("COMMIT");
    } catch (e) {
      try {
        this.db.exec("ROLLBACK");
      } catch {
        /* the failed statement may already have ended it */
      }
      throw e;
    } finally {
      this.inTransaction = false;
    }
    this.persist();
    return result;
  }

  private persist(): void {
    this.stats.commits++;
    if (this.file === undefined) return;
    const started = performance.now();
    try {
      const image = this.db.export();
      writeDurably(this.file, image);
      this.stats.bytesWritten += image.length;
    } catch (e) {
      this.poisoned = e as Error;
      throw new LedgerError(`could not write ledger ${this.file}: ${(e as Error).message} — the last change is NOT durable; fix the disk and restart the platform`, { cause: e });
    } finally {
      this.stats.persistMs += performance.now() - started;
    }
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.db.close();
    if (this.file !== undefined) openFiles.delete(this.file);
  }

  /** Drops the ledger without any further write, as a crash would (tests inject crashes with it). */
  abandon(): void {
    this.close();
  }
}

/** temp → fsync → rename → fsync(dir): after it returns, the new image survives power loss; a crash before the rename leaves the old one. */
export function writeDurably(file: string, data: Uint8Array): void {
  const tmp = `${file}.tmp`;
  const fd = openSync(tmp, "w", 0o600);
  try {
    let at = 0;
    while (at < data.length) at += writeSync(fd, data, at, data.length - at);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, file);
  const dir = openSync(dirname(file), "r");
  try {
    fsyncSync(dir);
  } finally {
    closeSync(dir);
  }
}
