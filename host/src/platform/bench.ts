/**
 * Platform throughput for `npm run bench`, through the real service and ledger:
 * - durable settlements per second over HTTP (group commit, concurrent clients in a child process);
 * - the same in-process without HTTP, with group commit (batches) and with one fsync per commit;
 * - commit cost on ledgers of 10³, 10⁵ and 10⁶ settled rows (built with bulk SQL, bench-ledger.ts);
 * - cryptogram verifications per second on one core.
 * Orders, each order's verified online PIN (challenge + PIN block + verification, docs/PLATFORM.md
 * "Online PIN") and the carriers' cryptograms are prepared beforehand; only authorization is timed
 * (verify → record → settle: two commits per settlement).
 */
import { mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { computeAuthorizationCryptogram, diversifyCarrierKeys, verifyAuthorizationCryptogram, type AuthorizationFields } from "../channel/keys.ts";
import { encryptPinBlock, PinPurpose } from "./online-pin.ts";
import { Platform, merchantIdBytes, type AuthorizationRequest } from "./service.ts";
import { startPlatformServer } from "./http.ts";
import { buildSettledLedger } from "./bench-ledger.ts";

export interface ThroughputRun {
  /** Settled authorizations per second (wall clock). */
  perSecond: number;
  /**
   * Settled authorizations per second of this process's CPU time (all its threads): what one core
   * would do if the platform had it to itself. On a shared machine the wall-clock rate is lower.
   */
  perCpuSecond: number;
  settled: number;
  seconds: number;
  /**
   * Mean cost of a commit (ms): the time inside COMMIT plus its share of the WAL fsyncs — what a
   * commit costs when it happens (automatic checkpoints, which run inside COMMIT, included).
   */
  commitMsPerCommit: number;
  /**
   * The deferred part (ms per commit): the window's final checkpoint, which writes the pages the
   * commits changed back into the database file and fsyncs it (only the size runs force one).
   */
  writeBackMsPerCommit: number;
  /** Of that, the time inside COMMIT alone (ms): writing the changed pages to the WAL, and automatic checkpoints. */
  walWriteMsPerCommit: number;
  /** WAL fsyncs per settlement (2 without group commit; below 1 when requests share fsyncs). */
  syncsPerSettlement: number;
  /** Ledger file + WAL at the end (bytes). */
  ledgerBytes: number;
}

export interface SizeRun extends ThroughputRun {
  /** Settled rows in the ledger before the measured authorizations. */
  settledRows: number;
  /** Seconds the bulk build of those rows took (not part of any rate). */
  buildSeconds: number;
}

export interface PlatformThroughput {
  /** Over HTTP with concurrent clients and group commit: the figure that counts. */
  http: ThroughputRun & { clients: number; refused: number };
  /** In-process, group commit: batches of `batch` authorizations share one fsync. */
  batched: ThroughputRun & { batch: number };
  /** In-process, one fsync per commit (what a lone synchronous caller gets). */
  each: ThroughputRun;
  /** The ledger in memory: the cost of the logic without the disk. */
  memory: ThroughputRun;
  /** Commit cost as the ledger grows (one fsync per commit, so each commit is measured alone). */
  sizes: SizeRun[];
  /** Cryptogram verifications (key diversification + MAC + compare) per second on one core. */
  verifyPerSecond: number;
  note: string;
}

export interface BenchOptions {
  httpBudgetMs?: number;
  durableBudgetMs?: number;
  memoryBudgetMs?: number;
  orders?: number;
  clients?: number;
  batch?: number;
  /** Settled rows for the commit-cost runs; default 10³, 10⁵, 10⁶ (KC_BENCH_LEDGER_SIZES=1000,100000 overrides). */
  sizes?: number[];
  sizeOrders?: number;
  /** Interleaved measuring rounds over the sizes (medians are reported). */
  sizeRounds?: number;
  verifyBudgetMs?: number;
}

const BENCH_PIN = "482913";

/**
 * The bench's platform: a cheap PIN-verifier KDF (the PIN steps are set-up, not what is measured) and
 * velocity limits off — a few carriers pay thousands of orders here, and the bench would otherwise
 * measure refusals.
 */
function openBenchPlatform(dbFile: string | undefined): Promise<Platform> {
  return Platform.open({
    dbFile, pin: { kdf: { N: 1024, r: 8, p: 1 } },
    risk: { maxPerWindow: Number.MAX_SAFE_INTEGER, maxAmountPerWindow: Number.MAX_SAFE_INTEGER },
  });
}

function pinContext(purpose: PinPurpose, carrierId: string, orderId: string, challenge: string) {
  return { purpose, carrierId: Buffer.from(carrierId, "hex"), orderId: Buffer.from(orderId, "hex"), challenge: Buffer.from(challenge, "hex") };
}

/** A new carrier with the bench PIN enrolled, as personalisation does it. */
function benchCarrier(platform: Platform): { carrierId: string; cryptogramKey: Uint8Array } {
  const carrier = platform.issueCarrier();
  const enrol = platform.pinChallenge({ carrierId: carrier.carrierId, purpose: "enrol" });
  const pinBlock = encryptPinBlock(BENCH_PIN, Buffer.from(enrol.publicKey, "hex"), pinContext(PinPurpose.ENROL, carrier.carrierId, "", enrol.challenge));
  platform.enrolPin({ carrierId: carrier.carrierId, challenge: enrol.challenge, pinBlock: Buffer.from(pinBlock).toString("hex") });
  return { carrierId: carrier.carrierId, cryptogramKey: platform.carrierKeys(carrier.carrierId).cryptogramKey };
}

/** Carriers the bench's orders are spread over (at least the HTTP run's 64 client lanes). */
export const BENCH_CARRIERS = 128;

export async function prepare(platform: Platform, orders: number): Promise<AuthorizationRequest[]> {
  // One transaction for the whole setup, so preparing costs a single commit.
  return platform.ledger.transaction(() => {
    const merchant = platform.registerMerchant({ name: "Bench" });
    const requests: AuthorizationRequest[] = [];
    // Orders round-robin over BENCH_CARRIERS carriers, each counting its ATC up from 1: the load's
    // concurrent requests come from different carriers, as they do in the field (a carrier authorizes
    // one payment at a time). With a thousand orders of one carrier in flight on 64 client lanes, the
    // ATC window (±32, risk.ts) rightly refused the ones overtaken by 32 others as a cloned carrier's.
    const carriers = Array.from({ length: Math.min(BENCH_CARRIERS, Math.max(1, orders)) }, () => benchCarrier(platform));
    for (let i = 0; i < orders; i++) {
      const carrier = carriers[i % carriers.length]!;
      const code = platform.issuePaymentCode({ merchantId: merchant.merchantId, amount: 100 + i, currency: "EUR" });
      const order = platform.createOrder({ code: code.code });
      // online PIN, as the host does it (not timed: the authorization is what is measured)
      const c = platform.pinChallenge({ carrierId: carrier.carrierId, orderId: order.orderId, purpose: "pay" });
      const pinBlock = Buffer.from(encryptPinBlock(BENCH_PIN, Buffer.from(c.publicKey, "hex"), pinContext(PinPurpose.PAY, carrier.carrierId, order.orderId, c.challenge))).toString("hex");
      platform.verifyOrderPin({ orderId: order.orderId, carrierId: carrier.carrierId, challenge: c.challenge, pinBlock, sessionNonce: "00".repeat(16), requestCounter: i });
      const atc = Math.floor(i / carriers.length) + 1;
      const cryptogram = computeAuthorizationCryptogram(carrier.cryptogramKey, {
        carrierId: Buffer.from(carrier.carrierId, "hex"), orderId: Buffer.from(order.orderId, "hex"),
        merchantId: merchantIdBytes(order.merchantId), amount: order.amount, currency: order.currency, atc,
      });
      requests.push({ orderId: order.orderId, carrierId: carrier.carrierId, atc, cryptogram: Buffer.from(cryptogram).toString("hex") });
    }
    return requests;
  });
}

function fileBytes(file: string | undefined, platform: Platform): number {
  if (file === undefined) return Number(platform.ledger.get("PRAGMA page_count")!.page_count) * Number(platform.ledger.get("PRAGMA page_size")!.page_size);
  let wal = 0;
  try {
    wal = statSync(`${file}-wal`).size;
  } catch {
    /* no WAL */
  }
  return statSync(file).size + wal;
}

/** Runs `work` over the prepared requests and turns the ledger's counters into a ThroughputRun. */
async function timed(platform: Platform, file: string | undefined, work: () => Promise<number>): Promise<ThroughputRun> {
  const before = { ...platform.ledger.stats };
  const started = performance.now();
  const cpu = process.cpuUsage();
  const settled = await work();
  const seconds = (performance.now() - started) / 1000;
  const used = process.cpuUsage(cpu);
  const cpuMs = (used.user + used.system) / 1000;
  const s = platform.ledger.stats;
  const commits = s.commits - before.commits;
  const commitMs = s.commitMs - before.commitMs + (s.syncMs - before.syncMs);
  const writeBackMs = s.checkpointMs - before.checkpointMs;
  return {
    perSecond: Math.round(settled / seconds),
    perCpuSecond: cpuMs > 0 ? Math.round(settled / (cpuMs / 1000)) : 0,
    settled,
    seconds: Math.round(seconds * 1000) / 1000,
    commitMsPerCommit: commits ? Math.round((commitMs / commits) * 1000) / 1000 : 0,
    walWriteMsPerCommit: commits ? Math.round(((s.commitMs - before.commitMs) / commits) * 1000) / 1000 : 0,
    writeBackMsPerCommit: commits ? Math.round((writeBackMs / commits) * 1000) / 1000 : 0,
    syncsPerSettlement: settled ? Math.round(((s.syncs - before.syncs) / settled) * 1000) / 1000 : 0,
    ledgerBytes: fileBytes(file, platform),
  };
}

/** Sequential in-process authorizations; with `batch`, group commit with one `durable()` per batch. */
function inProcess(platform: Platform, requests: AuthorizationRequest[], budgetMs: number, batch?: number): () => Promise<number> {
  return async () => {
    if (batch !== undefined) platform.ledger.enableGroupCommit();
    const started = performance.now();
    let settled = 0;
    while (settled < requests.length && performance.now() - started < budgetMs) {
      const end = Math.min(requests.length, settled + (batch ?? 1));
      for (; settled < end; settled++) platform.authorize(requests[settled]!, `bench-${requests[settled]!.orderId}`);
      if (batch !== undefined) await platform.ledger.durable();
    }
    return settled;
  };
}

/** Prepared orders, then an empty WAL: the measured window pays for its own checkpoints only. */
async function prepared(platform: Platform, orders: number): Promise<AuthorizationRequest[]> {
  const requests = await prepare(platform, orders);
  if (platform.ledger.file !== undefined) platform.ledger.checkpoint();
  return requests;
}

async function runInProcess(file: string | undefined, orders: number, budgetMs: number, batch?: number): Promise<ThroughputRun> {
  const platform = await openBenchPlatform(file);
  try {
    const requests = await prepared(platform, orders);
    return await timed(platform, file, inProcess(platform, requests, budgetMs, batch));
  } finally {
    platform.close();
  }
}

// The load generator runs in a child process (the other core), with keep-alive connections, so the
// platform's process does only the platform's work and its CPU time is the platform's alone. Plain
// JavaScript run by \`node -e\`: no TS loader needed. Requests come in on stdin, the counts go out on stdout.
const LOAD_GENERATOR = `
const http = require("node:http");
let input = "";
process.stdin.on("data", (c) => (input += c));
process.stdin.on("end", () => {
  const { url, urls, requests, clients, budgetMs } = JSON.parse(input);
  // several platform processes: client lane i talks to urls[i % n]
  const targets = (urls || [url]).map((u) => ({ target: new URL(u), agent: new http.Agent({ keepAlive: true, maxSockets: clients }) }));
  let next = 0, settled = 0, refused = 0;
  const started = performance.now();
  function one(lane) {
    const { target, agent } = targets[lane % targets.length];
    if (next >= requests.length || performance.now() - started > budgetMs) return Promise.resolve(false);
    const r = requests[next++];
    const body = JSON.stringify(r);
    return new Promise((resolve) => {
      const req = http.request({ host: target.hostname, port: target.port, path: "/v1/authorizations", method: "POST", agent,
        headers: { host: target.host, "content-type": "application/json", "content-length": Buffer.byteLength(body), "idempotency-key": "bench-" + r.orderId } },
        (res) => { res.resume(); res.on("end", () => { res.statusCode === 201 ? settled++ : refused++; resolve(true); }); });
      req.on("error", () => { refused++; resolve(true); });
      req.end(body);
    });
  }
  async function lane(_, i) { while (await one(i)); }
  Promise.all(Array.from({ length: clients }, lane)).then(() => {
    process.stdout.write(JSON.stringify({ settled, refused, ms: performance.now() - started }));
    for (const t of targets) t.agent.destroy();
  });
});
`;

/** Runs the load generator in a child process: `{url | urls, requests, clients, budgetMs}` → counts and its wall time. */
export function loadFromChild(input: object): Promise<{ settled: number; refused: number; ms: number }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ["-e", LOAD_GENERATOR], { stdio: ["pipe", "pipe", "inherit"] });
    let out = "";
    child.stdout.on("data", (c: Buffer) => (out += c.toString()));
    child.on("error", reject);
    child.on("exit", (code) => {
      try {
        if (code !== 0) throw new Error(`bench: the load generator exited with ${code}`);
        resolve(JSON.parse(out) as { settled: number; refused: number; ms: number });
      } catch (e) {
        reject(e);
      }
    });
    child.stdin.end(JSON.stringify(input));
  });
}

