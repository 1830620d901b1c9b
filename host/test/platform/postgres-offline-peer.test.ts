// Offline clearing, peer payments and merchant names on PostgreSQL: the same Work code as on SQLite
// (offline.test.ts, peer/platform.test.ts, merchant-names.test.ts cover the rules there), here with
// two Platform instances on one database standing for two processes, racing each other. Skipped
// with a printed reason where no PostgreSQL server can start (pg-helpers.ts).
import { describe, it, expect, beforeAll, afterAll } from "vitest";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { randomBytes, randomUUID } from "node:crypto";
import { Platform, PlatformError } from "../../src/platform/service.ts";
import type { PostgresLedger } from "../../src/platform/postgres.ts";
import { deskOf, PIN_ORDER_BYTES } from "../../src/platform/peer.ts";
import { encryptPinBlock, PinPurpose } from "../../src/platform/online-pin.ts";
import { encodeInstruction, encodeRequest, instructionId, KIND_INSTRUCTION, KIND_REQUEST, peerKey, sealPeer, sha256 } from "../../src/peer/messages.ts";
import { verifyLicense, verifyRevocationList } from "../../src/offline/index.ts";
import { NOW_MS, TEST_AUTHORITY_LEVELS, TEST_CARRIER_LEVELS, TODAY, SoftSigner, payRequest, record, hex } from "../offline/fixtures.ts";
import { TEST_PIN, TEST_PIN_OPTIONS } from "./helpers.ts";
import { enrolPin, pgFixture, type PgFixture } from "./pg-helpers.ts";

let fx: PgFixture;
const keyDir = mkdtempSync(join(tmpdir(), "kc-pg-op-keys-"));
beforeAll(async () => {
  fx = await pgFixture();
}, 60_000);
afterAll(async () => {
  await fx?.server?.stop();
  rmSync(keyDir, { recursive: true, force: true });
});

const clock = NOW_MS;
const open = (db: string) => Platform.open({
  db, adminKeyFile: join(keyDir, `${randomUUID()}.admin-key`), pin: TEST_PIN_OPTIONS, now: () => clock,
  platformKey: new Uint8Array(32).fill(7), offline: { authorityLevels: TEST_AUTHORITY_LEVELS },
});
const pgOf = (p: Platform) => (p.engine as { ledger: PostgresLedger }).ledger;
const unhex = (h: string): Uint8Array => new Uint8Array(Buffer.from(h, "hex"));

async function outcome<T>(p: Promise<T>): Promise<string> {
  try {
    await p;
    return "accepted";
  } catch (e) {
    if (e instanceof PlatformError) return e.reason;
    throw e;
  }
}

const LIMITS = { currency: "EUR", perTransactionLimit: 5000, cumulativeLimit: 6000, expiry: 20271231 };

