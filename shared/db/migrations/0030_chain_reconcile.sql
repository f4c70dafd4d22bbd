-- What the chain must still hold, recorded by the database (the durable side), so the reconciler
-- (shared/services/chain-reconciler.ts) can find and repair what a chain node lost.

-- Claims this deployment relayed for a wallet: recorded before the transaction is sent, so a claim
-- whose process died mid-way is still known. `cumulative` is the amount the wallet was claimed up to.
CREATE TABLE relayed_claims (
  id          bigserial PRIMARY KEY,
  wallet      text NOT NULL,
  cumulative  bigint NOT NULL CHECK (cumulative >= 0),
  status      text NOT NULL DEFAULT 'sending' CHECK (status IN ('sending', 'sent', 'mined', 'reverted')),
  tx_hash     text,
  block_number bigint,
  created_at  timestamptz NOT NULL DEFAULT now(),
  updated_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX relayed_claims_wallet ON relayed_claims (wallet, cumulative DESC);

-- Each repair the reconciler made on chain (a lost epoch re-published, a lost claim re-relayed).
CREATE TABLE chain_repairs (
  id          bigserial PRIMARY KEY,
  kind        text NOT NULL CHECK (kind IN ('epoch', 'claim')),
  subject     text NOT NULL,          -- the epoch number or the wallet
  detail      text NOT NULL,
  tx_hash     text,
  created_at  timestamptz NOT NULL DEFAULT now()
);
