import { describe, it, expect, afterEach } from "vitest";
import { existsSync, fsync, fsyncSync, mkdtempSync, readFileSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { tmpdir } from "node:os";
import { gunzipSync } from "node:zlib";
import { fileURLToPath } from "node:url";
import { Ledger, loadMigrations, LedgerError } from "../../src/platform/ledger.ts";
import { Platform } from "../../src/platform/service.ts";
import { cmdPlatformServe } from "../../src/platform/cli.ts";
import { tempDir } from "./helpers.ts";
import { dumpLedger } from "./fixtures/make-legacy-ledger.ts";

const FIXTURES = fileURLToPath(new URL("./fixtures/", import.meta.url));

const cleanups: Array<() => void> = [];
afterEach(() => cleanups.splice(0).forEach((c) => c()));
function fresh() {
  const t = tempDir();
  cleanups.push(t.cleanup);
  return t;
}

describe("ledger migrations", () => {
  it("migrates an empty file to the latest schema and records each step in schema_version", async () => {
    const { file } = fresh();
    const ledger = await Ledger.open(file);
    const migrations = loadMigrations();
    expect(migrations.map((m) => m.version)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(ledger.schemaVersion).toBe(6);
    expect(ledger.all("SELECT version, name FROM schema_version ORDER BY version")).toEqual([
      { version: 1, name: "001_initial" }, { version: 2, name: "002_audit_lookup" },
      { version: 3, name: "003_online_pin" }, { version: 4, name: "004_issuer_controls" }, { version: 5, name: "005_offline_credit" },
      { version: 6, name: "006_peer_payments" },
    ]);
    const tables = ledger.all("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").map((r) => r.name);
    for (const t of ["issuers", "carriers", "merchants", "payment_codes", "orders", "authorizations", "settlements", "idempotency", "audit", "schema_version"]) {
      expect(tables).toContain(t);
    }
    ledger.close();
    expect(existsSync(file)).toBe(true);
  });

  it("applies only the missing migrations to an older ledger", async () => {
    const { file } = fresh();
    const all = loadMigrations();
    (await Ledger.open(file, all.slice(0, 1))).close();
    const ledger = await Ledger.open(file, all);
    expect(ledger.all("SELECT version FROM schema_version").map((r) => r.version)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(ledger.get("SELECT name FROM sqlite_master WHERE name = 'audit_by_entity'")).toBeDefined();
    ledger.close();
  });

  it("refuses a ledger newer than the code, and gaps in migration numbers", async () => {
    const { file, dir } = fresh();
    (await Ledger.open(file)).close();
    await expect(Ledger.open(file, loadMigrations().slice(0, 1))).rejects.toThrow(/schema version 6, newer than this keycarrier knows \(1\)/);
    const migDir = mkdtempSync(join(tmpdir(), "kc-mig-"));
    writeFileSync(join(migDir, "001_a.sql"), "CREATE TABLE a (x);");
    writeFileSync(join(migDir, "003_c.sql"), "CREATE TABLE c (x);");
    expect(() => loadMigrations(migDir)).toThrow(/003_c.sql should be numbered 002/);
    expect(dir).toBeTruthy();
  });

  it("a failing migration leaves the ledger at the previous version", async () => {
    const { file } = fresh();
    const bad = [...loadMigrations(), { version: 6, name: "006_bad", sql: "CREATE TABLE ok_part (x); CREATE TABLE carriers (x);" }];
    await expect(Ledger.open(file, bad)).rejects.toThrow(/already exists/);
    const ledger = await Ledger.open(file);
    expect(ledger.schemaVersion).toBe(6);
    expect(ledger.get("SELECT name FROM sqlite_master WHERE name = 'ok_part'")).toBeUndefined();
    ledger.close();
  });
});

describe("ledger durability", () => {
  it("a committed transaction is in the file when transaction() returns; a rolled-back one never is", async () => {
    const { file } = fresh();
    const ledger = await Ledger.open(file);
    ledger.transaction(() => ledger.run("INSERT INTO audit (at, entity, entity_id, action, detail) VALUES (1, 't', '1', 'kept', '{}')"));
    expect(() => ledger.transaction(() => {
      ledger.run("INSERT INTO audit (at, entity, entity_id, action, detail) VALUES (2, 't', '2', 'lost', '{}')");
      throw new Error("boom");
    })).toThrow("boom");
    ledger.abandon();
    const reopened = await Ledger.open(file);
    expect(reopened.all("SELECT action FROM audit").map((r) => r.action)).toEqual(["kept"]);
    reopened.close();
  });

  it("the file is SQLite in WAL mode, and a commit writes pages to the WAL, not a new image of the database", async () => {
    const { file } = fresh();
    const ledger = await Ledger.open(file);
    expect(ledger.get("PRAGMA journal_mode")).toEqual({ journal_mode: "wal" });
    expect(ledger.get("PRAGMA locking_mode")).toEqual({ locking_mode: "exclusive" });
    ledger.transaction(() => ledger.run("INSERT INTO audit (at, entity, entity_id, action, detail) VALUES (1, 't', '1', 'x', ?)", ["y".repeat(100_000)]));
    const dbBytes = statSync(file).size;
    const walBefore = statSync(`${file}-wal`).size;
    ledger.transaction(() => ledger.run("INSERT INTO audit (at, entity, entity_id, action, detail) VALUES (2, 't', '2', 'small', '{}')"));
    const walGrowth = statSync(`${file}-wal`).size - walBefore;
    expect(walGrowth).toBeGreaterThan(0);
    expect(walGrowth).toBeLessThan(5 * 4096 + 5 * 24); // a few pages (+ frame headers), whatever the ledger holds
    expect(statSync(file).size).toBe(dbBytes); // the database file itself is untouched until a checkpoint
    ledger.close();
    expect(readFileSync(file).subarray(0, 16).toString("latin1")).toBe("SQLite format 3\0");
    expect(readFileSync(file)[18]).toBe(2); // file format: WAL
  });

  it("a write outside transaction() — run, or a RETURNING statement through get/all — is its own fsynced commit", async () => {
    const { file } = fresh();
    const ledger = await Ledger.open(file);
    const before = { ...ledger.stats };
    expect(ledger.run("INSERT INTO audit (at, entity, entity_id, action, detail) VALUES (1, 't', '1', 'run', '{}')")).toBe(1);
    expect(ledger.get("INSERT INTO audit (at, entity, entity_id, action, detail) VALUES (2, 't', '2', 'get', '{}') RETURNING action")).toEqual({ action: "get" });
    expect(ledger.all("INSERT INTO audit (at, entity, entity_id, action, detail) VALUES (3, 't', '3', 'all', '{}') RETURNING action")).toEqual([{ action: "all" }]);
    ledger.get("SELECT count(*) FROM audit"); // a read commits nothing
    expect(ledger.stats.commits - before.commits).toBe(3);
    expect(ledger.stats.syncs - before.syncs).toBe(3);
    ledger.close();
  });

  it("without group commit, every commit is fsynced before transaction() returns", async () => {
    const { file } = fresh();
    const syncs: number[] = [];
    const ledger = await Ledger.open(file, undefined, { syncIo: { fsync: (fd, done) => fsync(fd, done), fsyncSync: (fd) => { syncs.push(fd); fsyncSync(fd); } } });
    syncs.length = 0;
    for (let i = 0; i < 3; i++) ledger.transaction(() => ledger.run("INSERT INTO audit (at, entity, entity_id, action, detail) VALUES (1, 't', '1', 'x', '{}')"));
    expect(syncs.length).toBeGreaterThanOrEqual(3); // + one directory fsync when the WAL is first opened
    expect(ledger.stats.commits - ledger.stats.syncs).toBe(0);
    ledger.close();
  });

  it("group commit: durable() waits for an fsync that started after the commit, and one fsync serves a whole batch", async () => {
    const { file } = fresh();
    const held: Array<() => void> = [];
    let started = 0;
    const ledger = await Ledger.open(file, undefined, {
      syncIo: { fsync: (fd, done) => { started++; held.push(() => fsync(fd, done)); }, fsyncSync },
    });
    ledger.enableGroupCommit();
    const insert = (n: number) => ledger.transaction(() => ledger.run("INSERT INTO audit (at, entity, entity_id, action, detail) VALUES (?, 't', '1', 'x', '{}')", [n]));
    const done: number[] = [];
    const waits = [1, 2, 3].map((n) => { insert(n); return ledger.durable().then(() => done.push(n)); });
    await new Promise((r) => setTimeout(r, 20));
    expect(started).toBe(1); // the three commits of this turn share one fsync …
    expect(done).toEqual([]); // … and nobody is told before it completes
    insert(4); // commits while that fsync runs: it may not cover them
    const late = ledger.durable().then(() => done.push(4));
    held.shift()!();
    await Promise.all(waits);
    expect(done).toEqual([1, 2, 3]);
    await new Promise((r) => setTimeout(r, 20));
    expect(started).toBe(2);
    held.shift()!();
    await late;
    expect(done).toEqual([1, 2, 3, 4]);
    expect(ledger.stats.commits).toBeGreaterThanOrEqual(4);
    await ledger.durable(); // nothing pending: resolves without an fsync
    expect(started).toBe(2);
    ledger.close();
  });

  it("group commit: a commit nobody awaits (an in-process caller on a served ledger) is still fsynced one turn later", async () => {
    const { file } = fresh();
    const ledger = await Ledger.open(file);
    ledger.enableGroupCommit();
    const syncs = ledger.stats.syncs;
    ledger.transaction(() => ledger.run("INSERT INTO audit (at, entity, entity_id, action, detail) VALUES (1, 't', '1', 'x', '{}')"));
    expect(ledger.stats.syncs).toBe(syncs); // not on return …
    for (let waited = 0; ledger.stats.syncs === syncs && waited < 10_000; waited += 10) await new Promise((r) => setTimeout(r, 10));
    expect(ledger.stats.syncs).toBe(syncs + 1); // … but without anyone asking
    ledger.close();
  });

  it("group commit: the transactions of a batch share one SQLite COMMIT; a failed one is undone alone", async () => {
    const { file } = fresh();
    const ledger = await Ledger.open(file);
    ledger.enableGroupCommit();
    const before = { ...ledger.stats };
    const insert = (action: string) => ledger.run("INSERT INTO audit (at, entity, entity_id, action, detail) VALUES (1, 't', '1', ?, '{}')", [action]);
    ledger.transaction(() => insert("a"));
    expect(() => ledger.transaction(() => { insert("b"); throw new Error("refused"); })).toThrow("refused");
    expect(() => ledger.transaction(() => insert(null as unknown as string))).toThrow(/NOT NULL/); // a statement error inside the batch
    ledger.transaction(() => insert("c"));
    expect(ledger.all("SELECT action FROM audit").map((r) => r.action)).toEqual(["a", "c"]);
    await ledger.durable();
    expect(ledger.stats.commits - before.commits).toBe(2);
    expect(ledger.stats.walCommits - before.walCommits).toBe(1);
    expect(ledger.stats.syncs - before.syncs).toBe(1);
    ledger.close();
    const reopened = await Ledger.open(file);
    expect(reopened.all("SELECT action FROM audit").map((r) => r.action)).toEqual(["a", "c"]);
    reopened.close();
  });

  it("group commit: a crash before the batch's fsync loses only unacknowledged commits, and the file reopens", async () => {
    const { file } = fresh();
    const ledger = await Ledger.open(file);
    ledger.enableGroupCommit();
    ledger.transaction(() => ledger.run("INSERT INTO audit (at, entity, entity_id, action, detail) VALUES (1, 't', '1', 'acknowledged', '{}')"));
    await ledger.durable();
    ledger.transaction(() => ledger.run("INSERT INTO audit (at, entity, entity_id, action, detail) VALUES (2, 't', '2', 'never-acknowledged', '{}')"));
    const waiting = ledger.durable();
    ledger.abandon(); // before the next turn's fsync
    await expect(waiting).rejects.toThrow(LedgerError);
    const reopened = await Ledger.open(file);
    expect(reopened.all("SELECT action FROM audit").map((r) => r.action)).toEqual(["acknowledged"]);
    reopened.close();
  });

  it("a failed fsync poisons the ledger: the waiting replies get a LedgerError and later work is refused", async () => {
    const { file } = fresh();
    const ledger = await Ledger.open(file, undefined, {
      syncIo: { fsync: (_fd, done) => done(Object.assign(new Error("EIO: i/o error, fsync"), { code: "EIO" })), fsyncSync },
    });
    ledger.enableGroupCommit();
    ledger.transaction(() => ledger.run("INSERT INTO audit (at, entity, entity_id, action, detail) VALUES (1, 't', '1', 'x', '{}')"));
    await expect(ledger.durable()).rejects.toThrow(/could not fsync ledger .*EIO.*NOT durable/);
    expect(() => ledger.get("SELECT 1")).toThrow(LedgerError);
    expect(() => ledger.get("SELECT 1")).toThrow(/could not be made durable/);
    ledger.close();
  });

  it("refuses a second writer in the same process — by path and through another name for the same file — and a file that is not SQLite", async () => {
    const { file, dir } = fresh();
    const ledger = await Ledger.open(file);
    await expect(Ledger.open(file)).rejects.toThrow(/already open in this process/);
    const alias = join(dir, "alias.sqlite");
    symlinkSync(file, alias);
    await expect(Ledger.open(alias)).rejects.toThrow(/in use by another process/); // SQLite's lock, not our path set
    ledger.close();
    const junk = join(dir, "junk.sqlite");
    writeFileSync(junk, "this is not a database, just text that is long enough ".repeat(4));
    await expect(Ledger.open(junk)).rejects.toThrow(/is it a KeyCarrier ledger/);
  });

  it("a ledger that cannot be created is a clear LedgerError", async () => {
    const { dir } = fresh();
    await expect(Ledger.open(join(dir, "sub", "ledger.sqlite"))).rejects.toThrow(/cannot open ledger .*directory does not exist/);
  });
});

describe("the --db flag", () => {
  it("a postgres:// URL selects PostgreSQL (Ledger.open is SQLite only and says so); an unreachable server is a clear error and nothing touches the disk", async () => {
    await expect(Ledger.open("postgres://ledger@db.example/keycarrier")).rejects.toThrow(/Ledger.open is the SQLite engine.*openEngine/);
    await expect(Ledger.open("https://example.com/x.sqlite")).rejects.toThrow(/takes a ledger file path or a postgres:\/\/ URL, got the URL/);
    const { dir } = fresh();
    const io = { stdout: () => {}, stderr: () => {}, env: { KEYCARRIER_HOME: dir } };
    const cwd = process.cwd();
    process.chdir(dir); // a refused URL must not leave a "postgres:" directory behind
    try {
      // port 1: nothing listens there, so the connection is refused at once
      await expect(cmdPlatformServe("0", { db: "postgresql://kc:secret@127.0.0.1:1/kc" }, io, true, Promise.resolve())).rejects.toThrow(/PostgreSQL ledger unavailable|cannot open the PostgreSQL ledger postgresql:\/\/kc:\*\*\*@/);
    } finally {
      process.chdir(cwd);
    }
    expect(existsSync(join(dir, "postgresql:"))).toBe(false);
  });
});

describe("ledgers written by the sql.js engine (same SQLite file format)", () => {
  it("open with every row intact, switch to WAL, and the crash they were left in is recovered", async () => {
    const { file } = fresh();
    writeFileSync(file, gunzipSync(readFileSync(join(FIXTURES, "legacy-sqljs-ledger.sqlite.gz"))));
    expect(readFileSync(file)[18]).toBe(1); // written by sql.js: rollback-journal format
    const expected = JSON.parse(readFileSync(join(FIXTURES, "legacy-sqljs-ledger.rows.json"), "utf8")) as Record<string, Record<string, unknown>[]>;
    const ledger = await Ledger.open(file);
    const actual = dumpLedger(ledger);
    for (const [table, rows] of Object.entries(expected)) {
      // Only the fixture's columns and migrations: later migrations may add columns and versions.
      const got = actual[table]!.filter((r) => table !== "schema_version" || Number(r.version) <= 2)
        .map((r, i) => Object.fromEntries(Object.keys(rows[i] ?? r).map((k) => [k, r[k]])));
      expect(got, table).toEqual(rows);
    }
    expect(expected.settlements).toHaveLength(3);
    expect(expected.authorizations!.filter((a) => a.state === "verified")).toHaveLength(1);
    ledger.close();
    expect(readFileSync(file)[18]).toBe(2); // now WAL

    const platform = await Platform.open({ dbFile: file });
    expect(platform.ledger.get("SELECT count(*) AS n FROM settlements")!.n).toBe(4); // the verified one settled at start
    const pendingOrder = String(expected.authorizations!.find((a) => a.state === "verified")!.order_id);
    expect(platform.getOrder(pendingOrder).state).toBe("settled");
    expect(platform.ledger.get("SELECT count(*) AS n FROM authorizations WHERE state = 'verified'")!.n).toBe(0);
    expect(platform.ledger.get("SELECT response FROM idempotency WHERE idempotency_key = 'a-3'")).toBeDefined();
    platform.close();
  });
});

describe("ledger constraints (the second line of defence for exactly-once)", () => {
  it("unique (carrier, ATC), one authorization per order, one settlement per order, append-only audit", async () => {
    const ledger = await Ledger.open();
    ledger.run("INSERT INTO issuers VALUES ('i', x'00', 'dev-plaintext', 0)");
    ledger.run("INSERT INTO carriers (carrier_id, issuer_id, state, last_atc, created_at) VALUES ('c1', 'i', 'issued', 0, 0)");
    ledger.run("INSERT INTO merchants (merchant_id, name, qr_key, key_protection, created_at) VALUES (1, 'm', x'00', 'dev-plaintext', 0)");
    for (const n of [1, 2]) {
      ledger.run("INSERT INTO payment_codes (code_id, merchant_id, order_ref, nonce, amount, currency, expires_at_s, code_hex, created_at) VALUES (?, 1, ?, ?, 5, 'EUR', 0, ?, 0)", [n, `r${n}`, `n${n}`, `h${n}`]);
      ledger.run("INSERT INTO orders VALUES (?, ?, 1, 5, 'EUR', 'open', 0)", [`o${n}`, n]);
    }
    const auth = "INSERT INTO authorizations (order_id, carrier_id, atc, cryptogram, request_hash, state, created_at) VALUES (?, 'c1', ?, 'aa', 'h', 'verified', 0)";
    ledger.run(auth, ["o1", 1]);
    expect(() => ledger.run(auth, ["o2", 1])).toThrow(/UNIQUE constraint failed: authorizations.carrier_id, authorizations.atc/);
    expect(() => ledger.run(auth, ["o1", 2])).toThrow(/UNIQUE constraint failed: authorizations.order_id/);
    ledger.run(auth, ["o2", 2]);
    const settle = "INSERT INTO settlements VALUES (?, ?, ?, 1, 'c1', 5, 'EUR', 0)";
    ledger.run(settle, ["s1", "o1", 1]);
    expect(() => ledger.run(settle, ["s2", "o1", 2])).toThrow(/UNIQUE constraint failed: settlements.order_id/);
    expect(() => ledger.run(auth, ["o9", 9])).toThrow(/FOREIGN KEY/);
    ledger.run("INSERT INTO audit (at, entity, entity_id, action, detail) VALUES (1, 't', '1', 'x', '{}')");
    expect(() => ledger.run("UPDATE audit SET action = 'y'")).toThrow(/append-only/);
    expect(() => ledger.run("DELETE FROM audit")).toThrow(/append-only/);
    ledger.close();
  });
});
