-- Generated answers and the LoRA adapters they may use.
CREATE TABLE adapters (
  id                text PRIMARY KEY,
  owner_account_id  text NOT NULL REFERENCES accounts(id),
  name              text NOT NULL,
  base_model        text NOT NULL,
  object_key        text NOT NULL,
  sha256            text NOT NULL CHECK (sha256 ~ '^[0-9a-f]{64}$'),
  share_bps         integer NOT NULL CHECK (share_bps BETWEEN 0 AND 10000),
  created_at        timestamptz NOT NULL DEFAULT now()
);

-- One row per answer (its id is the generation job id). While queued or running,
-- `hold` is reserved against the consumer's balance; the charge is posted to the
-- ledger in the same transaction that moves it to succeeded, at most once.
CREATE TABLE answers (
  id           text PRIMARY KEY,
  request_id   text NOT NULL UNIQUE,
  account_id   text NOT NULL REFERENCES accounts(id),
  key_id       text REFERENCES api_keys(id),
  status       text NOT NULL CHECK (status IN ('queued', 'running', 'succeeded', 'failed', 'expired')),
  model        text NOT NULL,
  adapter_id   text REFERENCES adapters(id),
  query        text NOT NULL,
  sources      jsonb NOT NULL,
  hold         bigint NOT NULL CHECK (hold >= 0),
  response     jsonb,
  error        jsonb,
  created_at   timestamptz NOT NULL DEFAULT now(),
  started_at   timestamptz,
  finished_at  timestamptz,
  deadline_at  timestamptz NOT NULL
);
CREATE INDEX answers_open ON answers (account_id) WHERE status IN ('queued', 'running');
CREATE INDEX answers_deadline ON answers (deadline_at) WHERE status IN ('queued', 'running');
