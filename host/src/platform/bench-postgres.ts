/**
 * The PostgreSQL half of the platform bench: durable settlements per second with 1 and with 2
 * platform processes serving one database (each its own connection pool), over HTTP from a load
 * generator in its own process. The server is a private cluster started for the run (pg-server.ts,
 * fsync on: a COMMIT returns after PostgreSQL flushed its WAL). Orders, their PIN verdicts and
 * the carriers' cryptograms are prepared beforehand (prepareOrders); only the authorizations are
 * timed (verify → record → settle: two serializable transactions each).
 * Then commit cost as the ledger grows: the same run on databases seeded with 10³ … 10⁶ settled
 * rows by bulk SQL (generate_series).
 */
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir, loadavg } from "node:os";
import { join } from "node:path";
import { randomBytes, randomUUID } from "node:crypto";
import { computeAuthorizationCryptogram } from "../channel/keys.ts";
import { Platform, merchantIdBytes, type AuthorizationRequest } from "./service.ts";
import { PostgresLedger } from "./postgres.ts";
import { createDatabase, pgServerUnavailable, startPgServer, type PgServer } from "./pg-server.ts";
import { loadFromChild } from "./bench.ts";

/** Velocity limits off for the bench: a few carriers pay thousands of orders. */
export const BENCH_RISK = { maxPerWindow: Number.MAX_SAFE_INTEGER, maxAmountPerWindow: Number.MAX_SAFE_INTEGER };
const CHEAP_PIN = { kdf: { N: 1024, r: 8, p: 1 } };

export interface PostgresRun {
  processes: number;
  clients: number;
  /** Median over the rounds of settled authorizations per second (wall clock). */
  perSecond: number;
  rounds: number;
  settled: number;
  refused: number;
  seconds: number;
  /** Settled rows in the database before the run (the size runs). */
  settledRows: number;
  /** CPU time per settlement in the platform processes, and in the PostgreSQL server's processes (ms, from /proc). */
  platformCpuMsPerSettlement: number;
  serverCpuMsPerSettlement: number;
  /** Transactions rolled back in the database (serialization failures, lost races, refusals). */
  rollbacks: number;
  loadAverage: number;
}

export interface PostgresBench {
  skipped?: string;
  runs: PostgresRun[];
  /** 2 processes ÷ 1 process, settled per second. */
  speedup?: number;
  sizes: Array<PostgresRun & { buildSeconds: number }>;
  note: string;
}

export interface PostgresBenchOptions {
  clients?: number;
  rounds?: number;
  budgetMs?: number;
  /** Requests per round (a round ends when they are done or the budget is spent). */
  slice?: number;
  sizes?: number[];
}

const TSX_CHILD = ["--import", "tsx", join(import.meta.dirname, "bench-server.ts")];

interface Servers { urls: string[]; pids: number[]; stop(): Promise<void> }

async function startServers(db: string, n: number, dir: string): Promise<Servers> {
  const children: ChildProcess[] = [];
  const urls: string[] = [];
  const stop = async () => {
    await Promise.all(children.map((c) => new Promise<void>((resolve) => {
      if (c.exitCode !== null || c.signalCode !== null) return resolve();
      c.once("exit", () => resolve());
      c.kill("SIGTERM");
    })));
  };
  try {
    for (let i = 0; i < n; i++) {
      const child = spawn(process.execPath, [...TSX_CHILD, db, join(dir, `admin-${randomUUID()}.key`)], { stdio: ["ignore", "pipe", "inherit"] });
      children.push(child);
      urls.push(await new Promise<string>((resolve, reject) => {
        let out = "";
        child.stdout!.on("data", (c: Buffer) => {
          out += c.toString();
          const line = out.split("\n")[0]!;
          if (out.includes("\n")) resolve((JSON.parse(line) as { url: string }).url);
        });
        child.once("exit", (code) => reject(new Error(`bench: platform process exited (${code}) before listening`)));
      }));
    }
  } catch (e) {
    await stop();
    throw e;
  }
  return { urls, pids: children.map((c) => c.pid!), stop };
}

