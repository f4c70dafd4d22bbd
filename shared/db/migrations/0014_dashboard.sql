-- Dashboards (issue #11): browser sessions, Sign-In with Ethereum nonces, and a per-source index
-- of attribution receipts that the owner and consumer pages read with plain indexed queries.

-- A session is a random token in an HttpOnly cookie; only its sha256 is stored.
CREATE TABLE dashboard_sessions (
  token_hash  text PRIMARY KEY,
  account_id  text NOT NULL REFERENCES accounts(id),
  method      text NOT NULL CHECK (method IN ('siwe', 'api_key')),
  livemode    boolean NOT NULL,          -- a cp_test_ key's session shows test money only
  wallet      text,                      -- the wallet that signed in (siwe)
  csrf        text NOT NULL,             -- per-session token every form POST must carry
  created_at  timestamptz NOT NULL DEFAULT now(),
  expires_at  timestamptz NOT NULL
);
CREATE INDEX dashboard_sessions_expiry ON dashboard_sessions (expires_at);

-- One nonce per sign-in attempt, consumed by the first valid signature.
CREATE TABLE siwe_nonces (
  nonce       text PRIMARY KEY,
  expires_at  timestamptz NOT NULL
);

-- Receipts, one row per call: its money split (sums to `charged`).
CREATE TABLE receipt_calls (
  receipt_id       text PRIMARY KEY REFERENCES receipts(id),
  request_id       text NOT NULL,
  payer            text NOT NULL,
  livemode         boolean NOT NULL,
  kind             text NOT NULL,
  created_at       timestamptz NOT NULL,
  formula_version  text NOT NULL,
  charged          bigint NOT NULL,
  data_fees        bigint NOT NULL,   -- paid to contributors
  adapter_fee      bigint NOT NULL,
  model_tokens     bigint NOT NULL,   -- token charge, less the adapter's share
  protocol_fee     bigint NOT NULL    -- the rest: citepay's cut of the data fee
);
CREATE INDEX receipt_calls_payer ON receipt_calls (payer, livemode, created_at);

-- Receipts, one row per source shown: the funnel retrieved → cited → supported → paid.
CREATE TABLE receipt_sources (
  receipt_id   text NOT NULL REFERENCES receipts(id),
  ordinal      integer NOT NULL,
  request_id   text NOT NULL,
  payer        text NOT NULL,
  livemode     boolean NOT NULL,
  created_at   timestamptz NOT NULL,
  wallet       text NOT NULL,          -- lower-case
  datanet_id   text NOT NULL,
  document_id  text NOT NULL,
  source_id    text NOT NULL,
  weight_ppm   integer NOT NULL,
  amount       bigint NOT NULL,
  cited        boolean NOT NULL,
  supported    boolean NOT NULL,
  PRIMARY KEY (receipt_id, ordinal)
);
CREATE INDEX receipt_sources_wallet_time ON receipt_sources (wallet, livemode, created_at DESC);
CREATE INDEX receipt_sources_wallet_doc ON receipt_sources (wallet, document_id);
CREATE INDEX receipt_sources_payer ON receipt_sources (payer, livemode, created_at);

-- Last use of a key; the recent tail of the ledger (see the rollups below).
CREATE INDEX ledger_transactions_key ON ledger_transactions (key_id, created_at) WHERE key_id IS NOT NULL;
CREATE INDEX ledger_transactions_created ON ledger_transactions (created_at);

CREATE FUNCTION receipt_index(r receipts) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
  j jsonb := r.canonical::jsonb;
  credits bigint;
  adapter bigint := coalesce((j -> 'adapter' ->> 'amount')::bigint, 0);
  tokens bigint := 0;
BEGIN
  SELECT coalesce(sum((s ->> 'amount')::bigint), 0) INTO credits FROM jsonb_array_elements(j -> 'sources') s;
  IF r.kind = 'answer' THEN tokens := greatest((j ->> 'charged')::bigint - (j ->> 'dataFee')::bigint - adapter, 0); END IF;
  INSERT INTO receipt_calls VALUES (r.id, r.request_id, r.account_id, r.livemode, r.kind, r.created_at, j ->> 'formulaVersion',
    (j ->> 'charged')::bigint, credits, adapter, tokens, (j ->> 'charged')::bigint - credits - adapter - tokens);
  INSERT INTO receipt_sources
    SELECT r.id, (o - 1)::int, r.request_id, r.account_id, r.livemode, r.created_at, lower(s ->> 'wallet'), s ->> 'datanetId', s ->> 'documentId',
           s ->> 'sourceId', (s ->> 'weightPpm')::int, (s ->> 'amount')::bigint,
           (s -> 'signals' ->> 'citation') IS NOT NULL AND ((s -> 'signals' ->> 'citation')::float8 > 0 OR (s -> 'signals' ->> 'unsupported')::boolean),
           (s -> 'signals' ->> 'citation') IS NOT NULL AND (s -> 'signals' ->> 'citation')::float8 > 0
      FROM jsonb_array_elements(j -> 'sources') WITH ORDINALITY AS x(s, o);
END $$;

CREATE FUNCTION receipts_index_trigger() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN PERFORM receipt_index(NEW); RETURN NULL; END $$;
CREATE TRIGGER receipts_index AFTER INSERT ON receipts FOR EACH ROW EXECUTE FUNCTION receipts_index_trigger();

SELECT receipt_index(r) FROM receipts r;

-- Rollups, so a page reads a few hundred rows whatever the traffic: every row of the ledger and of the
-- receipt index created before `upto` (a UTC midnight at least an hour old: no transaction still
-- writing into it) is summed here; pages add the live tail (created_at >= upto) at read time.
-- Only dashboard_rollup() writes them, so paid calls never wait on a rollup row.
CREATE TABLE dashboard_rollup_state (
  singleton  boolean PRIMARY KEY DEFAULT true CHECK (singleton),
  upto       timestamptz NOT NULL
);
INSERT INTO dashboard_rollup_state VALUES (true, '-infinity');

-- The ledger by account, day, kind, key, datanet and document: what usageOf and earningsOf sum.
-- Day and key are kept for consumer accounts only (what their pages group by); other accounts'
-- rows are summed over all time under day 1970-01-01 and key '' (a few rows per document).
CREATE TABLE rollup_ledger (
  account_id   text NOT NULL,
  livemode     boolean NOT NULL,
  day          date NOT NULL,
  kind         text NOT NULL,
  key_id       text NOT NULL,     -- '' for none
  datanet_id   text NOT NULL,     -- '' for none
  document_id  text NOT NULL,     -- '' for none
  entries      bigint NOT NULL,
  debit        bigint NOT NULL,   -- sum of -amount over negative entries
  credit       bigint NOT NULL,   -- sum of amount over positive entries
  PRIMARY KEY (account_id, livemode, day, kind, key_id, datanet_id, document_id)
);
CREATE TABLE rollup_sources (
  wallet       text NOT NULL,
  livemode     boolean NOT NULL,
  source_id    text NOT NULL,
  datanet_id   text NOT NULL,
  document_id  text NOT NULL,
  retrieved    bigint NOT NULL,
  cited        bigint NOT NULL,
  supported    bigint NOT NULL,
  earned       bigint NOT NULL,
  PRIMARY KEY (wallet, livemode, source_id)
);
CREATE TABLE rollup_owner_days (
  wallet    text NOT NULL,
  livemode  boolean NOT NULL,
  day     date NOT NULL,
  calls   bigint NOT NULL,
  earned  bigint NOT NULL,
  PRIMARY KEY (wallet, livemode, day)
);
CREATE TABLE rollup_payer_days (
  payer         text NOT NULL,
  livemode      boolean NOT NULL,
  day           date NOT NULL,
  calls         bigint NOT NULL,
  charged       bigint NOT NULL,
  data_fees     bigint NOT NULL,
  model_tokens  bigint NOT NULL,
  adapter_fee   bigint NOT NULL,
  protocol_fee  bigint NOT NULL,
  PRIMARY KEY (payer, livemode, day)
);
CREATE TABLE rollup_payer_datanets (
  payer       text NOT NULL,
  livemode    boolean NOT NULL,
  datanet_id  text NOT NULL,
  calls       bigint NOT NULL,
  data_fees   bigint NOT NULL,
  PRIMARY KEY (payer, livemode, datanet_id)
);

-- Moves the rollups forward to the last UTC midnight at least an hour old; returns the new bound.
CREATE FUNCTION dashboard_rollup() RETURNS timestamptz LANGUAGE plpgsql AS $$
DECLARE
  lo timestamptz;
  hi timestamptz := date_trunc('day', (now() - interval '1 hour') AT TIME ZONE 'UTC') AT TIME ZONE 'UTC';
BEGIN
  SELECT upto INTO lo FROM dashboard_rollup_state;
  IF hi <= lo THEN RETURN lo; END IF;
  SELECT upto INTO lo FROM dashboard_rollup_state FOR UPDATE;   -- one refresher at a time
  IF hi <= lo THEN RETURN lo; END IF;
  INSERT INTO rollup_ledger AS r
    SELECT e.account_id, e.livemode, CASE WHEN a.kind = 'consumer' THEN (t.created_at AT TIME ZONE 'UTC')::date ELSE DATE '1970-01-01' END, t.kind,
           CASE WHEN a.kind = 'consumer' THEN coalesce(t.key_id, '') ELSE '' END, coalesce(e.datanet_id, ''), coalesce(e.document_id, ''),
           count(*), coalesce(sum(-e.amount) FILTER (WHERE e.amount < 0), 0), coalesce(sum(e.amount) FILTER (WHERE e.amount > 0), 0)
      FROM ledger_transactions t JOIN ledger_entries e ON e.transaction_id = t.id JOIN accounts a ON a.id = e.account_id
     WHERE t.created_at >= lo AND t.created_at < hi
     GROUP BY 1, 2, 3, 4, 5, 6, 7
  ON CONFLICT (account_id, livemode, day, kind, key_id, datanet_id, document_id) DO UPDATE
     SET entries = r.entries + excluded.entries, debit = r.debit + excluded.debit, credit = r.credit + excluded.credit;
  INSERT INTO rollup_sources AS r
    SELECT wallet, livemode, source_id, min(datanet_id), min(document_id), count(*), count(*) FILTER (WHERE cited), count(*) FILTER (WHERE supported), sum(amount)
      FROM receipt_sources WHERE created_at >= lo AND created_at < hi GROUP BY wallet, livemode, source_id
  ON CONFLICT (wallet, livemode, source_id) DO UPDATE
     SET retrieved = r.retrieved + excluded.retrieved, cited = r.cited + excluded.cited, supported = r.supported + excluded.supported, earned = r.earned + excluded.earned;
  INSERT INTO rollup_owner_days AS r
    SELECT wallet, livemode, (created_at AT TIME ZONE 'UTC')::date, count(DISTINCT receipt_id), sum(amount)
      FROM receipt_sources WHERE created_at >= lo AND created_at < hi GROUP BY 1, 2, 3
  ON CONFLICT (wallet, livemode, day) DO UPDATE SET calls = r.calls + excluded.calls, earned = r.earned + excluded.earned;
  INSERT INTO rollup_payer_days AS r
    SELECT payer, livemode, (created_at AT TIME ZONE 'UTC')::date, count(*), sum(charged), sum(data_fees), sum(model_tokens), sum(adapter_fee), sum(protocol_fee)
      FROM receipt_calls WHERE created_at >= lo AND created_at < hi GROUP BY 1, 2, 3
  ON CONFLICT (payer, livemode, day) DO UPDATE
     SET calls = r.calls + excluded.calls, charged = r.charged + excluded.charged, data_fees = r.data_fees + excluded.data_fees,
         model_tokens = r.model_tokens + excluded.model_tokens, adapter_fee = r.adapter_fee + excluded.adapter_fee, protocol_fee = r.protocol_fee + excluded.protocol_fee;
  INSERT INTO rollup_payer_datanets AS r
    SELECT payer, livemode, datanet_id, count(DISTINCT receipt_id), sum(amount)
      FROM receipt_sources WHERE created_at >= lo AND created_at < hi GROUP BY 1, 2, 3
  ON CONFLICT (payer, livemode, datanet_id) DO UPDATE SET calls = r.calls + excluded.calls, data_fees = r.data_fees + excluded.data_fees;
  UPDATE dashboard_rollup_state SET upto = hi;
  RETURN hi;
END $$;
