-- 004: the controls an issuer runs at authorization (docs/PLATFORM.md §"Risk rules", §"API keys").

-- Each carrier's per-payment limit and currency, recorded when it is issued (the same limit is
-- installed on the carrier at personalisation). NULL on carriers issued before 004: the platform's
-- default limit and currency apply to them.
ALTER TABLE carriers ADD COLUMN limit_minor INTEGER CHECK (limit_minor IS NULL OR limit_minor > 0);
ALTER TABLE carriers ADD COLUMN currency TEXT CHECK (currency IS NULL OR length(currency) = 3);

-- Merchant names are unique by a normalised key (NFKC, case-folded, spaces collapsed: service.ts).
-- Existing duplicates keep their rows: the first of each name gets the key, later ones a suffixed key.
ALTER TABLE merchants ADD COLUMN name_key TEXT;
UPDATE merchants SET name_key = lower(trim(name))
  WHERE merchant_id IN (SELECT min(merchant_id) FROM merchants GROUP BY lower(trim(name)));
UPDATE merchants SET name_key = lower(trim(name)) || ' #' || merchant_id WHERE name_key IS NULL;
CREATE UNIQUE INDEX merchants_by_name_key ON merchants(name_key);

-- API keys: only a SHA-256 of each key is kept; the key itself is shown once (auth.ts).
CREATE TABLE api_keys (
  key_id      TEXT PRIMARY KEY,            -- public part of the key (hex), names it in logs
  key_hash    TEXT NOT NULL,               -- hex SHA-256 of the whole key text
  role        TEXT NOT NULL CHECK (role IN ('admin', 'merchant')),
  merchant_id INTEGER REFERENCES merchants(merchant_id),
  created_at  INTEGER NOT NULL,
  revoked_at  INTEGER,
  CHECK ((role = 'merchant') = (merchant_id IS NOT NULL))
);

-- Velocity checks count a carrier's recent settlements.
CREATE INDEX settlements_by_carrier ON settlements(carrier_id, created_at);