/** CPU time (ms) the processes used so far, from /proc (Linux; 0 elsewhere). */
function cpuMs(pids: number[]): number {
  const ticks = pids.reduce((sum, pid) => {
    try {
      const fields = readFileSync(`/proc/${pid}/stat`, "utf8").replace(/^.*\) /s, "").split(" ");
      return sum + Number(fields[11]) + Number(fields[12]); // utime, stime (fields 14 and 15 of stat)
    } catch {
      return sum; // ended meanwhile
    }
  }, 0);
  return ticks * 10; // USER_HZ = 100 on Linux
}

/** The server's processes: the postmaster and its children (a backend per connection, the WAL writer …). */
function serverPids(postmaster: number): number[] {
  const pids = [postmaster];
  try {
    for (const entry of readdirSync("/proc")) {
      if (!/^\d+$/.test(entry)) continue;
      try {
        const fields = readFileSync(`/proc/${entry}/stat`, "utf8").replace(/^.*\) /s, "").split(" ");
        if (Number(fields[1]) === postmaster) pids.push(Number(entry));
      } catch {
        /* gone */
      }
    }
  } catch {
    /* no /proc */
  }
  return pids;
}

/** Orders per carrier in the bench: a carrier pays now and then; thousands of payments of one carrier at once would all queue on its row. */
const ORDERS_PER_CARRIER = 8;

/**
 * `orders` open orders, each with an OK online-PIN verdict on record, and the cryptogram its carrier
 * would send. Carriers are issued through the platform (their keys are the platform's); the codes,
 * orders and verdicts are inserted in bulk — what the platform's own steps would have recorded,
 * without the minutes those steps take on a loaded machine (set-up, not what is measured).
 */
async function prepareOrders(db: string, orders: number, dir: string): Promise<AuthorizationRequest[]> {
  const platform = await Platform.open({ db, adminKeyFile: join(dir, `admin-${randomUUID()}.key`), pin: CHEAP_PIN, risk: BENCH_RISK });
  try {
    const merchant = await platform.run((o) => o.registerMerchant({ name: `Bench ${randomUUID().slice(0, 8)}` }));
    const carriers: Array<{ carrierId: string; cryptogramKey: Uint8Array }> = [];
    for (let i = 0; i < Math.ceil(orders / ORDERS_PER_CARRIER); i += 16) {
      carriers.push(...await Promise.all(Array.from({ length: 16 }, async () => {
        const { carrierId } = await platform.run((o) => o.issueCarrier());
        return { carrierId, cryptogramKey: (await platform.run((o) => o.carrierKeys(carrierId))).cryptogramKey };
      })));
    }
    const at = Date.now();
    const rows = Array.from({ length: orders }, (_, i) => ({
      ref: randomBytes(8).toString("hex"), nonce: randomBytes(8).toString("hex"), codeHex: randomBytes(48).toString("hex"),
      orderId: randomBytes(12).toString("hex"), amount: 100 + (i % 5000), carrier: carriers[i % carriers.length]!, atc: Math.floor(i / carriers.length) + 1,
    }));
    const ledger = (platform.engine as { ledger: PostgresLedger }).ledger;
    const codeIds = await ledger.sql(`INSERT INTO payment_codes (merchant_id, order_ref, nonce, amount, currency, expires_at_s, code_hex, created_at)
      SELECT $1, r, n, a, 'EUR', $5, c, $6 FROM unnest($2::text[], $3::text[], $4::bigint[], $7::text[]) AS t(r, n, a, c) RETURNING code_id`,
    [merchant.merchantId, rows.map((r) => r.ref), rows.map((r) => r.nonce), rows.map((r) => r.amount), Math.floor(at / 1000) + 3600, at, rows.map((r) => r.codeHex)]);
    await ledger.sql(`INSERT INTO orders (order_id, code_id, merchant_id, amount, currency, state, created_at)
      SELECT o, c, $1, a, 'EUR', 'open', $2 FROM unnest($3::text[], $4::bigint[], $5::bigint[]) AS t(o, c, a)`,
    [merchant.merchantId, at, rows.map((r) => r.orderId), codeIds.map((r) => Number(r.code_id)), rows.map((r) => r.amount)]);
    await ledger.sql(`INSERT INTO pin_verifications (carrier_id, order_id, verdict, created_at) SELECT c, o, 0, $1 FROM unnest($2::text[], $3::text[]) AS t(c, o)`,
      [at, rows.map((r) => r.carrier.carrierId), rows.map((r) => r.orderId)]);
    await ledger.sql("ANALYZE");
    return rows.map((r) => {
      const cryptogram = computeAuthorizationCryptogram(r.carrier.cryptogramKey, {
        carrierId: Buffer.from(r.carrier.carrierId, "hex"), orderId: Buffer.from(r.orderId, "hex"), merchantId: merchantIdBytes(merchant.merchantId), amount: r.amount, currency: "EUR", atc: r.atc,
      });
      return { orderId: r.orderId, carrierId: r.carrier.carrierId, atc: r.atc, cryptogram: Buffer.from(cryptogram).toString("hex") };
    });
  } finally {
    await platform.close();
  }
}