async function runHttp(file: string, orders: number, clients: number, budgetMs: number): Promise<PlatformThroughput["http"]> {
  const platform = await openBenchPlatform(file);
  const requests = await prepared(platform, orders);
  const running = await startPlatformServer({ platform, port: 0 });
  try {
    let refused = 0;
    const run = await timed(platform, file, async () => {
      const result = await loadFromChild({ url: running.url, requests, clients, budgetMs });
      refused = result.refused;
      return result.settled;
    });
    const onDisk = Number(platform.ledger.get("SELECT count(*) AS n FROM settlements")!.n);
    if (onDisk !== run.settled) throw new Error(`bench: clients were told ${run.settled} settlements, the ledger holds ${onDisk}`);
    return { ...run, clients, refused };
  } finally {
    await running.close();
  }
}

const median = (xs: number[]): number => {
  const sorted = [...xs].sort((a, b) => a - b);
  return sorted.length ? sorted[Math.floor((sorted.length - 1) / 2)]! : 0;
};

/**
 * Commit cost at each ledger size. The ledgers are built first, then measured in interleaved rounds
 * (each round runs every size in turn, rotating who goes first) and each figure is the median over
 * the rounds: on a shared machine the disk's fsync latency drifts by several times within a minute,
 * and interleaving makes every size see the same drift. Each round ends with a checkpoint, so the
 * deferred cost of its commits — writing the changed pages back into a database file of this size —
 * is measured too (writeBackMsPerCommit).
 */
