-- 003: online PIN (the platform verifies the PIN; the carrier holds no PIN material, docs/PLATFORM.md
-- "Online PIN") and per-device transport keys (PROTOCOL.md §7.4).

-- Platform-wide secrets: the X25519 key PIN blocks are encrypted to.
CREATE TABLE platform_secrets (
  name           TEXT PRIMARY KEY,
  secret         BLOB NOT NULL,            -- sealed like issuers.master_key
  key_protection TEXT NOT NULL CHECK (key_protection IN ('aes-256-gcm', 'dev-plaintext')),
  public_key     BLOB,
  created_at     INTEGER NOT NULL
);

-- The issuer's PIN verifier and try counter: one row per carrier with a PIN.
CREATE TABLE carrier_pins (
  carrier_id  TEXT PRIMARY KEY REFERENCES carriers(carrier_id),
  salt        BLOB NOT NULL,               -- 16 random bytes
  verifier    BLOB NOT NULL,               -- scrypt(PIN, salt) under the parameters in kdf
  kdf         TEXT NOT NULL,               -- e.g. "scrypt:N=32768,r=8,p=1"
  failures    INTEGER NOT NULL DEFAULT 0,  -- wrong PINs since the last right one
  updated_at  INTEGER NOT NULL
);

-- Single-use challenges a PIN block is bound to (with its purpose, carrier and order).
CREATE TABLE pin_challenges (
  challenge   TEXT PRIMARY KEY,            -- hex, 16 random bytes
  carrier_id  TEXT NOT NULL REFERENCES carriers(carrier_id),
  order_id    TEXT NOT NULL,               -- '' unless the purpose is a payment
  purpose     INTEGER NOT NULL,
  created_at  INTEGER NOT NULL,
  used_at     INTEGER
);

-- Every PIN verdict given; an authorization settles only after an OK one for its order and carrier.
CREATE TABLE pin_verifications (
  verification_id INTEGER PRIMARY KEY,
  carrier_id      TEXT NOT NULL REFERENCES carriers(carrier_id),
  order_id        TEXT NOT NULL,
  verdict         INTEGER NOT NULL CHECK (verdict IN (0, 1, 2)),  -- 0 OK, 1 WRONG, 2 BLOCKED
  created_at      INTEGER NOT NULL
);
CREATE INDEX pin_verifications_by_order ON pin_verifications(order_id, carrier_id, verdict);

-- Transport batch keys: kc.tk of a carrier is diversified from its batch's key.
CREATE TABLE transport_batches (
  batch_id       TEXT PRIMARY KEY,         -- 'dev' is the public development key (only with the dev flag)
  batch_key      BLOB NOT NULL,
  key_protection TEXT NOT NULL CHECK (key_protection IN ('aes-256-gcm', 'dev-plaintext')),
  created_at     INTEGER NOT NULL
);
CREATE TABLE provisioned_carriers (
  transport_id TEXT PRIMARY KEY,           -- hex of the transport carrier id (from the serial)
  batch_id     TEXT NOT NULL REFERENCES transport_batches(batch_id),
  created_at   INTEGER NOT NULL
);
