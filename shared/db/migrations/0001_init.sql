-- citepay core schema: accounts and keys, datanets and documents, chunks with
-- vectors and full-text, and the double-entry ledger.
CREATE EXTENSION IF NOT EXISTS vector;

CREATE TABLE accounts (
  id          text PRIMARY KEY,
  kind        text NOT NULL CHECK (kind IN ('admin', 'consumer', 'contributor', 'system')),
  name        text NOT NULL,
  wallet      text UNIQUE,
  created_at  timestamptz NOT NULL DEFAULT now(),
  CHECK (kind <> 'contributor' OR wallet IS NOT NULL)
);

-- Double-entry counterparties that are not customers.
INSERT INTO accounts (id, kind, name) VALUES
  ('acct_protocol', 'system', 'protocol revenue'),
  ('acct_funding',  'system', 'credit purchases (outside world)');

CREATE TABLE api_keys (
  id           text PRIMARY KEY,
  account_id   text NOT NULL REFERENCES accounts(id),
  role         text NOT NULL CHECK (role IN ('admin', 'consumer', 'contributor')),
  name         text,
  prefix       text NOT NULL,          -- first characters, to recognise a key in lists
  secret_hash  text NOT NULL UNIQUE,   -- sha256 of the whole key; the key itself is never stored
  created_at   timestamptz NOT NULL DEFAULT now(),
  revoked_at   timestamptz
);
CREATE INDEX api_keys_account ON api_keys (account_id);

CREATE TABLE datanets (
  id                text PRIMARY KEY,
  owner_account_id  text NOT NULL REFERENCES accounts(id),
  name              text NOT NULL,
  description       text,
  price_per_source  bigint NOT NULL CHECK (price_per_source >= 0),
  embedding_model   text NOT NULL,
  embedding_dim     integer NOT NULL,
  created_at        timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX datanets_owner ON datanets (owner_account_id);

CREATE TABLE documents (
  id              text PRIMARY KEY,
  datanet_id      text NOT NULL REFERENCES datanets(id),
  title           text NOT NULL,
  content_type    text NOT NULL,
  content_hash    text NOT NULL,       -- sha256 of the raw bytes
  object_key      text NOT NULL,       -- raw content in the ObjectStore
  byte_length     integer NOT NULL,
  text_length     integer NOT NULL,
  metadata        jsonb NOT NULL DEFAULT '{}'::jsonb,
  chunk_count     integer NOT NULL,
  created_at      timestamptz NOT NULL DEFAULT now(),
  deleted_at      timestamptz
);
-- The same content is indexed once per datanet (deleted documents may be re-uploaded).
CREATE UNIQUE INDEX documents_live_hash ON documents (datanet_id, content_hash) WHERE deleted_at IS NULL;
CREATE INDEX documents_metadata ON documents USING gin (metadata jsonb_path_ops);

-- Chunks of live documents only: deleting a document deletes its chunks, so it can never be retrieved.
CREATE TABLE chunks (
  id            text PRIMARY KEY,
  document_id   text NOT NULL REFERENCES documents(id) ON DELETE CASCADE,
  datanet_id    text NOT NULL REFERENCES datanets(id),
  ordinal       integer NOT NULL,
  start_char    integer NOT NULL,
  end_char      integer NOT NULL,
  heading_path  text[] NOT NULL DEFAULT '{}',
  text          text NOT NULL,
  tsv           tsvector NOT NULL,
  CHECK (end_char > start_char)
);
CREATE INDEX chunks_document ON chunks (document_id, ordinal);
CREATE INDEX chunks_datanet ON chunks (datanet_id);
CREATE INDEX chunks_tsv ON chunks USING gin (tsv);

-- Vectors live beside chunks, keyed by model, so an index never mixes models and a
-- re-embedding can fill a new model's rows while queries keep using the old ones.
CREATE TABLE chunk_vectors (
  chunk_id    text NOT NULL REFERENCES chunks(id) ON DELETE CASCADE,
  model       text NOT NULL,
  embedding   vector NOT NULL,
  PRIMARY KEY (chunk_id, model)
);
-- One HNSW index per model (a typed expression, since the column holds any dimension).
CREATE INDEX chunk_vectors_use_lite_hnsw ON chunk_vectors
  USING hnsw ((embedding::vector(512)) vector_cosine_ops) WHERE model = 'use-lite-512';

CREATE TABLE ledger_transactions (
  id          text PRIMARY KEY,
  kind        text NOT NULL,
  request_id  text UNIQUE,            -- one charge per request, whatever retries happen
  key_id      text REFERENCES api_keys(id),
  created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX ledger_transactions_kind ON ledger_transactions (kind, created_at);

CREATE TABLE ledger_entries (
  id              bigserial PRIMARY KEY,
  transaction_id  text NOT NULL REFERENCES ledger_transactions(id),
  account_id      text NOT NULL REFERENCES accounts(id),
  amount          bigint NOT NULL CHECK (amount <> 0),
  datanet_id      text REFERENCES datanets(id),
  document_id     text REFERENCES documents(id)
);
CREATE INDEX ledger_entries_account ON ledger_entries (account_id);
CREATE INDEX ledger_entries_transaction ON ledger_entries (transaction_id);
CREATE INDEX ledger_entries_document ON ledger_entries (document_id) WHERE document_id IS NOT NULL;

-- The database itself refuses an unbalanced transaction, checked at commit.
CREATE FUNCTION ledger_check_balanced() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE total numeric;
BEGIN
  SELECT coalesce(sum(amount), 0) INTO total FROM ledger_entries WHERE transaction_id = NEW.transaction_id;
  IF total <> 0 THEN
    RAISE EXCEPTION 'ledger transaction % does not balance (sum %)', NEW.transaction_id, total;
  END IF;
  RETURN NULL;
END $$;
CREATE CONSTRAINT TRIGGER ledger_entries_balanced AFTER INSERT OR UPDATE ON ledger_entries
  DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION ledger_check_balanced();
-- Entries are history: never rewritten.
CREATE FUNCTION ledger_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN RAISE EXCEPTION 'ledger entries are append-only'; END $$;
CREATE TRIGGER ledger_entries_append_only BEFORE UPDATE OR DELETE ON ledger_entries
  FOR EACH ROW EXECUTE FUNCTION ledger_append_only();

-- Idempotency-Key: the first response is stored in the same transaction as its charge.
CREATE TABLE idempotency_keys (
  account_id    text NOT NULL REFERENCES accounts(id),
  key           text NOT NULL,
  request_hash  text NOT NULL,
  status        integer NOT NULL,
  body          jsonb NOT NULL,
  created_at    timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (account_id, key)
);
