/**
 * The durable ledger: a file-backed SQLite database (better-sqlite3, SQLite's own B-trees and
 * write-ahead log), so a commit writes only the pages it changed, whatever the ledger's size.
 *
 * - Durability: every commit is fsynced before its result can reach a client. Without group commit
 *   `transaction()` returns after that fsync; with group commit (the HTTP server turns it on) it
 *   returns once its savepoint is part of the open batch, and the caller awaits `durable()` before
 *   replying: one SQLite COMMIT and one fsync cover all the requests of a batch (group-commit.ts,
 *   docs/PLATFORM.md §Durability, §Group commit).
 * - One writer: the file is opened in SQLite's EXCLUSIVE locking mode and the lock is taken at
 *   open, so a second process (or a second Ledger in this process) on the same file gets a clear
 *   LedgerError instead of silently overwriting commits. The kernel drops the lock when the
 *   holder dies, so a killed platform restarts without manual clean-up.
 * - The file format is plain SQLite: ledgers written by the earlier sql.js engine open as they are
 *   and are switched to WAL on their first open.
 */
import Database from "better-sqlite3";
import { readdirSync, readFileSync } from "node:fs";
import { resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { GroupCommit, type SyncIo } from "./group-commit.ts";
import { runSync, type Work } from "./work.ts";

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

/** `postgres://…` or `postgresql://…`: the PostgreSQL engine (engine.ts). */
export function isPostgresUrl(db: string): boolean {
  return /^postgres(ql)?:\/\//i.test(db);
}

/**
 * `--db` takes a SQLite file or a `postgres://` URL. Any other URL is refused before anything
 * touches the disk (it would otherwise become an odd file name).
 */
export function checkLedgerLocation(db: string): void {
  if (isPostgresUrl(db)) return;
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(db)) throw new LedgerError(`--db takes a ledger file path or a postgres:// URL, got the URL ${db}`);
  if (db.trim() === "") throw new LedgerError("--db needs a ledger file path or a postgres:// URL");
}

/**
 * A migration's SQL for one engine. Migrations are written in SQLite's dialect; what differs is
 * kept in blocks — `-- @sqlite` … `-- @end` and `-- @postgres` … `-- @end` — of which each engine
 * keeps its own (postgres.ts then maps the column types). See docs/PLATFORM.md §Schema.
 */
export function migrationSql(sql: string, engine: "sqlite" | "postgres"): string {
  const other = engine === "sqlite" ? "postgres" : "sqlite";
  return sql
    .replace(new RegExp(`^-- @${other}\\s*$[\\s\\S]*?^-- @end\\s*$`, "gm"), "")
    .replace(new RegExp(`^-- @${engine}\\s*$([\\s\\S]*?)^-- @end\\s*$`, "gm"), "$1");
}

export type SqlValue = string | number | bigint | Uint8Array | null;
export type Row = Record<string, SqlValue>;
export type Params = SqlValue[];

export interface LedgerStats {
  /** Committed write transactions (`transaction()` calls that returned). */
  commits: number;
  /** SQLite COMMITs: one per transaction, or one per batch under group commit. */
  walCommits: number;
  /** Time inside SQLite's COMMIT (ms): writing the WAL frames, and a checkpoint whenever the WAL reached its limit. */
  commitMs: number;
  /** fsyncs of the WAL that made commits durable (fewer than commits under group commit). */
  syncs: number;
  /** Time spent in those fsyncs (ms; an asynchronous fsync overlaps other work). */
  syncMs: number;
  /** Time in explicit `checkpoint()` calls (ms; the automatic ones run inside COMMIT and count there). */
  checkpointMs: number;
}

export interface LedgerOptions {
  /** Test hook: replaces the WAL's fsync (to hold or fail it). */
  syncIo?: SyncIo;
}

/** SQLite page cache per ledger (KiB): keeps the indexes' upper levels in memory as the ledger grows. */
const CACHE_KIB = 64 * 1024;
/**
 * WAL pages before SQLite checkpoints them into the database file (its default is 1,000). A
 * checkpoint runs inside the COMMIT that crosses the mark and costs two fsyncs (WAL, then database)
 * plus the page writes, so fewer, larger checkpoints cost less per commit — pages changed again and
 * again (the audit trail's last leaf, index roots) are written back once per checkpoint, not once per
 * thousand pages. 10,000 pages bound the WAL to about 40 MB and its replay at a restart to well under
 * a second.
 */
const WAL_AUTOCHECKPOINT_PAGES = 10_000;
/** Prepared statements kept per ledger; the service's SQL is a fixed set, far below this. */
const STATEMENT_CACHE = 512;