async function runAtSizes(dir: string, sizes: number[], orders: number, rounds: number): Promise<SizeRun[]> {
  const ledgers: Array<{ settledRows: number; buildSeconds: number; file: string; platform: Platform; requests: AuthorizationRequest[]; runs: ThroughputRun[] }> = [];
  try {
    for (const settledRows of sizes) {
      const file = join(dir, `ledger-${settledRows}.sqlite`);
      const built = performance.now();
      await buildSettledLedger(file, settledRows);
      const buildSeconds = Math.round((performance.now() - built) / 100) / 10;
      const platform = await openBenchPlatform(file);
      ledgers.push({ settledRows, buildSeconds, file, platform, requests: await prepared(platform, orders), runs: [] });
    }
    const perRound = Math.max(1, Math.floor(orders / rounds));
    for (let round = 0; round < rounds; round++) {
      for (let k = 0; k < ledgers.length; k++) {
        const l = ledgers[(round + k) % ledgers.length]!;
        const slice = l.requests.slice(round * perRound, (round + 1) * perRound);
        const commits = inProcess(l.platform, slice, Infinity);
        l.runs.push(await timed(l.platform, l.file, async () => {
          const settled = await commits();
          l.platform.ledger.checkpoint();
          return settled;
        }));
      }
    }
    return ledgers.map((l) => {
      const settled = l.runs.reduce((n, r) => n + r.settled, 0);
      const seconds = l.runs.reduce((n, r) => n + r.seconds, 0);
      const cpu = l.runs.reduce((n, r) => n + (r.perCpuSecond ? r.settled / r.perCpuSecond : 0), 0);
      return {
        settledRows: l.settledRows, buildSeconds: l.buildSeconds,
        perSecond: Math.round(settled / seconds), perCpuSecond: cpu ? Math.round(settled / cpu) : 0, settled, seconds: Math.round(seconds * 1000) / 1000,
        commitMsPerCommit: median(l.runs.map((r) => r.commitMsPerCommit)),
        walWriteMsPerCommit: median(l.runs.map((r) => r.walWriteMsPerCommit)),
        writeBackMsPerCommit: median(l.runs.map((r) => r.writeBackMsPerCommit)),
        syncsPerSettlement: median(l.runs.map((r) => r.syncsPerSettlement)),
        ledgerBytes: l.runs[l.runs.length - 1]!.ledgerBytes,
      };
    });
  } finally {
    for (const l of ledgers) {
      l.platform.close();
      rmSync(l.file, { force: true });
      rmSync(`${l.file}-wal`, { force: true });
    }
  }
}

