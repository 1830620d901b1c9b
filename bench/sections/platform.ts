// The reference platform's authorizations verified and settled per second (host/src/platform/bench.ts),
// with the ledger on disk (fsync per commit) and in memory.
import { measurePlatformThroughput } from "../../host/src/platform/bench.ts";
import type { Row, Section } from "./types.ts";

export async function platformRows(): Promise<Row[]> {
  const t = await measurePlatformThroughput();
  const row = (ledger: string, r: typeof t.durable): Row => ({
    ledger, perSecond: Math.round(r.perSecond), settled: r.settled, seconds: Math.round(r.seconds * 100) / 100,
    persistMsPerCommit: Math.round(r.persistMsPerCommit * 100) / 100, ledgerBytes: r.ledgerBytes,
  });
  return [row("file (durable)", t.durable), row("memory", t.memory), { ledger: "note", perSecond: null, settled: null, seconds: null, persistMsPerCommit: null, ledgerBytes: null, note: t.note }];
}

export const platformSection: Section = {
  name: "platform",
  note: "authorizations verified (cryptogram MAC, ATC) and settled exactly once per second by the reference platform",
  run: platformRows,
};
