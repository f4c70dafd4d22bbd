-- x402 `upto` (issue 20): the payer signs a maximum and is charged the call's actual cost. A
-- payment now records its scheme and the maximum it authorised; `amount` stays what the ledger
-- took in (and the chain moves): the maximum while the call runs (the call is charged against
-- it), then the actual cost, the unused rest reversed by `release_transaction_id` before the
-- settle. For `exact` the two are equal and nothing is released.
ALTER TABLE x402_payments ADD COLUMN scheme text NOT NULL DEFAULT 'exact' CHECK (scheme IN ('exact', 'upto'));
ALTER TABLE x402_payments ADD COLUMN authorized bigint;
UPDATE x402_payments SET authorized = amount WHERE authorized IS NULL;
ALTER TABLE x402_payments ALTER COLUMN authorized SET NOT NULL;
ALTER TABLE x402_payments ADD COLUMN release_transaction_id text REFERENCES ledger_transactions(id);
ALTER TABLE x402_payments ADD CONSTRAINT x402_payments_within_authorized CHECK (amount <= authorized);
