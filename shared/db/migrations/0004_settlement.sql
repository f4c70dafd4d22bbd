-- Attribution receipts and settlement epochs (see services/settlement.ts).

-- Earnings that settlement moved on chain: held by the distributor contract until claimed.
INSERT INTO accounts (id, kind, name) VALUES ('acct_settled', 'system', 'settled on chain (distributor contract)');

-- One receipt per billed call, written in the same transaction as its ledger charge.
CREATE TABLE receipts (
  id          text PRIMARY KEY,
  request_id  text NOT NULL UNIQUE,
  kind        text NOT NULL CHECK (kind IN ('retrieve', 'answer')),
  account_id  text NOT NULL REFERENCES accounts(id),             -- who paid (not part of the receipt)
  canonical   text NOT NULL,                                   -- RFC 8785 JSON of the receipt
  hash        text NOT NULL UNIQUE CHECK (hash ~ '^0x[0-9a-f]{64}$'), -- keccak256 of `canonical`
  epoch       integer,                                         -- set when an epoch closes over it
  leaf_index  integer,                                         -- its place in that epoch's receipts tree
  created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX receipts_open ON receipts (created_at, id) WHERE epoch IS NULL;
CREATE INDEX receipts_epoch ON receipts (epoch, leaf_index);

-- open (implicit: receipts with epoch IS NULL) -> built -> submitted -> confirmed.
CREATE TABLE settlement_epochs (
  epoch             integer PRIMARY KEY CHECK (epoch > 0),
  status            text NOT NULL CHECK (status IN ('built', 'submitted', 'confirmed')),
  payout_root       text NOT NULL,
  receipts_root     text NOT NULL,
  total_cumulative  bigint NOT NULL CHECK (total_cumulative >= 0),
  amount            bigint NOT NULL CHECK (amount >= 0),       -- newly paid by this epoch
  payee_count       integer NOT NULL,
  receipt_count     integer NOT NULL,
  payout_tree       jsonb NOT NULL,                            -- StandardMerkleTree dumps, for proofs
  receipts_tree     jsonb NOT NULL,
  tx_hash           text,
  block_number      bigint,
  attempts          integer NOT NULL DEFAULT 0,
  last_error        text,
  next_attempt_at   timestamptz,
  built_at          timestamptz NOT NULL DEFAULT now(),
  submitted_at      timestamptz,
  confirmed_at      timestamptz
);
-- At most one epoch in flight: the next is built only after the last is confirmed.
CREATE UNIQUE INDEX settlement_epochs_one_in_flight ON settlement_epochs ((true)) WHERE status <> 'confirmed';

-- Wallets paid by an epoch: what is new in it, and the cumulative total in its tree.
CREATE TABLE epoch_payouts (
  epoch       integer NOT NULL REFERENCES settlement_epochs(epoch),
  wallet      text NOT NULL,
  account_id  text NOT NULL REFERENCES accounts(id),
  amount      bigint NOT NULL CHECK (amount > 0),
  cumulative  bigint NOT NULL CHECK (cumulative >= amount),
  PRIMARY KEY (epoch, wallet)
);
CREATE INDEX epoch_payouts_wallet ON epoch_payouts (wallet, epoch DESC);
