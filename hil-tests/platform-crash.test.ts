// Crash and concurrency with real processes, on both ledger engines: N clients × M orders, each
// order sent K times at once under different idempotency keys, while platform processes are
// killed with SIGKILL at random moments and restarted. Every request is retried with its own key
// until it gets an HTTP answer. Afterwards: no acknowledged settlement lost, no order settled
// twice, no authorization left verified-but-unsettled (an orphaned reservation).
// - SQLite: one platform process (the file's single-writer lock allows no second one).
// - PostgreSQL: two platform processes serving one database at once (each request copy goes to
//   either), killed and restarted independently; the server is a private cluster this suite starts
//   (skipped with a printed reason where none can start).
//
// CI runs a bounded version (a few seconds per engine); KC_CRASH_KILLS / KC_CRASH_CLIENTS /
// KC_CRASH_ORDERS / KC_CRASH_COPIES make it longer, e.g.
// KC_CRASH_KILLS=40 KC_CRASH_ORDERS=200 npx vitest run hil-tests/platform-crash.test.ts
import { describe, it, expect, afterEach, afterAll } from "vitest";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { randomUUID } from "node:crypto";
import { Ledger, type Row } from "../host/src/platform/ledger.ts";
import { PostgresLedger } from "../host/src/platform/postgres.ts";
import { createDatabase, pgServerUnavailable, startPgServer, type PgServer } from "../host/src/platform/pg-server.ts";
import type { AuthorizationRequest } from "../host/src/platform/service.ts";
import { killHard, prepareOrders, startPlatformProcess, type PlatformProcess } from "./platform-process.ts";

const env = (name: string, fallback: number) => (process.env[name] ? Number(process.env[name]) : fallback);
const KILLS = env("KC_CRASH_KILLS", 3);
const CLIENTS = env("KC_CRASH_CLIENTS", 4);
const ORDERS = env("KC_CRASH_ORDERS", 30);
const COPIES = env("KC_CRASH_COPIES", 3);

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});
let pgServer: PgServer | undefined;
afterAll(async () => {
  await pgServer?.stop();
});

interface Answer { status: number; body: { settlementId?: string; orderId?: string; error?: { reason: string } } }

/** POSTs until an HTTP answer arrives, following the platform across restarts (its URL changes). */
async function postUntilAnswered(current: () => string, path: string, body: unknown, key: string, deadline: number): Promise<Answer> {
  for (;;) {
    try {
      const res = await fetch(current() + path, {
        method: "POST", headers: { "content-type": "application/json", "idempotency-key": key }, body: JSON.stringify(body),
        signal: AbortSignal.timeout(5000),
      });
      const answer = { status: res.status, body: (await res.json()) as Answer["body"] };
      // 503: the ledger was unreachable for a moment (PostgreSQL): the same key again, as a client would
      if (answer.status !== 503) return answer;
    } catch {
      /* the platform is down or restarting */
    }
    if (Date.now() > deadline) throw new Error(`no answer for ${key} before the deadline`);
    await new Promise((r) => setTimeout(r, 10 + Math.random() * 20));
  }
}

interface EngineSetup {
  db: string;
  home: string;
  processes: number;
  /** Runs a query on the ledger after the test (engine's own connection), then closes it. */
  inspect(queries: (q: (sql: string) => Promise<Row[]>) => Promise<void>): Promise<void>;
}

async function sqliteSetup(dir: string): Promise<EngineSetup> {
  const db = join(dir, "ledger.sqlite");
  return {
    db, home: dir, processes: 1,
    async inspect(queries) {
      const ledger = await Ledger.open(db);
      try {
        await queries(async (sql) => ledger.all(sql));
      } finally {
        ledger.close();
      }
    },
  };
}

async function postgresSetup(dir: string): Promise<EngineSetup> {
  pgServer ??= await startPgServer();
  const db = await createDatabase(pgServer, `crash_${randomUUID().slice(0, 8)}`);
  return {
    db, home: dir, processes: 2,
    async inspect(queries) {
      const ledger = await PostgresLedger.open(db);
      try {
        await queries((sql) => ledger.sql(sql));
      } finally {
        await ledger.close();
      }
    },
  };
}

const engines: Array<{ name: string; skip: string | undefined; setup: (dir: string) => Promise<EngineSetup> }> = [
  { name: "SQLite ledger, one process", skip: undefined, setup: sqliteSetup },
  { name: "PostgreSQL ledger, two processes on one database", skip: pgServerUnavailable(), setup: postgresSetup },
];

