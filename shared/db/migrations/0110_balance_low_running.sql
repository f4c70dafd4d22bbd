-- balance.low from the running balance (issue 21): the trigger of 0072 summed the account's whole
-- ledger history on every debit. Now one statement-level trigger reads the account_balances row
-- that `ledger_entries_balance` (0040) has just moved: triggers of one kind fire in name order, and
-- 'ledger_entries_balance' < 'ledger_entries_webhook', so the row already holds the balance after
-- this statement. The balance before is that minus the statement's net for the account: O(1) per
-- account touched, whatever its history. A statement that debits and credits one account counts its
-- net (a charge only ever debits the consumer, so this is the charge).
DROP TRIGGER ledger_entries_webhook ON ledger_entries;
DROP FUNCTION webhook_balance_low();

CREATE FUNCTION webhook_balance_low() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE d record;
BEGIN
  FOR d IN
    SELECT n.account_id, n.livemode, n.net, n.transaction_id, b.balance AS after
      FROM (SELECT account_id, livemode, sum(amount)::bigint AS net, max(transaction_id) AS transaction_id
              FROM new_entries GROUP BY account_id, livemode HAVING sum(amount) < 0) n
      JOIN account_balances b ON b.account_id = n.account_id AND b.livemode = n.livemode
     WHERE EXISTS (SELECT 1 FROM webhook_endpoints e WHERE e.account_id = n.account_id AND e.livemode = n.livemode
                     AND e.deleted_at IS NULL AND 'balance.low' = ANY (e.events))
     ORDER BY n.account_id, n.livemode
  LOOP
    PERFORM webhook_emit(d.account_id, d.livemode, 'balance.low',
      jsonb_build_object('balance', d.after::text, 'charged', (-d.net)::text, 'transactionId', d.transaction_id,
                         'currency', 'USD', 'unit', 'micro'),
      d.after - d.net, d.after);
  END LOOP;
  RETURN NULL;
END $$;
CREATE TRIGGER ledger_entries_webhook AFTER INSERT ON ledger_entries
  REFERENCING NEW TABLE AS new_entries FOR EACH STATEMENT EXECUTE FUNCTION webhook_balance_low();
