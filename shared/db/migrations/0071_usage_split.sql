-- Where a consumer's money went (issue #21). receipt_index (0014) took an answer's model tokens as
-- charged − dataFee − adapter, which also holds the protocol's cut of the data fee. The receipt
-- cannot tell the two apart (its protocolFee is the cut plus the tokens less the adapter), so the
-- answer's own usage, written in the same transaction as its receipt, corrects the row.

CREATE FUNCTION receipt_call_tokens_from_answer() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  UPDATE receipt_calls rc
     SET model_tokens = greatest((NEW.response -> 'usage' ->> 'tokenCharge')::bigint - rc.adapter_fee, 0),
         protocol_fee = rc.charged - rc.data_fees - rc.adapter_fee - greatest((NEW.response -> 'usage' ->> 'tokenCharge')::bigint - rc.adapter_fee, 0)
   WHERE rc.request_id = NEW.request_id AND rc.kind = 'answer';
  RETURN NULL;
END $$;
CREATE TRIGGER answers_usage_split AFTER UPDATE OF response ON answers FOR EACH ROW
  WHEN (NEW.status = 'succeeded' AND NEW.response -> 'usage' ? 'tokenCharge')
  EXECUTE FUNCTION receipt_call_tokens_from_answer();

-- Existing rows, then the per-day rollup they were summed into.
UPDATE receipt_calls rc
   SET model_tokens = greatest((a.response -> 'usage' ->> 'tokenCharge')::bigint - rc.adapter_fee, 0),
       protocol_fee = rc.charged - rc.data_fees - rc.adapter_fee - greatest((a.response -> 'usage' ->> 'tokenCharge')::bigint - rc.adapter_fee, 0)
  FROM answers a
 WHERE a.request_id = rc.request_id AND rc.kind = 'answer' AND a.response -> 'usage' ? 'tokenCharge';

DELETE FROM rollup_payer_days;
INSERT INTO rollup_payer_days
  SELECT payer, livemode, (created_at AT TIME ZONE 'UTC')::date, count(*), sum(charged), sum(data_fees), sum(model_tokens), sum(adapter_fee), sum(protocol_fee)
    FROM receipt_calls WHERE created_at < (SELECT upto FROM dashboard_rollup_state) GROUP BY 1, 2, 3;
