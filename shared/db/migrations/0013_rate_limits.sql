-- Rate limits shared by every API process and the edge: one counter row per scope
-- ('key:<id>', 'account:<id>') and fixed window, incremented atomically with an upsert.
CREATE TABLE rate_limit_windows (
  scope         text NOT NULL,
  window_start  timestamptz NOT NULL,
  count         integer NOT NULL,
  PRIMARY KEY (scope, window_start)
);
CREATE INDEX rate_limit_windows_start ON rate_limit_windows (window_start);

-- Per-account overrides set by an admin; NULL keeps the configured default, 0 means no limit.
CREATE TABLE account_limits (
  account_id                  text PRIMARY KEY REFERENCES accounts(id),
  requests_per_minute         integer CHECK (requests_per_minute >= 0),
  key_requests_per_minute     integer CHECK (key_requests_per_minute >= 0),
  concurrent_answers          integer CHECK (concurrent_answers >= 0),
  key_concurrent_answers      integer CHECK (key_concurrent_answers >= 0),
  updated_at                  timestamptz NOT NULL DEFAULT now()
);