/** Platform-side verification of one authorization: derive the carrier's keys, MAC, compare. */
export function measureVerifications(budgetMs = 300): number {
  const master = randomBytes(32);
  const samples = Array.from({ length: 256 }, (_, i) => {
    const fields: AuthorizationFields = {
      carrierId: randomBytes(8), orderId: randomBytes(12), merchantId: merchantIdBytes(1 + i), amount: 1234 + i, currency: "EUR", atc: i + 1,
    };
    return { fields, cryptogram: computeAuthorizationCryptogram(diversifyCarrierKeys(master, fields.carrierId).cryptogramKey, fields) };
  });
  const history = { atcUsed: false, orderAlreadyAuthorized: false };
  let n = 0;
  const started = performance.now();
  while (performance.now() - started < budgetMs) {
    for (const s of samples) {
      const verdict = verifyAuthorizationCryptogram(diversifyCarrierKeys(master, s.fields.carrierId).cryptogramKey, s.fields, s.cryptogram, history);
      if (!verdict.ok) throw new Error("bench: a valid cryptogram did not verify");
    }
    n += samples.length;
  }
  return Math.round(n / ((performance.now() - started) / 1000));
}

export function defaultSizes(env: NodeJS.ProcessEnv = process.env): number[] {
  const given = env.KC_BENCH_LEDGER_SIZES;
  return given ? given.split(",").map((s) => Number(s.trim())).filter((n) => Number.isInteger(n) && n > 0) : [1_000, 100_000, 1_000_000];
}