describe("offline credit on PostgreSQL, two processes", () => {
  it("one authority key, distinct one-time keys for concurrent licenses, and clearing exactly once with the cumulative limit held across processes", async (ctx) => {
    if (!fx.server) return ctx.skip();
    const db = await fx.db("offline");
    const [a, b] = await Promise.all([open(db), open(db)]);
    try {
      // Both ask for the authority key at once: one key is created, both see it.
      const [ka, kb] = await Promise.all([a.run((o) => o.offline.publicKey()), b.run((o) => o.offline.publicKey())]);
      expect(hex(ka)).toBe(hex(kb));
      const carriers = await Promise.all([1, 2, 3, 4].map(() => a.run((o) => o.issueCarrier())));
      // Licenses from both processes at once: every one signed by a distinct authority one-time key.
      const issued = await Promise.all(carriers.map((c, i) => (i % 2 ? a : b).run((o) => o.offline.issueOfflineKey(c.carrierId, TEST_CARRIER_LEVELS, LIMITS))));
      const rows = await pgOf(a).sql("SELECT authority_index AS i FROM offline_licenses UNION ALL SELECT authority_index FROM offline_revocation_lists");
      expect(new Set(rows.map((r) => Number(r.i))).size).toBe(rows.length);
      expect(new Set(issued.map((l) => l.serial)).size).toBe(4);
      for (const l of issued) expect(verifyLicense(l.license, ka, { today: TODAY }).body.serial).toBe(l.serial);

      const merchant = await a.run((o) => o.registerMerchant({ name: "Night Kiosk" }));
      const m = merchant.merchantId;
      const signer = new SoftSigner(issued[0]!.body.carrierId, issued[0]!.privateState);
      const license = issued[0]!.license;
      // The same record uploaded by both processes at once: it clears once.
      const one = record(license, signer.sign(payRequest({ amount: 2500 })));
      const [ra, rb] = await Promise.all([a.run((o) => o.clearOffline(m, { records: [one] })), b.run((o) => o.clearOffline(m, { records: [one] }))]);
      expect([ra.results[0]!.status, rb.results[0]!.status].sort()).toEqual(["already-cleared", "cleared"]);
      // Two different records of the carrier at once, each within its limit, together over the
      // cumulative limit (2500 + 2000 + 2000 > 6000): exactly one of them clears.
      const x = record(license, signer.sign(payRequest({ amount: 2000 })));
      const y = record(license, signer.sign(payRequest({ amount: 2000 })));
      const [rx, ry] = await Promise.all([a.run((o) => o.clearOffline(m, { records: [x] })), b.run((o) => o.clearOffline(m, { records: [y] }))]);
      const both = [rx.results[0]!, ry.results[0]!];
      expect(both.map((r) => r.status).sort()).toEqual(["cleared", "refused"]);
      expect(both.find((r) => r.status === "refused")).toMatchObject({ reason: "over-cumulative-limit" });
      expect(await pgOf(a).sql("SELECT count(*)::int AS n, sum(amount)::int AS s FROM offline_clearings")).toEqual([{ n: 2, s: 4500 }]);

      // Revocation from one process, the signed list read from the other.
      const revoked = await a.run((o) => o.revokeOffline({ serial: issued[1]!.serial, reason: "lost" }));
      const list = await b.run((o) => o.offlineRevocations());
      expect(list.sequence).toBe(revoked.sequence);
      expect(verifyRevocationList(unhex(list.list), ka).revoked).toContain(issued[1]!.serial);
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
  }, 60_000);
});

describe("peer payments on PostgreSQL, two processes", () => {
  it("a request registers once and an instruction sent to both processes at once settles once", async (ctx) => {
    if (!fx.server) return ctx.skip();
    const db = await fx.db("peer");
    const [a, b] = await Promise.all([open(db), open(db)]);
    try {
      const [payee, payer] = await Promise.all([a.run((o) => o.issueCarrier()), a.run((o) => o.issueCarrier())]);
      await enrolPin(a, payer.carrierId);
      const kpeer = async (id: string) => peerKey((await a.run((o) => o.carrierKeys(id))).cryptogramKey);
      const nonce = randomBytes(16);
      const r = encodeRequest({ payeeId: unhex(payee.carrierId), amount: 700, currency: "EUR", expiry: Math.floor(clock / 1000) + 300, nonce });
      const sealed = hex(sealPeer(await kpeer(payee.carrierId), KIND_REQUEST, unhex(payee.carrierId), nonce, r));
      const regs = await Promise.all([a, b].map((p) => p.run((o) => deskOf(o).registerRequest({ sealed }))));
      expect(regs.map((x) => x.created).sort()).toEqual([false, true]);
      const digest = hex(sha256(r));
      const instruct = async (atc: number) => hex(sealPeer(await kpeer(payer.carrierId), KIND_INSTRUCTION, unhex(payer.carrierId), instructionId(atc),
        encodeInstruction({ payerId: unhex(payer.carrierId), digest: sha256(r), amount: 700, currency: "EUR", atc })));
      const c = await a.run((o) => deskOf(o).pinChallenge({ carrierId: payer.carrierId, requestDigest: digest }));
      const pinBlock = hex(encryptPinBlock(TEST_PIN, unhex(c.publicKey), { purpose: PinPurpose.PAY, carrierId: unhex(payer.carrierId), orderId: unhex(digest.slice(0, PIN_ORDER_BYTES * 2)), challenge: unhex(c.challenge) }));
      // The PIN verdict is recorded first, then the same instruction goes to both processes at once.
      const ins = await instruct(1);
      const first = await a.run((o) => deskOf(o).submitInstruction({ sealed: ins, challenge: c.challenge, pinBlock })).catch((e) => e);
      const again = await Promise.all([a, b].map((p) => p.run((o) => deskOf(o).submitInstruction({ sealed: ins }))));
      expect(first).not.toBeInstanceOf(Error);
      expect(again.map((s) => s.settlementId)).toEqual([first.settlementId, first.settlementId]);
      // Another instruction of the payer for the paid request, on both at once: refused on both.
      const other = await instruct(2);
      expect(await Promise.all([a, b].map((p) => outcome(p.run((o) => deskOf(o).submitInstruction({ sealed: other })))))).toEqual(["request-paid", "request-paid"]);
      expect(await pgOf(a).sql("SELECT count(*)::int AS n FROM peer_settlements")).toEqual([{ n: 1 }]);
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
  }, 60_000);

  it("two payers' instructions for one request, at once in two processes: one settles, the other is refused and nothing else moves", async (ctx) => {
    if (!fx.server) return ctx.skip();
    const db = await fx.db("peer_race");
    const [a, b] = await Promise.all([open(db), open(db)]);
    try {
      const [payee, p1, p2] = await Promise.all([1, 2, 3].map(() => a.run((o) => o.issueCarrier())));
      await Promise.all([enrolPin(a, p1!.carrierId), enrolPin(a, p2!.carrierId)]);
      const key = async (id: string) => peerKey((await a.run((o) => o.carrierKeys(id))).cryptogramKey);
      const nonce = randomBytes(16);
      const r = encodeRequest({ payeeId: unhex(payee!.carrierId), amount: 900, currency: "EUR", expiry: Math.floor(clock / 1000) + 300, nonce });
      const sealedRequest = hex(sealPeer(await key(payee!.carrierId), KIND_REQUEST, unhex(payee!.carrierId), nonce, r));
      await a.run((o) => deskOf(o).registerRequest({ sealed: sealedRequest }));
      const digest = hex(sha256(r));
      const submit = async (p: Platform, payerId: string) => {
        const c = await p.run((o) => deskOf(o).pinChallenge({ carrierId: payerId, requestDigest: digest }));
        const pinBlock = hex(encryptPinBlock(TEST_PIN, unhex(c.publicKey), { purpose: PinPurpose.PAY, carrierId: unhex(payerId), orderId: unhex(digest.slice(0, PIN_ORDER_BYTES * 2)), challenge: unhex(c.challenge) }));
        const sealed = hex(sealPeer(await key(payerId), KIND_INSTRUCTION, unhex(payerId), instructionId(1), encodeInstruction({ payerId: unhex(payerId), digest: sha256(r), amount: 900, currency: "EUR", atc: 1 })));
        return outcome(p.run((o) => deskOf(o).submitInstruction({ sealed, challenge: c.challenge, pinBlock })));
      };
      expect((await Promise.all([submit(a, p1!.carrierId), submit(b, p2!.carrierId)])).sort()).toEqual(["accepted", "request-paid"]);
      expect(await pgOf(a).sql("SELECT count(*)::int AS n FROM peer_settlements")).toEqual([{ n: 1 }]);
      expect(await pgOf(a).sql("SELECT state FROM peer_requests")).toEqual([{ state: "settled" }]);
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
  }, 60_000);
});

describe("merchant names on PostgreSQL, two processes", () => {
  // both names are ones a carrier's screen can show (Latin-1), so only the confusable rule can refuse
  // one ("Café" vs "Cafe": the same once accents are folded; distinct name keys)
  it("two confusable names registered at once: one is registered, the other refused", async (ctx) => {
    if (!fx.server) return ctx.skip();
    const db = await fx.db("names");
    const [a, b] = await Promise.all([open(db), open(db)]);
    try {
      const [x, y] = await Promise.all([outcome(a.run((o) => o.registerMerchant({ name: "Café Zeta" }))), outcome(b.run((o) => o.registerMerchant({ name: "Cafe Zeta" })))]);
      expect([x, y].sort()).toEqual(["accepted", "merchant-name-confusable"]);
      expect(await pgOf(a).sql("SELECT count(*)::int AS n FROM merchants")).toEqual([{ n: 1 }]);
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
  }, 60_000);
});
