-- Sessions tied to the credential that opened them (issue #19). A session opened with an API key
-- names the key; revoking the key deletes its sessions in the same statement (trigger below), and
-- every read of a session checks the key is still live, so a leaked key's holder is locked out of
-- the dashboard the moment it is revoked. A wallet's (SIWE) session ends when its account is
-- disabled or its wallet changes. Each session has a public id, so it can be listed and ended.

-- Sessions written before this know neither their key nor an id: end them (everyone signs in again once).
DELETE FROM dashboard_sessions;

ALTER TABLE dashboard_sessions ADD COLUMN id text NOT NULL UNIQUE;
ALTER TABLE dashboard_sessions ADD COLUMN key_id text REFERENCES api_keys(id);
-- A one-shot notice for the next page this session opens, written by the server (never from a URL).
ALTER TABLE dashboard_sessions ADD COLUMN notice text;
ALTER TABLE dashboard_sessions ADD CONSTRAINT dashboard_sessions_key_method CHECK ((method = 'api_key') = (key_id IS NOT NULL));
CREATE INDEX dashboard_sessions_key ON dashboard_sessions (key_id) WHERE key_id IS NOT NULL;
CREATE INDEX dashboard_sessions_account ON dashboard_sessions (account_id, created_at);

-- An account an admin disabled: its keys are refused, its sessions end, its wallet cannot sign in.
ALTER TABLE accounts ADD COLUMN disabled_at timestamptz;

CREATE FUNCTION end_sessions_of_revoked_key() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  DELETE FROM dashboard_sessions WHERE key_id = NEW.id;
  RETURN NULL;
END $$;
CREATE TRIGGER api_keys_revoked_end_sessions AFTER UPDATE OF revoked_at ON api_keys
  FOR EACH ROW WHEN (NEW.revoked_at IS NOT NULL AND OLD.revoked_at IS NULL) EXECUTE FUNCTION end_sessions_of_revoked_key();

CREATE FUNCTION end_sessions_of_disabled_account() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  DELETE FROM dashboard_sessions WHERE account_id = NEW.id;
  RETURN NULL;
END $$;
CREATE TRIGGER accounts_disabled_end_sessions AFTER UPDATE OF disabled_at, wallet ON accounts
  FOR EACH ROW WHEN ((NEW.disabled_at IS NOT NULL AND OLD.disabled_at IS NULL) OR NEW.wallet IS DISTINCT FROM OLD.wallet)
  EXECUTE FUNCTION end_sessions_of_disabled_account();
