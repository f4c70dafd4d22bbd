-- x402 payments settled later (issue 20): a settle that failed after a successful call leaves the
-- payment `unsettled`; a reconciler pass settles it from the signed payload kept here. Before each
-- try it reads the chain (the authorization's nonce is single use there), so a settle that landed
-- but was never recorded is found, not sent twice. `attempts` counts tries; `scheme` names the
-- x402 scheme the payment used.
ALTER TABLE x402_payments ADD COLUMN payload jsonb;
ALTER TABLE x402_payments ADD COLUMN requirements jsonb;
ALTER TABLE x402_payments ADD COLUMN settle_attempts integer NOT NULL DEFAULT 0;
CREATE INDEX x402_payments_unsettled ON x402_payments (created_at) WHERE status = 'unsettled';