interface Config { db: string; processes: number; servers: Servers; requests: AuthorizationRequest[]; next: number; warmup: number; settledRows: number; rounds: Round[] }
interface Round { settled: number; refused: number; seconds: number; platformCpuMs: number; serverCpuMs: number; load: number }

/** One measuring round on a configuration: the next slice of its prepared requests, as fast as the clients go. */
async function round(cfg: Config, pg: PgServer, clients: number, budgetMs: number, slice: number): Promise<Round> {
  const requests = cfg.requests.slice(cfg.next, cfg.next + slice);
  const server = serverPids(pg.pid);
  const platformBefore = cpuMs(cfg.servers.pids);
  const serverBefore = cpuMs(server);
  const load = loadavg()[0]!;
  const result = await loadFromChild({ urls: cfg.servers.urls, requests, clients, budgetMs });
  cfg.next += slice;
  return {
    settled: result.settled, refused: result.refused, seconds: result.ms / 1000, load,
    platformCpuMs: cpuMs(cfg.servers.pids) - platformBefore, serverCpuMs: cpuMs(serverPids(pg.pid)) - serverBefore,
  };
}

const median = (xs: number[]): number => {
  const sorted = [...xs].sort((a, b) => a - b);
  return sorted.length ? sorted[Math.floor((sorted.length - 1) / 2)]! : 0;
};

/** Checks the ledger holds exactly the settlements the clients were told of, and sums up the rounds (medians). */
async function summarize(cfg: Config, clients: number): Promise<PostgresRun> {
  const ledger = await PostgresLedger.open(cfg.db);
  try {
    const onDisk = Number((await ledger.sql("SELECT count(*) AS n FROM settlements"))[0]!.n) - cfg.settledRows;
    const told = cfg.rounds.reduce((n, r) => n + r.settled, 0) + cfg.warmup;
    if (onDisk !== told) throw new Error(`bench: clients were told ${told} settlements, the PostgreSQL ledger holds ${onDisk} new ones`);
    const rollbacks = Number((await ledger.sql("SELECT xact_rollback AS n FROM pg_stat_database WHERE datname = current_database()"))[0]!.n);
    const settled = cfg.rounds.reduce((n, r) => n + r.settled, 0);
    return {
      processes: cfg.processes, clients, settledRows: cfg.settledRows, rounds: cfg.rounds.length,
      perSecond: Math.round(median(cfg.rounds.map((r) => r.settled / r.seconds))),
      settled, refused: cfg.rounds.reduce((n, r) => n + r.refused, 0),
      seconds: Math.round(cfg.rounds.reduce((n, r) => n + r.seconds, 0) * 100) / 100,
      platformCpuMsPerSettlement: Math.round((cfg.rounds.reduce((n, r) => n + r.platformCpuMs, 0) / Math.max(1, settled)) * 100) / 100,
      serverCpuMsPerSettlement: Math.round((cfg.rounds.reduce((n, r) => n + r.serverCpuMs, 0) / Math.max(1, settled)) * 100) / 100,
      rollbacks, loadAverage: Math.round(median(cfg.rounds.map((r) => r.load)) * 10) / 10,
    };
  } finally {
    await ledger.close();
  }
}

