-- One round trip for a paid call's charge (issue 18): lock the payer, check what it can spend,
-- post the ledger transaction, write the receipt and the Idempotency-Key result, all in one
-- statement (so one implicit transaction). The store (shared/store/ledger.ts chargeCall) is its
-- only caller; it checks the entries balance before calling, and the deferred ledger trigger
-- checks again at commit.
--
-- Returns ok = false (and writes nothing) when balance − held < p_required; p_required null
-- refuses only an account with nothing left. `balance` is the payer's balance after the charge.
-- p_balance_path: where in p_result to write the available balance after the charge (a
-- {"$bigint": "…"} tag, as store/idempotency.ts encodes money), since only this function knows it.
CREATE FUNCTION charge_call(
  p_account text, p_livemode boolean, p_required bigint,
  p_txn_id text, p_kind text, p_request_id text, p_key_id text,
  p_accounts text[], p_amounts bigint[], p_datanets text[], p_documents text[],
  p_receipt_id text, p_receipt_kind text, p_receipt_canonical text, p_receipt_hash text, p_receipt_at timestamptz,
  p_idem_key text, p_idem_hash text, p_result jsonb, p_balance_path text[]
) RETURNS TABLE (ok boolean, balance bigint, held bigint) LANGUAGE plpgsql AS $$
DECLARE
  v_balance bigint := 0;
  v_held bigint := 0;
  v_total bigint := 0;
BEGIN
  PERFORM 1 FROM accounts WHERE id = p_account FOR UPDATE;
  SELECT b.balance, b.held INTO v_balance, v_held FROM account_balances b WHERE b.account_id = p_account AND b.livemode = p_livemode;
  v_balance := coalesce(v_balance, 0);
  v_held := coalesce(v_held, 0);
  IF (p_required IS NULL AND v_balance - v_held <= 0) OR v_balance - v_held < p_required THEN
    RETURN QUERY SELECT false, v_balance, v_held;
    RETURN;
  END IF;
  IF coalesce(array_length(p_accounts, 1), 0) > 0 THEN
    INSERT INTO ledger_transactions (id, kind, request_id, key_id, livemode) VALUES (p_txn_id, p_kind, p_request_id, p_key_id, p_livemode);
    INSERT INTO ledger_entries (transaction_id, livemode, account_id, amount, datanet_id, document_id)
      SELECT p_txn_id, p_livemode, * FROM unnest(p_accounts, p_amounts, p_datanets, p_documents);
    SELECT coalesce(-sum(a), 0) INTO v_total FROM unnest(p_accounts, p_amounts) AS x(acc, a) WHERE acc = p_account;
  END IF;
  IF p_receipt_id IS NOT NULL THEN
    INSERT INTO receipts (id, request_id, kind, account_id, canonical, hash, created_at, livemode)
      VALUES (p_receipt_id, p_request_id, p_receipt_kind, p_account, p_receipt_canonical, p_receipt_hash, p_receipt_at, p_livemode);
  END IF;
  IF p_idem_key IS NOT NULL THEN
    INSERT INTO idempotency_keys (account_id, key, request_hash, result)
      VALUES (p_account, p_idem_key, p_idem_hash,
              CASE WHEN p_balance_path IS NULL THEN p_result
                   ELSE jsonb_set(p_result, p_balance_path, jsonb_build_object('$bigint', (v_balance - v_total - v_held)::text)) END);
  END IF;
  RETURN QUERY SELECT true, v_balance - v_total, v_held;
END $$;
