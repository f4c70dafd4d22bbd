-- Idempotency-Key claims. The first request with a key inserts a 'pending' row in its own
-- short transaction before any work; a concurrent request with the same key finds the claim,
-- does no work, and waits for the row to turn 'done' to replay its stored result. The winner
-- completes the row in the same transaction as its charge, or deletes it when it fails.
-- `result` is the service's typed result (JSON, bigints tagged), re-rendered on replay;
-- rows written before this migration keep their rendered `body` and are replayed as stored.
ALTER TABLE idempotency_keys
  ADD COLUMN state text NOT NULL DEFAULT 'done' CHECK (state IN ('pending', 'done')),
  ADD COLUMN claim_token text,
  ADD COLUMN result jsonb,
  ADD COLUMN claimed_at timestamptz NOT NULL DEFAULT now(),
  ALTER COLUMN status DROP NOT NULL,
  ALTER COLUMN body DROP NOT NULL;
ALTER TABLE idempotency_keys
  ADD CONSTRAINT idempotency_keys_done_has_result CHECK (state = 'pending' OR result IS NOT NULL OR body IS NOT NULL),
  ADD CONSTRAINT idempotency_keys_pending_has_token CHECK (state = 'done' OR claim_token IS NOT NULL);