/**
 * Measures configurations in interleaved rounds (each round runs every configuration in turn,
 * rotating who goes first), after one warm-up slice each, and reports medians: the machine's other
 * load drifts within seconds, and interleaving makes every configuration see the same drift.
 */
async function interleaved(configs: Config[], pg: PgServer, clients: number, rounds: number, budgetMs: number, slice: number): Promise<PostgresRun[]> {
  for (const cfg of configs) {
    const warm = await loadFromChild({ urls: cfg.servers.urls, requests: cfg.requests.slice(0, slice / 2), clients, budgetMs: budgetMs / 2 });
    cfg.next = slice / 2;
    cfg.warmup = warm.settled;
  }
  for (let r = 0; r < rounds; r++) {
    for (let k = 0; k < configs.length; k++) {
      const cfg = configs[(r + k) % configs.length]!;
      cfg.rounds.push(await round(cfg, pg, clients, budgetMs, slice));
    }
  }
  return Promise.all(configs.map((c) => summarize(c, clients)));
}

/**
 * Seeds `n` settled orders by bulk SQL (generate_series), like bench-ledger.ts does for SQLite:
 * filler rows (not verifiable payments) so commits run against indexes of that size. Ids are
 * random hex (md5 of the row number), as the platform's are.
 */
async function seedSettled(db: string, n: number): Promise<number> {
  const started = performance.now();
  const ledger = await PostgresLedger.open(db);
  try {
    const at = Date.now() - 86_400_000;
    await ledger.sql("INSERT INTO issuers VALUES ('bench-issuer', '\\x00', 'dev-plaintext', $1)", [at]);
    await ledger.sql("INSERT INTO merchants (merchant_id, name, qr_key, key_protection, created_at, name_key) VALUES (4000000, 'Bench filler', '\\x00', 'dev-plaintext', $1, 'bench filler')", [at]);
    await ledger.sql("INSERT INTO carriers (carrier_id, issuer_id, state, last_atc, created_at) SELECT lpad(to_hex(i), 16, '0'), 'bench-issuer', 'issued', 0, $1 FROM generate_series(0, 999) i", [at]);
    const chunk = 200_000;
    for (let from = 1; from <= n; from += chunk) {
      const to = Math.min(n, from + chunk - 1);
      await ledger.sql(`INSERT INTO payment_codes (code_id, merchant_id, order_ref, nonce, amount, currency, expires_at_s, code_hex, created_at)
        SELECT i + 1000000000, 4000000, left(md5('r' || i), 16), left(md5('n' || i), 16), 100 + i % 5000, 'EUR', $3::bigint / 1000 + 600, md5('c' || i) || md5('d' || i), $3 FROM generate_series($1::bigint, $2::bigint) i`, [from, to, at]);
      await ledger.sql(`INSERT INTO orders (order_id, code_id, merchant_id, amount, currency, state, created_at)
        SELECT left(md5('o' || i), 24), i + 1000000000, 4000000, 100 + i % 5000, 'EUR', 'settled', $3 FROM generate_series($1::bigint, $2::bigint) i`, [from, to, at]);
      await ledger.sql(`INSERT INTO authorizations (authorization_id, order_id, carrier_id, atc, cryptogram, idempotency_key, request_hash, state, created_at)
        SELECT i + 1000000000, left(md5('o' || i), 24), lpad(to_hex(i % 1000), 16, '0'), i / 1000 + 1, left(md5('g' || i), 16), md5('k' || i), md5('h' || i) || md5('j' || i), 'settled', $3
        FROM generate_series($1::bigint, $2::bigint) i`, [from, to, at]);
      await ledger.sql(`INSERT INTO settlements (settlement_id, order_id, authorization_id, merchant_id, carrier_id, amount, currency, created_at)
        SELECT left(md5('s' || i), 16), left(md5('o' || i), 24), i + 1000000000, 4000000, lpad(to_hex(i % 1000), 16, '0'), 100 + i % 5000, 'EUR', $3
        FROM generate_series($1::bigint, $2::bigint) i`, [from, to, at]);
      await ledger.sql(`INSERT INTO idempotency (idempotency_key, endpoint, request_hash, status, response, created_at)
        SELECT md5('k' || i), 'authorize', md5('h' || i) || md5('j' || i), 200, '{"settlementId":"' || left(md5('s' || i), 16) || '"}', $3
        FROM generate_series($1::bigint, $2::bigint) i`, [from, to, at]);
      await ledger.sql(`INSERT INTO audit (at, entity, entity_id, action, detail)
        SELECT $3, 'order', left(md5('o' || i), 24), 'settled', '{"how":"settled"}' FROM generate_series($1::bigint, $2::bigint) i`, [from, to, at]);
    }
    await ledger.sql("UPDATE carriers SET last_atc = $1 WHERE issuer_id = 'bench-issuer'", [Math.ceil(n / 1000) + 1]);
    await ledger.sql("VACUUM ANALYZE");
  } finally {
    await ledger.close();
  }
  return Math.round((performance.now() - started) / 100) / 10;
}

