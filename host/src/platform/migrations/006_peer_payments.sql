-- 005: peer payments (docs/PEER.md, PROTOCOL.md §11). A payee's carrier seals a request, a payer's
-- carrier an instruction for it; the platform matches one instruction to one request and settles
-- the pair exactly once. Portable SQL (TEXT hex ids, BIGINT amounts and times): the unique
-- constraints, not the code, are what make a second settlement impossible.

-- Every request a payee's carrier sealed and its host registered (opened and checked first).
CREATE TABLE peer_requests (
  request_digest TEXT PRIMARY KEY,          -- hex SHA-256 of the request bytes R (what the instruction names)
  payee_id       TEXT NOT NULL REFERENCES carriers(carrier_id),
  nonce          TEXT NOT NULL,             -- hex, 16 bytes drawn by the payee's carrier
  request_hex    TEXT NOT NULL,             -- R itself: a payer's host may fetch it by digest
  amount         BIGINT NOT NULL CHECK (amount > 0),
  currency       TEXT NOT NULL CHECK (length(currency) = 3),
  expires_at_s   BIGINT NOT NULL,           -- Unix seconds, platform time
  state          TEXT NOT NULL CHECK (state IN ('open', 'settled')),
  created_at     BIGINT NOT NULL,
  UNIQUE (payee_id, nonce)                  -- a carrier's nonce serves one request
);

-- One row per settled pair, written in the same transaction that marks the request settled.
CREATE TABLE peer_settlements (
  settlement_id   TEXT PRIMARY KEY,         -- hex, 8 random bytes
  request_digest  TEXT NOT NULL UNIQUE REFERENCES peer_requests(request_digest),  -- a request settles once
  payer_id        TEXT NOT NULL REFERENCES carriers(carrier_id),
  atc             BIGINT NOT NULL,
  payee_id        TEXT NOT NULL REFERENCES carriers(carrier_id),
  amount          BIGINT NOT NULL CHECK (amount > 0),
  currency        TEXT NOT NULL CHECK (length(currency) = 3),
  instruction_hex TEXT NOT NULL,            -- the sealed instruction as received: a resend must be byte-identical
  created_at      BIGINT NOT NULL,
  UNIQUE (payer_id, atc)                    -- an instruction (the payer's counter value) settles once
);
CREATE INDEX peer_settlements_by_payee ON peer_settlements(payee_id, created_at);
