-- Idempotency-Key claims: the first request with a key claims it before doing any work; concurrent
-- requests with the same key (another process, a client retrying early) wait for its stored result
-- instead of doing the work again. Deleted when the work ends (stored result or failure); a claim
-- left by a crashed process goes stale and can be taken over.
CREATE TABLE idempotency_claims (
  account_id    text NOT NULL REFERENCES accounts(id),
  key           text NOT NULL,
  request_hash  text NOT NULL,
  claimed_at    timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (account_id, key)
);