export function defaultPostgresSizes(env: NodeJS.ProcessEnv = process.env): number[] {
  const given = env.KC_BENCH_PG_SIZES;
  return given ? given.split(",").map((s) => Number(s.trim())).filter((n) => Number.isInteger(n) && n > 0) : [1_000, 100_000];
}

export async function measurePostgresThroughput(opts: PostgresBenchOptions = {}): Promise<PostgresBench> {
  const note = "PostgreSQL 15 private cluster (fsync on, synchronous_commit on): a settlement is acknowledged after its two transactions COMMITted; each platform process is `platform serve` with its own pool of 10, the load generator (64 keep-alive clients, spread over the processes) a process of its own; medians of interleaved rounds; the machine's 2 cores are shared by all of them, the server and other users";
  const skipped = pgServerUnavailable();
  if (skipped) return { skipped, runs: [], sizes: [], note };
  const dir = mkdtempSync(join(tmpdir(), "kc-pg-bench-"));
  let server: PgServer | undefined;
  const configs: Config[] = [];
  try {
    server = await startPgServer();
    const clients = opts.clients ?? 64;
    const rounds = opts.rounds ?? 4;
    const budgetMs = opts.budgetMs ?? 1500;
    const slice = opts.slice ?? 600;
    const orders = slice * (rounds + 1);
    const setup = async (name: string, processes: number, settledRows: number): Promise<Config & { buildSeconds: number }> => {
      const db = await createDatabase(server!, name);
      const buildSeconds = settledRows ? await seedSettled(db, settledRows) : 0;
      const requests = await prepareOrders(db, orders, dir);
      const servers = await startServers(db, processes, dir);
      const cfg = { db, processes, servers, requests, next: 0, warmup: 0, settledRows, rounds: [], buildSeconds };
      configs.push(cfg);
      return cfg;
    };
    const one = await setup("bench_p1", 1, 0);
    const two = await setup("bench_p2", 2, 0);
    const runs = await interleaved([one, two], server, clients, rounds, budgetMs, slice);
    await Promise.all(configs.splice(0).map((c) => c.servers.stop()));
    const sized: Array<Config & { buildSeconds: number }> = [];
    for (const n of opts.sizes ?? defaultPostgresSizes()) sized.push(await setup(`bench_size_${n}`, 1, n));
    const sizeRuns = await interleaved(sized, server, clients, Math.max(2, rounds - 1), budgetMs, slice);
    const sizes = sizeRuns.map((r, i) => ({ ...r, buildSeconds: sized[i]!.buildSeconds }));
    const speedup = runs[0]!.perSecond ? Math.round((runs[1]!.perSecond / runs[0]!.perSecond) * 100) / 100 : undefined;
    return { runs, speedup, sizes, note };
  } finally {
    await Promise.all(configs.map((c) => c.servers.stop()));
    await server?.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}
