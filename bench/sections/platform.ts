// The reference platform (host/src/platform/bench.ts): durable settlements per second over HTTP with
// group commit and in-process, commit cost as the ledger grows (10³ / 10⁵ / 10⁶ settled rows; the
// 10⁶ ledger is built with bulk SQL first, about a minute; KC_BENCH_LEDGER_SIZES=1000,100000 skips
// it), and cryptogram verifications per second on one core. Then PostgreSQL (bench-postgres.ts, a
// private cluster started for the run; skipped with the reason where none can start): durable
// settlements per second over HTTP with 1 and 2 platform processes on one database, and with 1
// process on databases seeded with 10³ / 10⁵ settled rows (KC_BENCH_PG_SIZES=1000,100000,1000000 to change).
import { measurePlatformThroughput, type ThroughputRun } from "../../host/src/platform/bench.ts";
import { measurePostgresThroughput } from "../../host/src/platform/bench-postgres.ts";
import type { Row, Section } from "./types.ts";

export async function platformRows(): Promise<Row[]> {
  const t = await measurePlatformThroughput();
  const row = (mode: string, r: ThroughputRun, extra: Row = {}): Row => ({
    mode, perSecond: r.perSecond, perCpuSecond: r.perCpuSecond, settled: r.settled, seconds: Math.round(r.seconds * 100) / 100,
    commitMs: Math.round(r.commitMsPerCommit * 1000) / 1000, walWriteMs: Math.round(r.walWriteMsPerCommit * 1000) / 1000, syncsPerSettlement: r.syncsPerSettlement,
    ledgerMB: Math.round(r.ledgerBytes / 1e5) / 10, ...extra,
  });
  const smallest = t.sizes[0];
  return [
    row(`durable, HTTP, ${t.http.clients} clients, group commit`, t.http, { refused: t.http.refused }),
    row(`durable, in-process, group commit (batches of ${t.batched.batch})`, t.batched),
    row("durable, in-process, fsync per commit", t.each),
    row("memory (no disk: the logic alone)", t.memory),
    ...t.sizes.map((s) => row(`commit cost at ${s.settledRows.toLocaleString("en")} settled rows (fsync per commit)`, s, {
      settledRows: s.settledRows, buildSeconds: s.buildSeconds,
      commitCostVsSmallest: smallest ? Math.round((s.commitMsPerCommit / smallest.commitMsPerCommit) * 100) / 100 : null,
      writeBackMs: s.writeBackMsPerCommit,
      withWriteBackVsSmallest: smallest
        ? Math.round(((s.commitMsPerCommit + s.writeBackMsPerCommit) / (smallest.commitMsPerCommit + smallest.writeBackMsPerCommit)) * 100) / 100
        : null,
    })),
    { mode: "cryptogram verifications per second, one core", perSecond: t.verifyPerSecond },
    { mode: "note", note: t.note },
    ...(await postgresRows()),
  ];
}

async function postgresRows(): Promise<Row[]> {
  const pg = await measurePostgresThroughput();
  if (pg.skipped) return [{ mode: "PostgreSQL", note: `skipped: ${pg.skipped}` }];
  const row = (mode: string, r: (typeof pg.runs)[number], extra: Row = {}): Row => ({
    mode, perSecond: r.perSecond, settled: r.settled, seconds: r.seconds, rounds: r.rounds, refused: r.refused, rollbacks: r.rollbacks,
    platformCpuMs: r.platformCpuMsPerSettlement, serverCpuMs: r.serverCpuMsPerSettlement, loadAverage: r.loadAverage, ...extra,
  });
  return [
    ...pg.runs.map((r) => row(`PostgreSQL, durable, HTTP, ${r.clients} clients, ${r.processes} platform process${r.processes > 1 ? "es" : ""}`, r)),
    { mode: "PostgreSQL, 2 processes ÷ 1 process, settled per second", speedup: pg.speedup ?? null },
    ...pg.sizes.map((r) => row(`PostgreSQL, 1 process, at ${r.settledRows.toLocaleString("en")} settled rows`, r, { settledRows: r.settledRows, buildSeconds: r.buildSeconds })),
    { mode: "PostgreSQL note", note: pg.note },
  ];
}

export const platformSection: Section = {
  name: "platform",
  note: "authorizations verified (cryptogram MAC, ATC) and settled exactly once per second by the reference platform; the machine may be shared, so compare runs, not single figures",
  run: platformRows,
};