/** Files opened by a live Ledger in this process, for a clearer message than SQLite's lock gives. */
const openFiles = new Set<string>();

type Statement = Database.Statement<unknown[], Row>;

export class Ledger {
  readonly stats: LedgerStats = { commits: 0, walCommits: 0, commitMs: 0, syncs: 0, syncMs: 0, checkpointMs: 0 };
  private readonly statements = new Map<string, Statement>();
  private readonly commitLog: GroupCommit | undefined;
  private inTransaction = false;
  private groupCommit = false;
  private closed = false;
  private poisoned: Error | undefined;

  /** Group commit: an SQLite transaction is open, holding the logical commits of the current batch. */
  private batchOpen = false;

  private constructor(private readonly db: Database.Database, readonly file: string | undefined, opts: LedgerOptions) {
    this.commitLog = file === undefined ? undefined : new GroupCommit(`${file}-wal`, this.stats, opts.syncIo, () => this.commitBatch());
  }

  /**
   * Opens (or creates) the ledger at `file`, takes its single-writer lock and applies pending
   * migrations. Without a file the ledger lives in memory only (tests and benchmarks of the logic,
   * never a real platform).
   */
  static async open(file?: string, migrations: Migration[] = loadMigrations(), opts: LedgerOptions = {}): Promise<Ledger> {
    if (file !== undefined) checkLedgerLocation(file);
    if (file !== undefined && isPostgresUrl(file)) throw new LedgerError("Ledger.open is the SQLite engine; open a postgres:// ledger with openEngine (engine.ts) or Platform.open");
    const path = file === undefined ? undefined : resolve(file);
    if (path !== undefined && openFiles.has(path)) {
      throw new LedgerError(`ledger ${path} is already open in this process — close it first (one writer per ledger file)`);
    }
    const db = openDatabase(path);
    const ledger = new Ledger(db, path, opts);
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
    this.transaction(() => this.db.exec("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL)"));
    const current = this.schemaVersion;
    const latest = migrations.length ? migrations[migrations.length - 1]!.version : 0;
    if (current > latest) {
      throw new LedgerError(`ledger ${this.file} has schema version ${current}, newer than this keycarrier knows (${latest}) — update keycarrier`);
    }
    for (const m of migrations) {
      if (m.version <= current) continue;
      this.transaction(() => {
        this.db.exec(migrationSql(m.sql, "sqlite"));
        this.run("INSERT INTO schema_version (version, name, applied_at) VALUES (?, ?, ?)", [m.version, m.name, Date.now()]);
      });
    }
  }

  private check(): void {
    if (this.closed) throw new LedgerError("ledger is closed");
    const failure = this.poisoned ?? this.commitLog?.failure;
    if (failure) throw new LedgerError(`ledger ${this.file} could not be made durable (${failure.message}); commits since the last good sync may be lost — restart the platform after fixing the disk`);
  }

  private statement(sql: string): Statement {
    let stmt = this.statements.get(sql);
    if (stmt === undefined) {
      if (this.statements.size >= STATEMENT_CACHE) this.statements.clear();
      stmt = this.db.prepare<unknown[], Row>(sql);
      this.statements.set(sql, stmt);
    }
    return stmt;
  }

  all(sql: string, params: Params = []): Row[] {
    this.check();
    const stmt = this.statement(sql);
    // A statement that writes (INSERT … RETURNING included) is a commit: outside a transaction it gets its own.
    if (!stmt.readonly && !this.inTransaction) return this.transaction(() => this.all(sql, params));
    if (!stmt.reader) {
      stmt.run(params);
      return [];
    }
    return stmt.all(params);
  }

  get(sql: string, params: Params = []): Row | undefined {
    this.check();
    const stmt = this.statement(sql);
    if (!stmt.readonly && !this.inTransaction) return this.transaction(() => this.get(sql, params));
    if (!stmt.reader) {
      stmt.run(params);
      return undefined;
    }
    return stmt.get(params);
  }

  /** Runs one statement; returns the rows it changed. Outside a transaction a write is its own (durable) transaction. */
  run(sql: string, params: Params = []): number {
    this.check();
    const stmt = this.statement(sql);
    if (!stmt.readonly && !this.inTransaction) return this.transaction(() => this.run(sql, params));
    return stmt.run(params).changes;
  }

  /** Runs platform logic (work.ts) synchronously against this ledger. */
  perform<T>(work: Work<T>): T {
    return runSync(this, work);
  }

