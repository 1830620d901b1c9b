-- 005: offline credit payment (docs/OFFLINE.md §Platform): the credit authority's HSS key, offline
-- licenses, their revocation and the signed revocation lists, and clearing of terminal logs.
-- Portable SQL: plain types and unique constraints (no SQLite-only syntax), ids allocated by the service.

-- The credit authority key (one row per authority; 'default' today). The HSS private state holds the
-- index of the next one-time key; it is rewritten (sealed like issuer keys) in the transaction that
-- signs, before the signature leaves the platform.
CREATE TABLE offline_authority (
  authority_id   TEXT PRIMARY KEY,
  public_key     BLOB NOT NULL,            -- RFC 8554 HSS public key
  private_state  BLOB NOT NULL,            -- sealed HSS private state (lms/hss.ts serialiseHssState)
  key_protection TEXT NOT NULL CHECK (key_protection IN ('aes-256-gcm', 'dev-plaintext')),
  next_index     INTEGER NOT NULL CHECK (next_index >= 0), -- copy of the state's counter, readable without the platform key
  created_at     INTEGER NOT NULL
);

CREATE TABLE offline_licenses (
  serial             INTEGER PRIMARY KEY CHECK (serial BETWEEN 1 AND 4294967295),
  carrier_id         TEXT NOT NULL REFERENCES carriers(carrier_id),
  public_key         TEXT NOT NULL,        -- hex of the carrier's HSS public key
  key_hash           TEXT NOT NULL,        -- hex SHA-256 of that key: names the key in offline_clearings
  currency           TEXT NOT NULL CHECK (length(currency) = 3),
  per_tx_limit       INTEGER NOT NULL CHECK (per_tx_limit > 0),
  cumulative_limit   INTEGER NOT NULL CHECK (cumulative_limit >= per_tx_limit),
  expiry             INTEGER NOT NULL,     -- YYYYMMDD, valid through that day
  license            BLOB NOT NULL,        -- the signed license as the carrier presents it
  authority_index    INTEGER NOT NULL,     -- the authority one-time key that signed it
  revoked_at         INTEGER,
  revoked_reason     TEXT,
  created_at         INTEGER NOT NULL,
  UNIQUE (authority_index)                 -- one authority one-time key signs one license at most
);
CREATE INDEX offline_licenses_by_carrier ON offline_licenses(carrier_id);

-- Every signed revocation list ever published; terminals download the newest.
CREATE TABLE offline_revocation_lists (
  sequence        INTEGER PRIMARY KEY CHECK (sequence >= 1),
  list            BLOB NOT NULL,           -- revocations.ts encodeRevocationList
  authority_index INTEGER NOT NULL UNIQUE,
  created_at      INTEGER NOT NULL
);

-- Cleared offline authorizations: each settles exactly once. A carrier's offline ATC and each
-- one-time key of a carrier key clear once; a terminal's nonce is used once.
CREATE TABLE offline_clearings (
  clearing_id     TEXT PRIMARY KEY,        -- hex, 8 random bytes
  carrier_id      TEXT NOT NULL REFERENCES carriers(carrier_id),
  license_serial  INTEGER NOT NULL REFERENCES offline_licenses(serial),
  key_hash        TEXT NOT NULL,
  leaf_index      INTEGER NOT NULL,        -- HSS one-time key index the signature used
  atc             INTEGER NOT NULL,
  merchant_id     INTEGER NOT NULL REFERENCES merchants(merchant_id),
  terminal_id     TEXT NOT NULL,
  terminal_nonce  TEXT NOT NULL,
  amount          INTEGER NOT NULL CHECK (amount > 0),
  currency        TEXT NOT NULL CHECK (length(currency) = 3),
  txn_date        INTEGER NOT NULL,        -- YYYYMMDD as signed
  signature_hash  TEXT NOT NULL,           -- hex SHA-256 of the carrier's signature (the record itself is the terminal's)
  created_at      INTEGER NOT NULL,
  UNIQUE (carrier_id, atc),
  UNIQUE (key_hash, leaf_index),
  UNIQUE (terminal_id, terminal_nonce)
);
CREATE INDEX offline_clearings_by_carrier_date ON offline_clearings(carrier_id, txn_date);
