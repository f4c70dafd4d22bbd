-- x402 `batch-settlement` (issue 20): a payer deposits once into x402's channel contract, then
-- signs a cumulative voucher per call; one on-chain claim takes many calls' money. Each channel's
-- state is kept here (the durable ChannelStorage @x402/evm's server scheme reads and updates in one
-- transaction, row-locked) so a restart or a second process loses nothing and a replayed or
-- non-increasing voucher is refused.
--
-- The ledger: a voucher's increment is credited to the payer wallet's account from
-- `acct_x402_vouchers` (money owed by vouchers, not yet claimed on chain: a receivable, so that
-- account's balance is minus what is owed); when a claim lands on chain (total_claimed rises)
-- `acct_x402_channel_claims` (the chain, like acct_x402) pays the receivable off in the same
-- transaction as the row update. check:ledger compares total_claimed with the chain.
INSERT INTO accounts (id, kind, name) VALUES
  ('acct_x402_vouchers', 'system', 'x402 batch-settlement vouchers not yet claimed on chain (receivable)'),
  ('acct_x402_channel_claims', 'system', 'x402 batch-settlement claims received on chain')
ON CONFLICT (id) DO NOTHING;

CREATE TABLE x402_channels (
  channel_id            text PRIMARY KEY,            -- lower-case 0x…, the contract's getChannelId
  payer                 text NOT NULL,
  channel_config        jsonb NOT NULL,              -- payer, payerAuthorizer, receiver, receiverAuthorizer, token, withdrawDelay, salt
  charged_cumulative    numeric(78, 0) NOT NULL CHECK (charged_cumulative >= 0),
  signed_max_claimable  numeric(78, 0) NOT NULL,
  signature             text NOT NULL,               -- the last voucher's signature (what a claim submits)
  balance               numeric(78, 0) NOT NULL,     -- the deposit on chain, as last read
  total_claimed         numeric(78, 0) NOT NULL DEFAULT 0 CHECK (total_claimed >= 0),
  withdraw_requested_at bigint NOT NULL DEFAULT 0,
  refund_nonce          bigint NOT NULL DEFAULT 0,
  onchain_synced_at     bigint,
  last_request_at       bigint NOT NULL,
  pending_request       jsonb,                       -- a call in flight: { pendingId, signedMaxClaimable, expiresAt }
  updated_at            timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX x402_channels_unclaimed ON x402_channels (channel_id) WHERE charged_cumulative > total_claimed;

-- One row per voucher a call was paid with; unique by (channel, cumulative amount) among those not
-- refused, so the same voucher never pays twice even if two processes raced past the channel check.
CREATE TABLE x402_channel_charges (
  id                     text PRIMARY KEY,
  channel_id             text NOT NULL REFERENCES x402_channels(channel_id),
  payer                  text NOT NULL REFERENCES x402_payers(wallet),
  cumulative             numeric(78, 0) NOT NULL,
  amount                 bigint NOT NULL CHECK (amount > 0),
  route                  text NOT NULL,
  request_id             text NOT NULL,
  -- pending: verified and credited, the call running; charged: the voucher committed to the
  -- channel; refused: the call failed, the credit was reversed
  status                 text NOT NULL CHECK (status IN ('pending', 'charged', 'refused')),
  credit_transaction_id  text NOT NULL REFERENCES ledger_transactions(id),
  refund_transaction_id  text REFERENCES ledger_transactions(id),
  error                  text,
  created_at             timestamptz NOT NULL DEFAULT now(),
  finished_at            timestamptz,
  CHECK (status <> 'refused' OR refund_transaction_id IS NOT NULL)
);
CREATE UNIQUE INDEX x402_channel_charges_voucher ON x402_channel_charges (channel_id, cumulative) WHERE status <> 'refused';
CREATE INDEX x402_channel_charges_request ON x402_channel_charges (request_id);

-- Each rise of a channel's on-chain claimed total, with the ledger transaction that recorded it.
CREATE TABLE x402_channel_claims (
  id              text PRIMARY KEY,
  channel_id      text NOT NULL REFERENCES x402_channels(channel_id),
  amount          numeric(78, 0) NOT NULL CHECK (amount > 0),
  total_claimed   numeric(78, 0) NOT NULL,
  transaction_id  text NOT NULL REFERENCES ledger_transactions(id),
  created_at      timestamptz NOT NULL DEFAULT now()
);