  /**
   * Runs `fn` as one SQLite transaction and commits it. `fn` must be synchronous: nothing else can
   * interleave, so each transaction sees a consistent ledger. If `fn` throws, everything it did is
   * rolled back and the error propagates. Without group commit the commit is fsynced before this
   * returns; with it, the batch holding it is COMMITted and fsynced before `durable()` resolves.
   */
  transaction<T>(fn: () => T): T {
    this.check();
    if (this.inTransaction) return fn(); // nested: part of the outer transaction
    if (this.groupCommit && this.commitLog) return this.batched(fn, this.commitLog);
    this.statement("BEGIN IMMEDIATE").run();
    this.inTransaction = true;
    let result: T;
    try {
      result = fn();
    } catch (e) {
      this.rollback();
      throw e;
    } finally {
      this.inTransaction = false;
    }
    const started = performance.now();
    try {
      this.statement("COMMIT").run();
    } catch (e) {
      this.rollback();
      if (String((e as { code?: string }).code).startsWith("SQLITE_CONSTRAINT")) throw e; // a deferred constraint: refused, not an I/O fault
      this.poisoned = e as Error;
      throw new LedgerError(`could not commit to ledger ${this.file}: ${(e as Error).message} — the change was not made; fix the disk and restart the platform`, { cause: e });
    }
    this.stats.commits++;
    this.stats.walCommits++;
    this.stats.commitMs += performance.now() - started;
    if (this.commitLog) {
      this.commitLog.noteCommit(this.groupCommit);
      if (!this.groupCommit) this.syncNow();
    }
    return result;
  }

  /**
   * A transaction under group commit: a SAVEPOINT inside the batch's one SQLite transaction, which
   * `commitBatch` COMMITs right before the batch's fsync. The requests of a batch then write each
   * page they share (an index leaf, the audit trail's last page) to the WAL once instead of once per
   * commit. Isolation is unchanged — transactions still run one at a time, synchronously — and a
   * failed one is undone alone (ROLLBACK TO its savepoint). Until the batch COMMITs, its commits are
   * in memory only; a crash loses them, as it may lose any commit not yet fsynced, and none of them
   * was acknowledged (replies wait for `durable()`).
   */
  private batched<T>(fn: () => T, commitLog: GroupCommit): T {
    if (!this.batchOpen) {
      this.statement("BEGIN IMMEDIATE").run();
      this.batchOpen = true;
    }
    this.statement("SAVEPOINT logical").run();
    this.inTransaction = true;
    let result: T;
    try {
      result = fn();
      this.statement("RELEASE logical").run();
    } catch (e) {
      this.undoLogical(commitLog);
      throw e;
    } finally {
      this.inTransaction = false;
    }
    this.stats.commits++;
    commitLog.noteCommit(true);
    return result;
  }

  private undoLogical(commitLog: GroupCommit): void {
    if (this.db.inTransaction) {
      try {
        this.statement("ROLLBACK TO logical").run();
        this.statement("RELEASE logical").run();
        return;
      } catch (e) {
        this.poisoned = e as Error;
      }
    }
    // SQLite ended the whole batch by itself (an I/O error, a full disk): the batch's earlier
    // commits are gone, so their replies must not say otherwise.
    this.batchOpen = false;
    this.rollback();
    this.poisoned ??= new Error("SQLite rolled back the open batch");
    commitLog.fail(this.poisoned);
  }

  /** Group commit: COMMITs the open batch (GroupCommit calls it right before each fsync). */
  private commitBatch(): void {
    if (!this.batchOpen) return;
    this.batchOpen = false;
    const started = performance.now();
    try {
      this.statement("COMMIT").run();
    } catch (e) {
      this.rollback();
      this.poisoned = e as Error;
      throw new LedgerError(`could not commit to ledger ${this.file}: ${(e as Error).message} — the batch was not made; fix the disk and restart the platform`, { cause: e });
    } finally {
      this.stats.commitMs += performance.now() - started;
      this.stats.walCommits++;
    }
  }

  private rollback(): void {
    if (!this.db.inTransaction) return; // SQLite already ended it (some errors roll back by themselves)
    try {
      this.statement("ROLLBACK").run();
    } catch {
      /* nothing more to undo */
    }
  }

  /**
   * Group commit: from now on `transaction()` returns once its work is part of the open batch, and
   * whoever acknowledges anything to a client must first await `durable()`. The HTTP server turns
   * it on. A commit nobody awaits is COMMITted and fsynced anyway by the next batch, a turn later.
   */
  enableGroupCommit(): void {
    this.groupCommit = true;
  }

  get groupCommitEnabled(): boolean {
    return this.groupCommit;
  }

