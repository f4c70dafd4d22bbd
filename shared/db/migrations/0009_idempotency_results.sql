-- An Idempotency-Key now stores the service's typed result (JSON, bigints tagged), and a replay
-- renders it again, instead of storing the rendered HTTP body. Rows stored before this keep
-- their status and body and are replayed as they were rendered.
ALTER TABLE idempotency_keys
  ADD COLUMN result jsonb,
  ALTER COLUMN status DROP NOT NULL,
  ALTER COLUMN body DROP NOT NULL;
ALTER TABLE idempotency_keys ADD CONSTRAINT idempotency_keys_result_or_body CHECK (result IS NOT NULL OR body IS NOT NULL);
