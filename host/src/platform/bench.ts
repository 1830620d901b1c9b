/**
 * Platform throughput for `npm run bench`: authorizations verified and settled per second,
 * in-process (no HTTP), through the real service and ledger. Orders and the carriers' cryptograms
 * are prepared beforehand; only `authorize` (verify → record → settle, two durable commits) is timed.
 */
import { mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { computeAuthorizationCryptogram } from "../channel/keys.ts";
import { Platform, merchantIdBytes, type AuthorizationRequest } from "./service.ts";

export interface ThroughputRun {
  /** Settled authorizations per second. */
  perSecond: number;
  settled: number;
  seconds: number;
  /** Mean time spent writing the ledger image per commit (0 in memory). */
  persistMsPerCommit: number;
  /** Size of the ledger image at the end (bytes; what each commit rewrites). */
  ledgerBytes: number;
}

export interface PlatformThroughput {
  /** With the ledger on disk, fsync'd per commit: the figure that counts. */
  durable: ThroughputRun;
  /** Same work with the ledger in memory only: the cost of the logic without the disk. */
  memory: ThroughputRun;
  note: string;
}

async function prepare(platform: Platform, orders: number): Promise<AuthorizationRequest[]> {
  // One transaction for the whole setup, so preparing costs a single ledger write.
  return platform.ledger.transaction(() => {
    const merchant = platform.registerMerchant({ name: "Bench" });
    const carrier = platform.issueCarrier();
    const { cryptogramKey } = platform.carrierKeys(carrier.carrierId);
    const requests: AuthorizationRequest[] = [];
    for (let i = 0; i < orders; i++) {
      const code = platform.issuePaymentCode({ merchantId: merchant.merchantId, amount: 100 + i, currency: "EUR" });
      const order = platform.createOrder({ code: code.code });
      const atc = i + 1;
      const cryptogram = computeAuthorizationCryptogram(cryptogramKey, {
        carrierId: Buffer.from(carrier.carrierId, "hex"), orderId: Buffer.from(order.orderId, "hex"),
        merchantId: merchantIdBytes(order.merchantId), amount: order.amount, currency: order.currency, atc,
      });
      requests.push({ orderId: order.orderId, carrierId: carrier.carrierId, atc, cryptogram: Buffer.from(cryptogram).toString("hex") });
    }
    return requests;
  });
}

async function run(dbFile: string | undefined, orders: number, budgetMs: number): Promise<ThroughputRun> {
  const platform = await Platform.open({ dbFile });
  try {
    const requests = await prepare(platform, orders);
    const commitsBefore = platform.ledger.stats.commits;
    const persistBefore = platform.ledger.stats.syncMs;
    const started = performance.now();
    let settled = 0;
    for (const req of requests) {
      platform.authorize(req, `bench-${req.atc}`);
      settled++;
      if (performance.now() - started > budgetMs) break;
    }
    const seconds = (performance.now() - started) / 1000;
    const commits = platform.ledger.stats.commits - commitsBefore;
    const ledgerBytes = dbFile
      ? statSync(dbFile).size
      : Number(platform.ledger.get("PRAGMA page_count")!.page_count) * Number(platform.ledger.get("PRAGMA page_size")!.page_size);
    return {
      perSecond: Math.round(settled / seconds),
      settled,
      seconds: Math.round(seconds * 1000) / 1000,
      persistMsPerCommit: commits ? Math.round(((platform.ledger.stats.syncMs - persistBefore) / commits) * 1000) / 1000 : 0,
      ledgerBytes,
    };
  } finally {
    platform.close();
  }
}

/** About 2 s in all: ~1.2 s durable, ~0.4 s in memory, plus setup. */
export async function measurePlatformThroughput(opts: { durableBudgetMs?: number; memoryBudgetMs?: number; orders?: number } = {}): Promise<PlatformThroughput> {
  const dir = mkdtempSync(join(tmpdir(), "kc-platform-bench-"));
  try {
    const durable = await run(join(dir, "ledger.sqlite"), opts.orders ?? 300, opts.durableBudgetMs ?? 1200);
    const memory = await run(undefined, opts.orders ?? 300, opts.memoryBudgetMs ?? 400);
    return {
      durable, memory,
      note: "each settled authorization is two commits (verify+record, settle), each rewriting the whole ledger image with fsync; see docs/PLATFORM.md §Performance",
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
