-- Dashboards (issue #11): browser sessions, Sign-In with Ethereum nonces, and a per-source index
-- of attribution receipts that the owner and consumer pages read with plain indexed queries.

-- A session is a random token in an HttpOnly cookie; only its sha256 is stored.
CREATE TABLE dashboard_sessions (
  token_hash  text PRIMARY KEY,
  account_id  text NOT NULL REFERENCES accounts(id),
  method      text NOT NULL CHECK (method IN ('siwe', 'api_key')),
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
  kind             text NOT NULL,
  created_at       timestamptz NOT NULL,
  formula_version  text NOT NULL,
  charged          bigint NOT NULL,
  data_fees        bigint NOT NULL,   -- paid to contributors
  adapter_fee      bigint NOT NULL,
  model_tokens     bigint NOT NULL,   -- token charge, less the adapter's share
  protocol_fee     bigint NOT NULL    -- the rest: citepay's cut of the data fee
);
CREATE INDEX receipt_calls_payer ON receipt_calls (payer, created_at);

-- Receipts, one row per source shown: the funnel retrieved → cited → supported → paid.
CREATE TABLE receipt_sources (
  receipt_id   text NOT NULL REFERENCES receipts(id),
  ordinal      integer NOT NULL,
  request_id   text NOT NULL,
  payer        text NOT NULL,
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
CREATE INDEX receipt_sources_wallet_time ON receipt_sources (wallet, created_at DESC);
CREATE INDEX receipt_sources_wallet_doc ON receipt_sources (wallet, document_id);
CREATE INDEX receipt_sources_payer ON receipt_sources (payer, datanet_id);

-- Last use of a key.
CREATE INDEX ledger_transactions_key ON ledger_transactions (key_id, created_at) WHERE key_id IS NOT NULL;

CREATE FUNCTION receipt_index(r receipts) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
  j jsonb := r.canonical::jsonb;
  credits bigint;
  adapter bigint := coalesce((j -> 'adapter' ->> 'amount')::bigint, 0);
  tokens bigint := 0;
BEGIN
  SELECT coalesce(sum((s ->> 'amount')::bigint), 0) INTO credits FROM jsonb_array_elements(j -> 'sources') s;
  IF r.kind = 'answer' THEN tokens := greatest((j ->> 'charged')::bigint - (j ->> 'dataFee')::bigint - adapter, 0); END IF;
  INSERT INTO receipt_calls VALUES (r.id, r.request_id, r.account_id, r.kind, r.created_at, j ->> 'formulaVersion',
    (j ->> 'charged')::bigint, credits, adapter, tokens, (j ->> 'charged')::bigint - credits - adapter - tokens);
  INSERT INTO receipt_sources
    SELECT r.id, (o - 1)::int, r.request_id, r.account_id, r.created_at, lower(s ->> 'wallet'), s ->> 'datanetId', s ->> 'documentId',
           s ->> 'sourceId', (s ->> 'weightPpm')::int, (s ->> 'amount')::bigint,
           (s -> 'signals' ->> 'citation') IS NOT NULL AND ((s -> 'signals' ->> 'citation')::float8 > 0 OR (s -> 'signals' ->> 'unsupported')::boolean),
           (s -> 'signals' ->> 'citation') IS NOT NULL AND (s -> 'signals' ->> 'citation')::float8 > 0
      FROM jsonb_array_elements(j -> 'sources') WITH ORDINALITY AS x(s, o);
END $$;

CREATE FUNCTION receipts_index_trigger() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN PERFORM receipt_index(NEW); RETURN NULL; END $$;
CREATE TRIGGER receipts_index AFTER INSERT ON receipts FOR EACH ROW EXECUTE FUNCTION receipts_index_trigger();

SELECT receipt_index(r) FROM receipts r;
