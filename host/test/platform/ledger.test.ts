import { describe, it, expect, afterEach } from "vitest";
import { existsSync, mkdtempSync, writeFileSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { tmpdir } from "node:os";
import { Ledger, loadMigrations, LedgerError, writeDurably } from "../../src/platform/ledger.ts";
import { tempDir } from "./helpers.ts";

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
    expect(migrations.map((m) => m.version)).toEqual([1, 2, 3, 4]);
    expect(ledger.schemaVersion).toBe(4);
    expect(ledger.all("SELECT version, name FROM schema_version ORDER BY version")).toEqual([
      { version: 1, name: "001_initial" }, { version: 2, name: "002_audit_lookup" },
      { version: 3, name: "003_online_pin" }, { version: 4, name: "004_issuer_controls" },
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
    expect(ledger.all("SELECT version FROM schema_version").map((r) => r.version)).toEqual([1, 2, 3, 4]);
    expect(ledger.get("SELECT name FROM sqlite_master WHERE name = 'audit_by_entity'")).toBeDefined();
    ledger.close();
  });

  it("refuses a ledger newer than the code, and gaps in migration numbers", async () => {
    const { file, dir } = fresh();
    (await Ledger.open(file)).close();
    await expect(Ledger.open(file, loadMigrations().slice(0, 1))).rejects.toThrow(/schema version 4, newer than this keycarrier knows \(1\)/);
    const migDir = mkdtempSync(join(tmpdir(), "kc-mig-"));
    writeFileSync(join(migDir, "001_a.sql"), "CREATE TABLE a (x);");
    writeFileSync(join(migDir, "003_c.sql"), "CREATE TABLE c (x);");
    expect(() => loadMigrations(migDir)).toThrow(/003_c.sql should be numbered 002/);
    expect(dir).toBeTruthy();
  });

  it("a failing migration leaves the ledger at the previous version", async () => {
    const { file } = fresh();
    const bad = [...loadMigrations(), { version: 5, name: "005_bad", sql: "CREATE TABLE ok_part (x); CREATE TABLE carriers (x);" }];
    await expect(Ledger.open(file, bad)).rejects.toThrow(/already exists/);
    const ledger = await Ledger.open(file);
    expect(ledger.schemaVersion).toBe(4);
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
    ledger.abandon(); // no close-time flush exists: what is on disk is what commits wrote
    const reopened = await Ledger.open(file);
    expect(reopened.all("SELECT action FROM audit").map((r) => r.action)).toEqual(["kept"]);
    reopened.close();
  });

  it("a write interrupted before its rename leaves the previous image, and the leftover temp file is ignored", async () => {
    const { file } = fresh();
    const ledger = await Ledger.open(file);
    ledger.transaction(() => ledger.run("INSERT INTO audit (at, entity, entity_id, action, detail) VALUES (1, 't', '1', 'first', '{}')"));
    ledger.close();
    const before = readFileSync(file);
    writeFileSync(`${file}.tmp`, before.subarray(0, 100)); // a crash mid-write of the next image
    const reopened = await Ledger.open(file);
    expect(existsSync(`${file}.tmp`)).toBe(false);
    expect(reopened.all("SELECT action FROM audit").map((r) => r.action)).toEqual(["first"]);
    reopened.close();
  });

  it("writeDurably replaces the file atomically", () => {
    const { file } = fresh();
    writeDurably(file, Uint8Array.of(1, 2, 3));
    writeDurably(file, Uint8Array.of(4, 5));
    expect([...readFileSync(file)]).toEqual([4, 5]);
    expect(existsSync(`${file}.tmp`)).toBe(false);
  });

  it("refuses a second writer in the same process and a file that is not SQLite", async () => {
    const { file, dir } = fresh();
    const ledger = await Ledger.open(file);
    await expect(Ledger.open(file)).rejects.toThrow(LedgerError);
    ledger.close();
    const junk = join(dir, "junk.sqlite");
    writeFileSync(junk, "this is not a database, just text that is long enough ".repeat(4));
    await expect(Ledger.open(junk)).rejects.toThrow(/is it a KeyCarrier ledger/);
  });

  it("a failed write poisons the ledger instead of pretending the change is durable", async () => {
    const { dir } = fresh();
    const file = join(dir, "sub", "ledger.sqlite");
    await expect(Ledger.open(file)).rejects.toThrow(/could not write ledger .* NOT durable/);
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