export async function measurePlatformThroughput(opts: BenchOptions = {}): Promise<PlatformThroughput> {
  const dir = mkdtempSync(join(tmpdir(), "kc-platform-bench-"));
  const orders = opts.orders ?? 6000;
  try {
    const http = await runHttp(join(dir, "http.sqlite"), orders, opts.clients ?? 64, opts.httpBudgetMs ?? 1500);
    const batch = opts.batch ?? 32;
    const batched = { ...(await runInProcess(join(dir, "batched.sqlite"), orders, opts.durableBudgetMs ?? 1000, batch)), batch };
    const each = await runInProcess(join(dir, "each.sqlite"), Math.min(orders, 1000), opts.durableBudgetMs ?? 1000);
    const memory = await runInProcess(undefined, orders, opts.memoryBudgetMs ?? 500);
    const sizes = await runAtSizes(dir, opts.sizes ?? defaultSizes(), opts.sizeOrders ?? 600, opts.sizeRounds ?? 6);
    return {
      http, batched, each, memory, sizes, verifyPerSecond: measureVerifications(opts.verifyBudgetMs),
      note: "each settlement is two commits (verify+record, settle); a commit is durable when its WAL frames are fsynced (docs/PLATFORM.md §Durability); the size runs fsync every commit so commit cost is measured alone",
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
