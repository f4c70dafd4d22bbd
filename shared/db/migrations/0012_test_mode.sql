-- Test mode, Stripe's convention: a cp_test_ key acts on test balances that never mix with live
-- money. Every key, ledger transaction, ledger entry, answer (and its hold) and receipt says which
-- side it is on (`livemode`). Balances are per (account, livemode): one set of accounts, two
-- ledgers that cannot touch, so usage, earnings and datanets stay the same objects in both modes
-- while money in one never counts in the other. Rows written before this are live (default true,
-- then dropped: a writer that forgets to say the mode fails instead of defaulting to live money).

-- A key's mode is its prefix; the database keeps the two in step.
ALTER TABLE api_keys ADD COLUMN livemode boolean;
UPDATE api_keys SET livemode = (left(prefix, 8) <> 'cp_test_');
ALTER TABLE api_keys ALTER COLUMN livemode SET NOT NULL;
ALTER TABLE api_keys ADD CONSTRAINT api_keys_livemode_is_prefix CHECK (livemode = (left(prefix, 8) <> 'cp_test_'));

ALTER TABLE ledger_transactions ADD COLUMN livemode boolean NOT NULL DEFAULT true;
ALTER TABLE ledger_transactions ALTER COLUMN livemode DROP DEFAULT;
ALTER TABLE ledger_transactions ADD CONSTRAINT ledger_transactions_id_livemode UNIQUE (id, livemode);

-- Each entry repeats its transaction's mode (so a balance is one indexed sum), and the foreign key
-- makes a transaction with live and test lines impossible: each side balances on its own.
ALTER TABLE ledger_entries ADD COLUMN livemode boolean NOT NULL DEFAULT true;
ALTER TABLE ledger_entries ALTER COLUMN livemode DROP DEFAULT;
ALTER TABLE ledger_entries ADD CONSTRAINT ledger_entries_same_mode
  FOREIGN KEY (transaction_id, livemode) REFERENCES ledger_transactions (id, livemode);
CREATE INDEX ledger_entries_account_mode ON ledger_entries (account_id, livemode);

-- A test key never writes live money; a live key's calls are live (only an admin's credit grant
-- may be a test one: granting test credits moves no live money).
CREATE FUNCTION ledger_key_mode() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE key_live boolean;
BEGIN
  IF NEW.key_id IS NULL THEN RETURN NEW; END IF;
  SELECT livemode INTO key_live FROM api_keys WHERE id = NEW.key_id;
  IF NOT key_live AND NEW.livemode THEN
    RAISE EXCEPTION 'a test key (%) cannot write a live ledger transaction', NEW.key_id;
  END IF;
  IF key_live AND NOT NEW.livemode AND NEW.kind <> 'credit_grant' THEN
    RAISE EXCEPTION 'a live key''s call (%) cannot be a test transaction', NEW.key_id;
  END IF;
  RETURN NEW;
END $$;
CREATE TRIGGER ledger_transactions_key_mode BEFORE INSERT ON ledger_transactions
  FOR EACH ROW EXECUTE FUNCTION ledger_key_mode();

-- Holds count against the balance of their own mode.
ALTER TABLE answers ADD COLUMN livemode boolean NOT NULL DEFAULT true;
ALTER TABLE answers ALTER COLUMN livemode DROP DEFAULT;

-- Test receipts never go on chain: settlement takes live receipts only.
ALTER TABLE receipts ADD COLUMN livemode boolean NOT NULL DEFAULT true;
ALTER TABLE receipts ALTER COLUMN livemode DROP DEFAULT;
ALTER TABLE receipts ADD CONSTRAINT receipts_test_never_settled CHECK (livemode OR epoch IS NULL);
DROP INDEX receipts_open;
CREATE INDEX receipts_open ON receipts (created_at, id) WHERE epoch IS NULL AND livemode;
