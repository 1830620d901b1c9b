// Crash and concurrency on the SQLite ledger with real processes: N clients × M orders, each order
// sent K times at once under different idempotency keys, while the platform process is killed
// with SIGKILL at random moments and restarted. Every request is retried with its own key until it
// gets an HTTP answer. Afterwards: no acknowledged settlement lost, no order settled twice, no
// authorization left verified-but-unsettled (an orphaned reservation).
//
// CI runs a bounded version (a few seconds); KC_CRASH_KILLS / KC_CRASH_CLIENTS / KC_CRASH_ORDERS /
// KC_CRASH_COPIES make it longer, e.g. KC_CRASH_KILLS=40 KC_CRASH_ORDERS=200 npx vitest run hil-tests/platform-crash.test.ts
import { describe, it, expect, afterEach } from "vitest";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { randomUUID } from "node:crypto";
import { Ledger } from "../host/src/platform/ledger.ts";
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

interface Answer { status: number; body: { settlementId?: string; orderId?: string; error?: { reason: string } } }

/** POSTs until an HTTP answer arrives, following the platform across restarts (its URL changes). */
async function postUntilAnswered(current: () => string, path: string, body: unknown, key: string, deadline: number): Promise<Answer> {
  for (;;) {
    try {
      const res = await fetch(current() + path, {
        method: "POST", headers: { "content-type": "application/json", "idempotency-key": key }, body: JSON.stringify(body),
        signal: AbortSignal.timeout(5000),
      });
      return { status: res.status, body: (await res.json()) as Answer["body"] };
    } catch {
      if (Date.now() > deadline) throw new Error(`no answer for ${key} before the deadline`);
      await new Promise((r) => setTimeout(r, 10 + Math.random() * 20)); // the platform is down or restarting
    }
  }
}

describe("platform crash and concurrency (SQLite ledger, SIGKILL, restart)", () => {
  it(`${CLIENTS} clients × ${ORDERS} orders × ${COPIES} concurrent copies, ${KILLS} SIGKILLs: nothing acknowledged lost, nothing settled twice, nothing orphaned`, async () => {
    const dir = mkdtempSync(join(tmpdir(), "kc-crash-"));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const file = join(dir, "ledger.sqlite");
    const perClient: AuthorizationRequest[][] = await prepareOrders(file, CLIENTS, ORDERS);

    let platform: PlatformProcess = await startPlatformProcess(file);
    cleanups.push(async () => {
      if (platform.child.exitCode === null && platform.child.signalCode === null) await killHard(platform);
    });
    let url = platform.url;
    const deadline = Date.now() + 60_000 + KILLS * 5_000;
    const answers = new Map<string, Answer[]>(); // orderId → every answer its copies got
    let inFlight = 0;
    let inFlightAtKills = 0;

    const clients = perClient.map(async (auths) => {
      for (const auth of auths) {
        const copies = Array.from({ length: COPIES }, async () => {
          inFlight++;
          try {
            return await postUntilAnswered(() => url, "/v1/authorizations", auth, randomUUID(), deadline);
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
      await killHard(platform);
      kills++;
      platform = await startPlatformProcess(file); // its open recovers what the kill interrupted
      url = platform.url;
    }
    await load;
    platform.child.kill("SIGTERM");
    expect((await platform.exited).code).toBe(0);

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
    const ledger = await Ledger.open(file);
    try {
      const settlements = ledger.all("SELECT order_id, settlement_id FROM settlements");
      const onDisk = new Map(settlements.map((r) => [String(r.order_id), String(r.settlement_id)]));
      for (const [orderId, settlementId] of acked) expect(onDisk.get(orderId), `acknowledged settlement of ${orderId} lost`).toBe(settlementId);
      expect(settlements.length).toBe(onDisk.size); // at most one settlement per order
      expect(acked.size).toBe(CLIENTS * ORDERS); // every order got its answer, so every order settled …
      expect(onDisk.size).toBe(CLIENTS * ORDERS); // … exactly once
      expect(ledger.all("SELECT authorization_id FROM authorizations WHERE state <> 'settled'")).toEqual([]);
      expect(ledger.get("SELECT count(*) AS n FROM authorizations a LEFT JOIN settlements s USING (authorization_id) WHERE s.settlement_id IS NULL")!.n).toBe(0);
      expect(ledger.get("SELECT count(*) AS n FROM orders WHERE state <> 'settled'")!.n).toBe(0);
      const perOrder = ledger.all("SELECT entity_id, count(*) AS n FROM audit WHERE entity = 'order' AND action = 'settled' GROUP BY entity_id HAVING n > 1");
      expect(perOrder).toEqual([]);
      const recovered = Number(ledger.get("SELECT count(*) AS n FROM audit WHERE action = 'settled' AND detail LIKE '%\"how\":\"recovered\"%'")!.n);
      console.log(`crash test: ${kills} SIGKILLs with ${inFlightAtKills} requests in flight at the kills, ${recovered} settlements recovered at restart, ${acked.size} orders settled once`);
    } finally {
      ledger.close();
    }
    expect(kills).toBeGreaterThan(0);
  });
});
