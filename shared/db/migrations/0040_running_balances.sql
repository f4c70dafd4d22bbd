-- Running balances (issue 18): what an account holds and what answers in flight reserve of it, per
-- mode, kept beside the append-only entries so a paid call reads one row instead of summing the
-- account's history. The entries stay the source of truth; `npm run check:ledger` proves
-- balance = Σ entries and held = Σ open holds for every account and mode.
--
-- Triggers keep the rows, so every writer (charges, grants, settlement, tests' raw inserts) is
-- covered and the row moves in the same transaction as the entries. The row lock each update
-- takes is held to commit; the entries trigger updates one statement's accounts in id order, so
-- two charges crediting the same owners lock them in the same order (no deadlock).
-- No foreign key to accounts: its KEY SHARE lock would wait on a payer's FOR UPDATE account lock.
CREATE TABLE account_balances (
  account_id  text NOT NULL,
  livemode    boolean NOT NULL,
  balance     bigint NOT NULL DEFAULT 0,   -- Σ ledger_entries.amount
  held        bigint NOT NULL DEFAULT 0,   -- Σ answers.hold over queued and running answers
  PRIMARY KEY (account_id, livemode)
);

CREATE FUNCTION account_balances_from_entries() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO account_balances AS b (account_id, livemode, balance)
    SELECT account_id, livemode, sum(amount) FROM new_entries GROUP BY account_id, livemode ORDER BY account_id, livemode
  ON CONFLICT (account_id, livemode) DO UPDATE SET balance = b.balance + excluded.balance;
  RETURN NULL;
END $$;
CREATE TRIGGER ledger_entries_balance AFTER INSERT ON ledger_entries
  REFERENCING NEW TABLE AS new_entries FOR EACH STATEMENT EXECUTE FUNCTION account_balances_from_entries();

CREATE FUNCTION account_balances_from_holds() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  before bigint := 0;
  after bigint := 0;
BEGIN
  IF TG_OP = 'UPDATE' THEN
    IF OLD.status IN ('queued', 'running') THEN before := OLD.hold; END IF;
    IF OLD.account_id <> NEW.account_id OR OLD.livemode <> NEW.livemode THEN
      RAISE EXCEPTION 'an answer never changes account or mode';
    END IF;
  END IF;
  IF NEW.status IN ('queued', 'running') THEN after := NEW.hold; END IF;
  IF after <> before THEN
    INSERT INTO account_balances AS b (account_id, livemode, held) VALUES (NEW.account_id, NEW.livemode, after - before)
    ON CONFLICT (account_id, livemode) DO UPDATE SET held = b.held + excluded.held;
  END IF;
  RETURN NULL;
END $$;
CREATE TRIGGER answers_hold AFTER INSERT OR UPDATE OF status, hold ON answers
  FOR EACH ROW EXECUTE FUNCTION account_balances_from_holds();

CREATE FUNCTION answers_never_deleted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN RAISE EXCEPTION 'answers are never deleted (their holds are counted in account_balances)'; END $$;
CREATE TRIGGER answers_no_delete BEFORE DELETE ON answers FOR EACH ROW EXECUTE FUNCTION answers_never_deleted();

INSERT INTO account_balances (account_id, livemode, balance)
  SELECT account_id, livemode, sum(amount) FROM ledger_entries GROUP BY account_id, livemode;
INSERT INTO account_balances AS b (account_id, livemode, held)
  SELECT account_id, livemode, sum(hold) FROM answers WHERE status IN ('queued', 'running') GROUP BY account_id, livemode
ON CONFLICT (account_id, livemode) DO UPDATE SET held = excluded.held;
