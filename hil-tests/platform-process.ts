// A real `keycarrier platform serve` process on a ledger (a SQLite file or a postgres:// URL), for
// the tests that need a second process or a SIGKILL: the platform's single-writer lock, its crash
// recovery and several processes on one PostgreSQL database are properties of processes, which an
// in-process Ledger cannot show.
import { spawn, type ChildProcess } from "node:child_process";
import { join } from "node:path";
import { computeAuthorizationCryptogram } from "../host/src/channel/keys.ts";
import { Platform, merchantIdBytes, type AuthorizationRequest } from "../host/src/platform/service.ts";
import { enrolPin, verifyOrderPin, TEST_PIN_OPTIONS } from "../host/test/platform/helpers.ts";
import { prepareOrdersOn } from "../host/test/platform/pg-helpers.ts";
import { isPostgresUrl } from "../host/src/platform/ledger.ts";

const BIN = join(import.meta.dirname, "..", "host", "bin", "keycarrier.mjs");

export interface PlatformProcess {
  child: ChildProcess;
  url: string;
  /** Resolves when the process has ended (code or signal), with everything it wrote to stderr. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }>;
}

export interface ProcessOutcome { code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }

/**
 * Spawns `keycarrier platform serve --port 0 --db DB --json`; resolves with its URL once it listens,
 * rejects if it exits first. `home` is its KEYCARRIER_HOME (where a PostgreSQL platform writes the admin key).
 */
export function startPlatformProcess(dbFile: string, home?: string): Promise<PlatformProcess> {
  const child = spawn(process.execPath, [BIN, "platform", "serve", "--port", "0", "--db", dbFile, "--json"], {
    stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, KEYCARRIER_PLATFORM_KEY: "", ...(home ? { KEYCARRIER_HOME: home } : {}) },
  });
  let stdout = "";
  let stderr = "";
  child.stderr!.on("data", (c: Buffer) => (stderr += c.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }>((resolve) => {
    child.on("exit", (code, signal) => resolve({ code, signal, stderr }));
  });
  return new Promise((resolve, reject) => {
    child.stdout!.on("data", (c: Buffer) => {
      const firstLine = !stdout.includes("\n");
      stdout += c.toString();
      if (!firstLine || !stdout.includes("\n")) return;
      // The first line is the listening record {"url":…}; anything else (an error object) is left for the exit.
      let url: unknown;
      try {
        url = (JSON.parse(stdout.split("\n")[0]!) as { url?: unknown }).url;
      } catch {
        /* not JSON */
      }
      if (typeof url === "string") resolve({ child, url, exited });
    });
    void exited.then((r) => reject(Object.assign(new Error(`platform process exited (${r.code ?? r.signal}) before listening: ${r.stderr.trim()} ${stdout.trim()}`), { outcome: { ...r, stdout } })));
  });
}

/** Runs `platform serve` expecting it to refuse to start; resolves with what it printed and its exit code. */
export async function platformProcessOutcome(dbFile: string): Promise<ProcessOutcome> {
  try {
    const started = await startPlatformProcess(dbFile);
    started.child.kill("SIGKILL");
    await started.exited;
    return { code: 0, signal: null, stdout: started.url, stderr: "" };
  } catch (e) {
    const outcome = (e as { outcome?: ProcessOutcome }).outcome;
    if (!outcome) throw e;
    return outcome;
  }
}

/** Kills with SIGKILL (no handler runs, nothing is flushed by the process) and waits until it is gone. */
export async function killHard(p: PlatformProcess): Promise<void> {
  p.child.kill("SIGKILL");
  await p.exited;
}

/**
 * Prepares a ledger in this process (then closes it): `carriers` carriers, each with its PIN
 * enrolled, and `ordersPerCarrier` open orders each whose online PIN was verified (as the host does
 * before PAY; without it the platform refuses the authorization with pin-not-verified), with the
 * authorization each carrier would send (ATC 1, 2, … per carrier). The PIN verifier uses the tests'
 * cheap scrypt parameters (stored per row, so the served platform checks nothing with them here).
 * Velocity limits (30 payments per carrier per hour) bound `ordersPerCarrier` for a served platform.
 */
export async function prepareOrders(dbFile: string, carriers: number, ordersPerCarrier: number, adminKeyFile?: string): Promise<AuthorizationRequest[][]> {
  if (isPostgresUrl(dbFile)) {
    const platform = await Platform.open({ db: dbFile, adminKeyFile, pin: TEST_PIN_OPTIONS });
    try {
      return await prepareOrdersOn(platform, carriers, ordersPerCarrier);
    } finally {
      await platform.close();
    }
  }
  const platform = await Platform.open({ dbFile, pin: TEST_PIN_OPTIONS });
  try {
    return platform.ledger.transaction(() => {
      const merchant = platform.registerMerchant({ name: "Crash Café" });
      return Array.from({ length: carriers }, () => {
        const carrier = platform.issueCarrier();
        enrolPin(platform, carrier.carrierId);
        const { cryptogramKey } = platform.carrierKeys(carrier.carrierId);
        return Array.from({ length: ordersPerCarrier }, (_, i) => {
          const code = platform.issuePaymentCode({ merchantId: merchant.merchantId, amount: 100 + i, currency: "EUR" });
          const order = platform.createOrder({ code: code.code });
          const verdict = verifyOrderPin(platform, carrier.carrierId, order.orderId);
          if (verdict.verdict !== 0) throw new Error(`test setup: the PIN was not accepted (verdict ${verdict.verdict})`);
          const atc = i + 1;
          const cryptogram = computeAuthorizationCryptogram(cryptogramKey, {
            carrierId: Buffer.from(carrier.carrierId, "hex"), orderId: Buffer.from(order.orderId, "hex"),
            merchantId: merchantIdBytes(order.merchantId), amount: order.amount, currency: order.currency, atc,
          });
          return { orderId: order.orderId, carrierId: carrier.carrierId, atc, cryptogram: Buffer.from(cryptogram).toString("hex") };
        });
      });
    });
  } finally {
    platform.close();
  }
}