describe.each(engines)("platform crash and concurrency ($name, SIGKILL, restart)", ({ name, skip, setup }) => {
  if (skip) console.log(`SKIPPED (${name}): ${skip}`);
  it.skipIf(skip !== undefined)(`${CLIENTS} clients × ${ORDERS} orders × ${COPIES} concurrent copies, ${KILLS} SIGKILLs: nothing acknowledged lost, nothing settled twice, nothing orphaned`, async () => {
    const dir = mkdtempSync(join(tmpdir(), "kc-crash-"));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const engine = await setup(dir);
    const perClient: AuthorizationRequest[][] = await prepareOrders(engine.db, CLIENTS, ORDERS, join(dir, "admin.key"));

    const platforms: PlatformProcess[] = [];
    for (let i = 0; i < engine.processes; i++) platforms.push(await startPlatformProcess(engine.db, engine.home));
    cleanups.push(async () => {
      for (const p of platforms) if (p.child.exitCode === null && p.child.signalCode === null) await killHard(p);
    });
    const urls = platforms.map((p) => p.url);
    const deadline = Date.now() + 60_000 + KILLS * 5_000;
    const answers = new Map<string, Answer[]>(); // orderId → every answer its copies got
    let inFlight = 0;
    let inFlightAtKills = 0;

    const clients = perClient.map(async (auths) => {
      for (const auth of auths) {
        const copies = Array.from({ length: COPIES }, async (_, copy) => {
          inFlight++;
          try {
            // copies of one order go to different processes when there are several
            return await postUntilAnswered(() => urls[copy % urls.length]!, "/v1/authorizations", auth, randomUUID(), deadline);
          } finally {
            inFlight--;
          }
        });
        answers.set(auth.orderId, await Promise.all(copies));
      }
    });
    let clientsDone = false;
    const load = Promise.all(clients).finally(() => (clientsDone = true));

    let kills = 0;
    while (kills < KILLS && !clientsDone) {
      await new Promise((r) => setTimeout(r, 20 + Math.random() * 150));
      if (clientsDone) break;
      inFlightAtKills += inFlight;
      const victim = Math.floor(Math.random() * platforms.length);
      await killHard(platforms[victim]!);
      kills++;
      platforms[victim] = await startPlatformProcess(engine.db, engine.home); // its open recovers what the kill interrupted
      urls[victim] = platforms[victim]!.url;
    }
    await load;
    for (const p of platforms) {
      p.child.kill("SIGTERM");
      expect((await p.exited).code).toBe(0);
    }

    // What the clients were told …
    const acked = new Map<string, string>();
    for (const [orderId, list] of answers) {
      for (const a of list) {
        if (a.status === 201) {
          expect(a.body.orderId).toBe(orderId);
          const before = acked.get(orderId);
          if (before !== undefined) expect(a.body.settlementId, `order ${orderId} acknowledged with two settlements`).toBe(before);
          acked.set(orderId, a.body.settlementId!);
        } else {
          // The losing copies: refused as duplicates, never an error of the platform itself.
          expect([409]).toContain(a.status);
          expect(["replayed", "order-already-authorized", "atc-replayed"]).toContain(a.body.error!.reason);
        }
      }
    }
    // … against what the ledger holds.
    await engine.inspect(async (q) => {
      const settlements = await q("SELECT order_id, settlement_id FROM settlements");
      const onDisk = new Map(settlements.map((r) => [String(r.order_id), String(r.settlement_id)]));
      for (const [orderId, settlementId] of acked) expect(onDisk.get(orderId), `acknowledged settlement of ${orderId} lost`).toBe(settlementId);
      expect(settlements.length).toBe(onDisk.size); // at most one settlement per order
      expect(acked.size).toBe(CLIENTS * ORDERS); // every order got its answer, so every order settled …
      expect(onDisk.size).toBe(CLIENTS * ORDERS); // … exactly once
      expect(await q("SELECT authorization_id FROM authorizations WHERE state <> 'settled'")).toEqual([]);
      expect(Number((await q("SELECT count(*) AS n FROM authorizations a LEFT JOIN settlements s USING (authorization_id) WHERE s.settlement_id IS NULL"))[0]!.n)).toBe(0);
      expect(Number((await q("SELECT count(*) AS n FROM orders WHERE state <> 'settled'"))[0]!.n)).toBe(0);
      const perOrder = await q("SELECT entity_id, count(*) AS n FROM audit WHERE entity = 'order' AND action = 'settled' GROUP BY entity_id HAVING count(*) > 1");
      expect(perOrder).toEqual([]);
      const recovered = Number((await q("SELECT count(*) AS n FROM audit WHERE action = 'settled' AND detail LIKE '%\"how\":\"recovered\"%'"))[0]!.n);
      console.log(`crash test (${name}): ${kills} SIGKILLs with ${inFlightAtKills} requests in flight at the kills, ${recovered} settlements recovered at restart, ${acked.size} orders settled once`);
    });
    expect(kills).toBeGreaterThan(0);
  }, 180_000);
});
