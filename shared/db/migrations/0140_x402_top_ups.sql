-- Top-ups paid with x402 (issue 20 §3): a consumer buys live credits by signing an x402 `exact`
-- payment of the amount to the treasury (POST /v1/credits/top-up). Each payment is one row here,
-- unique by (payer, nonce) like a call's payment, `pending` from verification until its settle:
-- then `credited` (a top_ups row, `via` x402, naming the transfer's transaction and log, and its
-- ledger credit, all in one database transaction) or `failed` (the settle was refused: nothing
-- moved, nothing credited). A process that ends mid-way leaves it pending; the x402 pass reads
-- the chain for its authorization and credits it once, or settles it, or fails it.
ALTER TABLE top_ups ADD COLUMN via text NOT NULL DEFAULT 'transfer' CHECK (via IN ('transfer', 'x402'));

CREATE TABLE x402_top_ups (
  id            text PRIMARY KEY,
  account_id    text NOT NULL REFERENCES accounts(id),
  payer         text NOT NULL,
  nonce         text NOT NULL,
  amount        bigint NOT NULL CHECK (amount > 0),
  status        text NOT NULL CHECK (status IN ('pending', 'credited', 'failed')),
  top_up_id     text REFERENCES top_ups(id),
  payload       jsonb NOT NULL,
  requirements  jsonb NOT NULL,
  error         text,
  created_at    timestamptz NOT NULL DEFAULT now(),
  finished_at   timestamptz,
  UNIQUE (payer, nonce),
  CHECK (status <> 'credited' OR top_up_id IS NOT NULL)
);
CREATE INDEX x402_top_ups_pending ON x402_top_ups (created_at) WHERE status = 'pending';
