-- Moving a datanet to another embedding model: a background job fills the new model's
-- vectors beside the old ones; queries keep using the old model until the job switches
-- the datanet in one transaction (see services/reembed.ts).
CREATE TABLE reembed_jobs (
  id           text PRIMARY KEY,
  datanet_id   text NOT NULL REFERENCES datanets(id),
  from_model   text NOT NULL,
  to_model     text NOT NULL,
  to_dim       integer NOT NULL CHECK (to_dim > 0),
  status       text NOT NULL CHECK (status IN ('running', 'succeeded', 'failed', 'cancelled')),
  total        integer NOT NULL DEFAULT 0,   -- live chunks of the datanet
  done         integer NOT NULL DEFAULT 0,   -- of those, with a vector for to_model
  error        text,
  created_at   timestamptz NOT NULL DEFAULT now(),
  updated_at   timestamptz NOT NULL DEFAULT now(),
  finished_at  timestamptz
);
-- One move at a time per datanet.
CREATE UNIQUE INDEX reembed_jobs_one_running ON reembed_jobs (datanet_id) WHERE status = 'running';
CREATE INDEX reembed_jobs_datanet ON reembed_jobs (datanet_id, created_at DESC);