  /**
   * Resolves when every commit made so far is on disk (one fsync for all the commits waiting);
   * rejects with a LedgerError if the fsync fails, after which the ledger refuses all work.
   */
  durable(): Promise<void> {
    if (this.closed) return Promise.reject(new LedgerError("ledger is closed"));
    if (!this.commitLog) return Promise.resolve();
    return this.commitLog.durable().catch((e: Error) => {
      throw new LedgerError(`could not fsync ledger ${this.file}: ${e.message} — the last changes are NOT durable; fix the disk and restart the platform`, { cause: e });
    });
  }

  /** Makes every commit so far durable now (synchronous fsync of the WAL). */
  syncNow(): void {
    try {
      this.commitLog?.syncNow();
    } catch (e) {
      throw new LedgerError(`could not fsync ledger ${this.file}: ${(e as Error).message} — the last change is NOT durable; fix the disk and restart the platform`, { cause: e });
    }
  }

  /**
   * Copies every committed WAL page into the database file, fsyncs it and empties the WAL (SQLite's
   * TRUNCATE checkpoint). SQLite also checkpoints by itself every WAL_AUTOCHECKPOINT_PAGES; this is
   * for a clean point (before a file-level backup, or a benchmark's window).
   */
  checkpoint(): void {
    this.check();
    if (this.inTransaction) throw new LedgerError("checkpoint() inside a transaction");
    const started = performance.now();
    try {
      this.syncNow();
      const row = this.db.pragma("wal_checkpoint(TRUNCATE)", { simple: false }) as Array<{ busy: number }>;
      if (row[0]?.busy) throw new LedgerError(`ledger ${this.file}: the checkpoint could not complete`);
    } finally {
      this.stats.checkpointMs += performance.now() - started;
    }
  }

  /** Test hook: replaces the WAL's fsync on a live ledger (to hold or fail it). */
  setSyncIo(io: SyncIo): void {
    if (this.commitLog) this.commitLog.io = io;
  }

  close(): void {
    this.shut(false);
  }

  /**
   * Drops the ledger as a crash would: pending group commits are not synced and their waiters
   * fail. (SQLite still checkpoints on close; the real crash tests kill a process with SIGKILL.)
   */
  abandon(): void {
    this.shut(true);
  }

  private shut(abandon: boolean): void {
    if (this.closed) return;
    this.closed = true;
    this.commitLog?.close(abandon, new LedgerError(`ledger ${this.file} was ${abandon ? "abandoned" : "closed"} before this commit was synced`));
    this.statements.clear();
    try {
      this.db.close();
    } finally {
      if (this.file !== undefined) openFiles.delete(this.file);
    }
  }
}

/**
 * Opens the SQLite file with its single-writer lock held. `BEGIN EXCLUSIVE` is the first thing
 * that touches the file: it takes the lock in one step (a pending lock keeps new readers out), so
 * two platforms starting at once cannot both get in; EXCLUSIVE locking mode keeps it until close.
 */
function openDatabase(path: string | undefined): Database.Database {
  let db: Database.Database;
  try {
    db = new Database(path ?? ":memory:", { timeout: 0 });
  } catch (e) {
    throw new LedgerError(`cannot open ledger ${path}: ${(e as Error).message}`, { cause: e });
  }
  try {
    db.pragma("locking_mode = EXCLUSIVE");
    db.exec("BEGIN EXCLUSIVE; COMMIT");
    const mode = db.pragma("journal_mode = WAL", { simple: true });
    if (path !== undefined && mode !== "wal") throw new Error(`SQLite would not switch the file to WAL (journal_mode ${String(mode)})`);
    db.pragma("synchronous = NORMAL"); // commits are fsynced by GroupCommit; checkpoints by SQLite
    db.pragma(`cache_size = -${CACHE_KIB}`);
    db.pragma(`wal_autocheckpoint = ${WAL_AUTOCHECKPOINT_PAGES}`);
    db.pragma("foreign_keys = ON");
    db.prepare("SELECT count(*) FROM sqlite_master").get();
  } catch (e) {
    db.close();
    const code = (e as { code?: string }).code;
    if (code === "SQLITE_BUSY") {
      throw new LedgerError(`ledger ${path} is in use by another process (another \`keycarrier platform serve\` on the same --db?) — one platform process per ledger file: stop the other one or use another file`, { cause: e });
    }
    throw new LedgerError(`cannot read ledger ${path}: ${(e as Error).message} — is it a KeyCarrier ledger (SQLite) file?`, { cause: e });
  }
  return db;
}
