/**
 * The ledger interface the platform's logic is written against, the same for both engines
 * (docs/PLATFORM.md §Engines, §"Writing platform code").
 *
 * Platform logic is a generator (`Work<T>`) that yields queries and gets their results back:
 *
 *     function* settledCount(carrierId: string): Work<number> {
 *       const row = yield* get("SELECT count(*) AS n FROM settlements WHERE carrier_id = ?", [carrierId]);
 *       return Number(row!.n);
 *     }
 *
 * The same code then runs on either engine:
 * - **SQLite** (`runSync`): each query is answered at once by better-sqlite3, so a whole operation
 *   runs synchronously, exactly as fast as plain synchronous code, and nothing interleaves with it.
 * - **PostgreSQL** (postgres.ts): each query is awaited on a pooled connection; many operations run
 *   at once, and a transaction (`tx`) holds one connection from BEGIN to COMMIT.
 *
 * Rules for code written this way (both engines hold to them; the PostgreSQL tests check them):
 * - Every read-check-write that must be atomic goes inside one `tx(() => …)`, and on PostgreSQL
 *   something must enforce the decision against other processes: a unique constraint (the usual
 *   way), a conditional UPDATE that counts its rows (`… WHERE state = 'open'` → 1), or
 *   `tx(…, { serializable: true })`. The body is a factory because PostgreSQL may run it again
 *   (serialization failure, deadlock): it must not have effects outside the ledger that a second
 *   run would repeat.
 * - SQL is the shared dialect (`?` placeholders, `INSERT … RETURNING`, `ON CONFLICT`), no
 *   `last_insert_rowid()`, `INSERT OR IGNORE` or other engine-only syntax.
 * - Uniqueness is the ledger's job: a unique constraint decides a race between processes; the
 *   check before it is only there to give a clear answer (postgres.ts retries a whole operation
 *   whose transaction hit a unique violation, so the check then sees the winner).
 */
import type { Params, Row } from "./ledger.ts";

export type Query =
  | { op: "get" | "all" | "run"; sql: string; params: Params }
  | { op: "tx"; body: () => Work<unknown>; serializable: boolean };

/** A piece of platform logic: yields queries, returns T. Nothing runs until an engine drives it. */
export type Work<T> = Generator<Query, T, unknown>;

/**
 * The synchronous ledger driving the work on this call stack, if any (runSync sets it while it
 * runs). Queries then call it directly instead of yielding: a query yielded from N generators deep
 * resumes all N on its way up and again on its way down, and that — not the SQL — was most of what
 * the engine-neutral logic added per settlement on SQLite (docs/PLATFORM.md §Performance). The
 * semantics are the same: the answer or the error arrives exactly where `yield` would have put it,
 * and nothing can interleave because runSync never leaves the call stack. PostgreSQL never sets it.
 */
let direct: SyncAnswerer | undefined;

/** The first row, or undefined. */
export function* get(sql: string, params: Params = []): Work<Row | undefined> {
  if (direct !== undefined) return direct.get(sql, params);
  return (yield { op: "get", sql, params }) as Row | undefined;
}

export function* all(sql: string, params: Params = []): Work<Row[]> {
  if (direct !== undefined) return direct.all(sql, params);
  return (yield { op: "all", sql, params }) as Row[];
}

/** Runs a statement; returns how many rows it changed. */
export function* run(sql: string, params: Params = []): Work<number> {
  if (direct !== undefined) return direct.run(sql, params);
  return (yield { op: "run", sql, params }) as number;
}

export interface TxOptions {
  /**
   * PostgreSQL runs a transaction at READ COMMITTED unless it asks for SERIALIZABLE (SQLite's are
   * serial anyway). Ask for it when the transaction decides from rows it read and no constraint or
   * conditional UPDATE enforces that decision (the PIN try counter: read, compare, write); do not by
   * default — SERIALIZABLE's predicate locks make busy transactions on small tables fail and retry.
   */
  serializable?: boolean;
}

/**
 * One transaction: everything `body` does commits together or not at all. Nested calls join the
 * outer transaction (and its isolation). `body` may run more than once on PostgreSQL (see above).
 */
export function* tx<T>(body: () => Work<T>, opts: TxOptions = {}): Work<T> {
  if (direct !== undefined) {
    const db = direct;
    return db.transaction(() => runSync(db, body()));
  }
  return (yield { op: "tx", body, serializable: opts.serializable === true }) as T;
}

/** What a ledger must answer for `drive`: one query at a time, or a transaction around a body. */
export interface SyncAnswerer {
  get(sql: string, params: Params): Row | undefined;
  all(sql: string, params: Params): Row[];
  run(sql: string, params: Params): number;
  transaction<T>(body: () => T): T;
}

/**
 * Drives work synchronously (the SQLite engine): its queries are answered on the spot (see
 * `direct`), so the work runs to its end in one step. A query's error is thrown where the query
 * was, where try/catch sees it.
 */
export function runSync<T>(db: SyncAnswerer, work: Work<T>): T {
  const outer = direct;
  direct = db;
  try {
    let input: unknown;
    let failed = false;
    let error: unknown;
    for (;;) {
      // Under `direct` the work does not yield; a yielded query (work that yields by hand) is answered here.
      const step = failed ? work.throw(error) : work.next(input);
      failed = false;
      if (step.done) return step.value;
      const q = step.value;
      try {
        input = q.op === "tx" ? db.transaction(() => runSync(db, q.body())) : q.op === "get" ? db.get(q.sql, q.params) : q.op === "all" ? db.all(q.sql, q.params) : db.run(q.sql, q.params);
      } catch (e) {
        failed = true;
        error = e;
        input = undefined;
      }
    }
  } finally {
    direct = outer;
  }
}

/**
 * Whether a query failed on a unique constraint (SQLite `SQLITE_CONSTRAINT_UNIQUE`/`_PRIMARYKEY`,
 * PostgreSQL SQLSTATE 23505): the race a constraint decided, for work that answers it itself
 * instead of letting the engine run the whole operation again.
 */
export function isUniqueViolation(e: unknown): boolean {
  const code = (e as { code?: unknown } | null)?.code;
  return code === "23505" || code === "SQLITE_CONSTRAINT_UNIQUE" || code === "SQLITE_CONSTRAINT_PRIMARYKEY";
}
