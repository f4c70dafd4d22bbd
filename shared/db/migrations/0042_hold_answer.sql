-- One round trip to accept an answer (issue 18): under the payer's account lock, check its answer
-- slots (queued + running answers, per key and per account: the open answers' partial index, never
-- history) and what it can spend, then insert the answer (its trigger adds the hold to
-- account_balances) and the Idempotency-Key result. Writes nothing unless status = 'ok'.
-- Limits: the caller's defaults, overridden by account_limits; null or 0 = unlimited (admins).
CREATE FUNCTION hold_answer(
  p_id text, p_request_id text, p_account text, p_key_id text, p_model text, p_adapter_id text,
  p_query text, p_sources jsonb, p_hold bigint, p_livemode boolean, p_deadline_seconds double precision,
  p_key_answers integer, p_account_answers integer,
  p_idem_key text, p_idem_hash text, p_result jsonb
) RETURNS TABLE (status text, open_account integer, open_key integer, key_limit integer, account_limit integer,
                 balance bigint, held bigint, created_at timestamptz, deadline_at timestamptz)
LANGUAGE plpgsql AS $$
DECLARE
  v_key_limit integer := p_key_answers;
  v_account_limit integer := p_account_answers;
  v_open_account integer := 0;
  v_open_key integer := 0;
  v_balance bigint := 0;
  v_held bigint := 0;
  v_created timestamptz;
  v_deadline timestamptz;
BEGIN
  PERFORM 1 FROM accounts WHERE id = p_account FOR UPDATE;
  IF p_key_answers IS NOT NULL OR p_account_answers IS NOT NULL THEN
    -- (a SELECT … INTO with no row would set both to null: read each override as a scalar instead)
    v_key_limit := coalesce((SELECT l.key_concurrent_answers FROM account_limits l WHERE l.account_id = p_account), p_key_answers);
    v_account_limit := coalesce((SELECT l.concurrent_answers FROM account_limits l WHERE l.account_id = p_account), p_account_answers);
    SELECT count(*)::int, (count(*) FILTER (WHERE a.key_id = p_key_id))::int INTO v_open_account, v_open_key
      FROM answers a WHERE a.account_id = p_account AND a.status IN ('queued', 'running');
    IF v_key_limit > 0 AND v_open_key >= v_key_limit THEN
      RETURN QUERY SELECT 'key_answers', v_open_account, v_open_key, v_key_limit, v_account_limit, 0::bigint, 0::bigint, NULL::timestamptz, NULL::timestamptz;
      RETURN;
    END IF;
    IF v_account_limit > 0 AND v_open_account >= v_account_limit THEN
      RETURN QUERY SELECT 'account_answers', v_open_account, v_open_key, v_key_limit, v_account_limit, 0::bigint, 0::bigint, NULL::timestamptz, NULL::timestamptz;
      RETURN;
    END IF;
  END IF;
  SELECT b.balance, b.held INTO v_balance, v_held FROM account_balances b WHERE b.account_id = p_account AND b.livemode = p_livemode;
  v_balance := coalesce(v_balance, 0);
  v_held := coalesce(v_held, 0);
  IF v_balance - v_held < p_hold THEN
    RETURN QUERY SELECT 'insufficient', v_open_account, v_open_key, v_key_limit, v_account_limit, v_balance, v_held, NULL::timestamptz, NULL::timestamptz;
    RETURN;
  END IF;
  INSERT INTO answers (id, request_id, account_id, key_id, status, model, adapter_id, query, sources, hold, livemode, deadline_at)
    VALUES (p_id, p_request_id, p_account, p_key_id, 'queued', p_model, p_adapter_id, p_query, p_sources, p_hold, p_livemode,
            now() + make_interval(secs => p_deadline_seconds))
    RETURNING answers.created_at, answers.deadline_at INTO v_created, v_deadline;
  IF p_idem_key IS NOT NULL THEN
    INSERT INTO idempotency_keys (account_id, key, request_hash, result) VALUES (p_account, p_idem_key, p_idem_hash, p_result);
  END IF;
  RETURN QUERY SELECT 'ok', v_open_account, v_open_key, v_key_limit, v_account_limit, v_balance, v_held + p_hold, v_created, v_deadline;
END $$;
