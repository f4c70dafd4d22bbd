-- x402 pay-per-call (issue 20). A paying wallet gets its own consumer account (and a key that is
-- never shown: its calls are rate limited and reported per key like any other); each payment is
-- one row, unique by (payer, nonce) so a replayed authorization is refused before any work.
INSERT INTO accounts (id, kind, name) VALUES ('acct_x402', 'system', 'x402 payments received on chain') ON CONFLICT (id) DO NOTHING;

CREATE TABLE x402_payers (
  wallet      text PRIMARY KEY,
  account_id  text NOT NULL UNIQUE REFERENCES accounts(id),
  key_id      text NOT NULL,
  created_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE x402_payments (
  id                     text PRIMARY KEY,
  payer                  text NOT NULL REFERENCES x402_payers(wallet),
  nonce                  text NOT NULL,
  network                text NOT NULL,
  asset                  text NOT NULL,
  pay_to                 text NOT NULL,
  amount                 bigint NOT NULL CHECK (amount > 0),
  route                  text NOT NULL,
  request_id             text NOT NULL,
  -- pending: verified and credited, the call running; settled: on chain (tx_hash);
  -- refused: the call failed, the credit was reversed, nothing moved; unsettled: the call
  -- succeeded but the facilitator's settle failed (a receivable, listed by check:ledger)
  status                 text NOT NULL CHECK (status IN ('pending', 'settled', 'refused', 'unsettled')),
  credit_transaction_id  text NOT NULL REFERENCES ledger_transactions(id),
  refund_transaction_id  text REFERENCES ledger_transactions(id),
  tx_hash                text,
  error                  text,
  created_at             timestamptz NOT NULL DEFAULT now(),
  finished_at            timestamptz,
  UNIQUE (payer, nonce),
  CHECK (status <> 'settled' OR tx_hash IS NOT NULL),
  CHECK (status <> 'refused' OR refund_transaction_id IS NOT NULL)
);
CREATE INDEX x402_payments_request ON x402_payments (request_id);
