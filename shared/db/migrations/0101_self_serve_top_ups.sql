-- Self-serve credits (issue 20 §3). A wallet that signs in to the dashboard without an account
-- gets a consumer account with that wallet; it tops up by sending the stablecoin to the treasury
-- from that wallet. The watcher records each such Transfer once (unique by transaction hash and
-- log index, whatever process or restart sees it) as `pending`, and credits it once its block has
-- the configured confirmations (`credited`, with its ledger transaction, in the same database
-- transaction as the status change). Credits come from the account below: the outside world.
INSERT INTO accounts (id, kind, name) VALUES ('acct_topups', 'system', 'stablecoin top-ups received on chain') ON CONFLICT (id) DO NOTHING;

CREATE TABLE top_ups (
  id                     text PRIMARY KEY,
  account_id             text NOT NULL REFERENCES accounts(id),
  wallet                 text NOT NULL,
  token                  text NOT NULL,
  treasury               text NOT NULL,
  tx_hash                text NOT NULL,
  log_index              integer NOT NULL,
  block_number           bigint NOT NULL,
  amount                 bigint NOT NULL CHECK (amount > 0),
  status                 text NOT NULL CHECK (status IN ('pending', 'credited')),
  credit_transaction_id  text REFERENCES ledger_transactions(id),
  seen_at                timestamptz NOT NULL DEFAULT now(),
  credited_at            timestamptz,
  UNIQUE (tx_hash, log_index),
  CHECK (status <> 'credited' OR credit_transaction_id IS NOT NULL)
);
CREATE INDEX top_ups_account ON top_ups (account_id, seen_at DESC);
CREATE INDEX top_ups_pending ON top_ups (block_number) WHERE status = 'pending';
