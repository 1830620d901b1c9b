-- 001: the payment ledger. Amounts are integer minor units; currency is an ISO 4217 alpha code.
-- Times are Unix milliseconds unless a column name says seconds. Ids shown to clients are hex text.

CREATE TABLE issuers (
  issuer_id      TEXT PRIMARY KEY,
  master_key     BLOB NOT NULL,            -- sealed (AES-256-GCM under the platform key) or plaintext in dev mode
  key_protection TEXT NOT NULL CHECK (key_protection IN ('aes-256-gcm', 'dev-plaintext')),
  created_at     INTEGER NOT NULL
);

CREATE TABLE carriers (
  carrier_id  TEXT PRIMARY KEY,            -- hex of the carrier identity bytes (the diversification input)
  issuer_id   TEXT NOT NULL REFERENCES issuers(issuer_id),
  state       TEXT NOT NULL CHECK (state IN ('issued', 'blocked')),
  last_atc    INTEGER NOT NULL DEFAULT 0,  -- highest application transaction counter accepted
  created_at  INTEGER NOT NULL
);

CREATE TABLE merchants (
  merchant_id    INTEGER PRIMARY KEY CHECK (merchant_id BETWEEN 1 AND 4294967295),
  name           TEXT NOT NULL,
  qr_key         BLOB NOT NULL,            -- sealed like issuers.master_key
  key_protection TEXT NOT NULL CHECK (key_protection IN ('aes-256-gcm', 'dev-plaintext')),
  created_at     INTEGER NOT NULL
);

CREATE TABLE payment_codes (
  code_id      INTEGER PRIMARY KEY,
  merchant_id  INTEGER NOT NULL REFERENCES merchants(merchant_id),
  order_ref    TEXT NOT NULL,              -- hex, 8 bytes
  nonce        TEXT NOT NULL UNIQUE,       -- hex, 8 bytes
  amount       INTEGER NOT NULL CHECK (amount > 0),
  currency     TEXT NOT NULL CHECK (length(currency) = 3),
  expires_at_s INTEGER NOT NULL,
  code_hex     TEXT NOT NULL UNIQUE,
  created_at   INTEGER NOT NULL,
  UNIQUE (merchant_id, order_ref)
);

CREATE TABLE orders (
  order_id     TEXT PRIMARY KEY,           -- hex, 12 random bytes (bound into the cryptogram)
  code_id      INTEGER NOT NULL UNIQUE REFERENCES payment_codes(code_id), -- one order per code
  merchant_id  INTEGER NOT NULL REFERENCES merchants(merchant_id),
  amount       INTEGER NOT NULL CHECK (amount > 0),
  currency     TEXT NOT NULL,
  state        TEXT NOT NULL CHECK (state IN ('open', 'settled')),
  created_at   INTEGER NOT NULL
);

CREATE TABLE authorizations (
  authorization_id INTEGER PRIMARY KEY,
  order_id         TEXT NOT NULL REFERENCES orders(order_id),
  carrier_id       TEXT NOT NULL REFERENCES carriers(carrier_id),
  atc              INTEGER NOT NULL,
  cryptogram       TEXT NOT NULL,          -- hex
  idempotency_key  TEXT,                   -- the request's key, so a retry after a crash gets its answer
  request_hash     TEXT NOT NULL,
  state            TEXT NOT NULL CHECK (state IN ('verified', 'settled')),
  created_at       INTEGER NOT NULL,
  UNIQUE (carrier_id, atc)                 -- a counter value authorizes at most once
);
-- At most one live authorization per order, whatever carrier or counter it came with.
CREATE UNIQUE INDEX authorizations_one_per_order ON authorizations(order_id);

CREATE TABLE settlements (
  settlement_id    TEXT PRIMARY KEY,       -- hex, 8 random bytes
  order_id         TEXT NOT NULL UNIQUE REFERENCES orders(order_id),           -- settles exactly once
  authorization_id INTEGER NOT NULL UNIQUE REFERENCES authorizations(authorization_id),
  merchant_id      INTEGER NOT NULL,
  carrier_id       TEXT NOT NULL,
  amount           INTEGER NOT NULL,
  currency         TEXT NOT NULL,
  created_at       INTEGER NOT NULL
);

-- A request carrying an Idempotency-Key gets the stored answer when repeated.
CREATE TABLE idempotency (
  idempotency_key TEXT PRIMARY KEY,
  endpoint        TEXT NOT NULL,
  request_hash    TEXT NOT NULL,
  status          INTEGER NOT NULL,
  response        TEXT NOT NULL,
  created_at      INTEGER NOT NULL
);

-- Append-only: one row per state change, and one per rejected payment request.
CREATE TABLE audit (
  seq        INTEGER PRIMARY KEY AUTOINCREMENT,
  at         INTEGER NOT NULL,
  entity     TEXT NOT NULL,
  entity_id  TEXT NOT NULL,
  action     TEXT NOT NULL,
  detail     TEXT NOT NULL
);
-- @sqlite
CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit BEGIN SELECT RAISE(ABORT, 'audit rows are append-only'); END;
CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit BEGIN SELECT RAISE(ABORT, 'audit rows are append-only'); END;
-- @end
-- @postgres
CREATE FUNCTION audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN RAISE EXCEPTION 'audit rows are append-only'; END $$;
CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit FOR EACH ROW EXECUTE FUNCTION audit_append_only();
CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit FOR EACH ROW EXECUTE FUNCTION audit_append_only();
-- @end
