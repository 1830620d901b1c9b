/**
 * Builds a large ledger for the bench only: `n` settled orders written with bulk SQL (no
 * cryptography, no per-row round trips), each a payment code, an order, an authorization, a
 * settlement, an idempotency answer and two audit rows. The rows are not verifiable payments;
 * they are there so commits run against B-trees of realistic size. Never used by tests or the platform.
 *
 * Ids: the platform's are random, so its new keys land anywhere in each index. The filler's ids are
 * spread evenly over the same key space but generated in increasing order (id = row × 2^48/n, in
 * hex), so building appends at each index's right edge (minutes faster at 10⁶) while the measured
 * authorizations' random ids still land among the filler's keys, on random leaves, as in service.
 */
import Database from "better-sqlite3";
import { closeSync, fsyncSync, openSync } from "node:fs";
import { Ledger } from "./ledger.ts";

/** Carriers the filler spreads its authorizations over (ATC = row / CARRIERS + 1 each). */
const CARRIERS = 1000;
/** Rows per bulk INSERT … SELECT (bounded, so the statement's temp space stays small). */
const CHUNK = 100_000;

/** SQL for a hex id of `hexDigits` digits, spread over the key space and increasing with `expr` (1 … n). */
function spreadHex(expr: string, n: number, hexDigits: number, tag: number): string {
  const step = Math.floor(2 ** 48 / (n + 1));
  return `printf('%012x', (${expr}) * ${step}) || printf('%0${hexDigits - 12}x', ${tag})`;
}

export async function buildSettledLedger(file: string, n: number): Promise<void> {
  (await Ledger.open(file)).close(); // the real schema, by the real migrations
  const db = new Database(file);
  try {
    db.pragma("journal_mode = OFF"); // a bench fixture: no crash safety needed while filling
    db.pragma("synchronous = OFF");
    db.pragma("cache_size = -524288"); // 512 MiB while the random-key indexes grow
    const at = Date.now() - 86_400_000;
    db.exec("BEGIN");
    db.prepare("INSERT INTO issuers VALUES ('bench-issuer', randomblob(32), 'dev-plaintext', ?)").run(at);
    db.prepare("INSERT INTO merchants (merchant_id, name, qr_key, key_protection, created_at, name_key) VALUES (1, 'Bench filler', randomblob(32), 'dev-plaintext', ?, 'bench filler')").run(at);
    db.prepare(`WITH RECURSIVE k(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM k WHERE i < ${CARRIERS - 1})
      INSERT INTO carriers (carrier_id, issuer_id, state, last_atc, created_at) SELECT printf('%016x', i), 'bench-issuer', 'issued', ${Math.ceil(n / CARRIERS)}, ? FROM k`).run(at);
    db.exec("COMMIT");
    for (let from = 1; from <= n; from += CHUNK) {
      const to = Math.min(n, from + CHUNK - 1);
      db.exec("BEGIN");
      db.prepare(`WITH RECURSIVE k(i) AS (SELECT ? UNION ALL SELECT i + 1 FROM k WHERE i < ?)
        INSERT INTO payment_codes (code_id, merchant_id, order_ref, nonce, amount, currency, expires_at_s, code_hex, created_at)
        SELECT i, 1, ${spreadHex("i", n, 16, 1)}, ${spreadHex("i", n, 16, 2)}, 100 + i % 5000, 'EUR', ? / 1000 + 600, ${spreadHex("i", n, 96, 3)}, ? FROM k`)
        .run(from, to, at, at);
      db.prepare(`INSERT INTO orders (order_id, code_id, merchant_id, amount, currency, state, created_at)
        SELECT ${spreadHex("code_id", n, 24, 4)}, code_id, 1, amount, currency, 'settled', created_at FROM payment_codes WHERE code_id BETWEEN ? AND ? ORDER BY code_id`).run(from, to);
      db.prepare(`INSERT INTO authorizations (authorization_id, order_id, carrier_id, atc, cryptogram, idempotency_key, request_hash, state, created_at)
        SELECT o.code_id, o.order_id, printf('%016x', o.code_id % ${CARRIERS}), o.code_id / ${CARRIERS} + 1, lower(hex(randomblob(8))),
               ${spreadHex("o.code_id", n, 32, 5)}, lower(hex(randomblob(32))), 'settled', o.created_at
        FROM orders o WHERE o.code_id BETWEEN ? AND ? ORDER BY o.code_id`).run(from, to);
      db.prepare(`INSERT INTO settlements (settlement_id, order_id, authorization_id, merchant_id, carrier_id, amount, currency, created_at)
        SELECT ${spreadHex("a.authorization_id", n, 16, 6)}, a.order_id, a.authorization_id, 1, a.carrier_id, o.amount, o.currency, a.created_at
        FROM authorizations a JOIN orders o USING (order_id) WHERE a.authorization_id BETWEEN ? AND ? ORDER BY a.authorization_id`).run(from, to);
      db.prepare(`INSERT INTO idempotency (idempotency_key, endpoint, request_hash, status, response, created_at)
        SELECT a.idempotency_key, 'authorize', a.request_hash, 200,
               json_object('settlementId', s.settlement_id, 'orderId', a.order_id, 'merchantId', 1, 'carrierId', a.carrier_id, 'atc', a.atc,
                           'amount', s.amount, 'currency', s.currency, 'display', '1.00 EUR', 'settledAt', s.created_at), a.created_at
        FROM authorizations a JOIN settlements s USING (authorization_id) WHERE a.authorization_id BETWEEN ? AND ? ORDER BY a.authorization_id`).run(from, to);
      db.prepare(`INSERT INTO audit (at, entity, entity_id, action, detail)
        SELECT a.created_at, 'authorization', a.authorization_id, 'verified', json_object('orderId', a.order_id, 'carrierId', a.carrier_id, 'atc', a.atc)
        FROM authorizations a WHERE a.authorization_id BETWEEN ? AND ?
        UNION ALL
        SELECT s.created_at, 'order', s.order_id, 'settled', json_object('settlementId', s.settlement_id, 'authorizationId', s.authorization_id, 'how', 'settled')
        FROM settlements s WHERE s.authorization_id BETWEEN ? AND ?`).run(from, to, from, to);
      db.exec("COMMIT");
    }
  } finally {
    db.close();
  }
  // Written with synchronous=OFF: flush it now, or the kernel's writeback of a gigabyte would run
  // under the measured commits' fsyncs.
  const fd = openSync(file, "r+");
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}
