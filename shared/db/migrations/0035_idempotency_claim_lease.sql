-- An Idempotency-Key claim is a short lease, renewed by its claimant while it works: one left by a
-- process that died (SIGKILL) or could not release it (the database was down) is taken over within
-- seconds, not minutes. `claimant` names the request holding it, so a claimant renews and releases
-- only its own claim, never one taken over from it. NULL: a claim from before this migration.
ALTER TABLE idempotency_claims ADD COLUMN claimant text;
