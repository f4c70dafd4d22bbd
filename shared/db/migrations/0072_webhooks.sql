-- Signed webhooks (issue #21, Standard Webhooks). Events are written to an outbox by triggers on the
-- rows that make them happen, so an event exists exactly when its cause committed (same transaction);
-- one delivery row per subscribed endpoint is the worker's queue, delivered in order per endpoint.

CREATE TABLE webhook_endpoints (
  id                     text PRIMARY KEY,
  account_id             text NOT NULL REFERENCES accounts(id),
  livemode               boolean NOT NULL,            -- a cp_test_ session's endpoint gets test events only
  url                    text NOT NULL,
  secret                 text NOT NULL,               -- whsec_…: signs every delivery (Standard Webhooks)
  events                 text[] NOT NULL CHECK (cardinality(events) > 0),
  balance_low_threshold  bigint CHECK (balance_low_threshold >= 0),
  created_at             timestamptz NOT NULL DEFAULT now(),
  deleted_at             timestamptz
);
CREATE INDEX webhook_endpoints_account ON webhook_endpoints (account_id, livemode) WHERE deleted_at IS NULL;

CREATE TABLE webhook_events (
  id          text PRIMARY KEY,                       -- msg_…: the webhook-id header, the same on every retry
  seq         bigserial UNIQUE,                       -- creation order: deliveries per endpoint follow it
  account_id  text NOT NULL REFERENCES accounts(id),
  livemode    boolean NOT NULL,
  type        text NOT NULL,
  payload     jsonb NOT NULL,
  created_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE webhook_deliveries (
  event_id         text NOT NULL REFERENCES webhook_events(id),
  endpoint_id      text NOT NULL REFERENCES webhook_endpoints(id),
  seq              bigint NOT NULL,
  status           text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'delivered', 'failed')),
  attempts         integer NOT NULL DEFAULT 0,
  next_attempt_at  timestamptz NOT NULL DEFAULT now(),
  lease_until      timestamptz,                       -- a worker is sending it; others keep off until then
  last_status      integer,
  last_error       text,
  delivered_at     timestamptz,
  PRIMARY KEY (endpoint_id, event_id)
);
CREATE INDEX webhook_deliveries_pending ON webhook_deliveries (endpoint_id, seq) WHERE status = 'pending';

CREATE TABLE webhook_attempts (
  id           bigserial PRIMARY KEY,
  event_id     text NOT NULL,
  endpoint_id  text NOT NULL,
  attempt      integer NOT NULL,
  at           timestamptz NOT NULL DEFAULT now(),
  status_code  integer,                               -- null: no HTTP answer (timeout, refused)
  error        text,
  duration_ms  integer NOT NULL
);
CREATE INDEX webhook_attempts_endpoint ON webhook_attempts (endpoint_id, id DESC);

-- Records one event for an account and queues it to every live endpoint of that account and mode
-- subscribed to its type (and, for balance.low, whose threshold the balance just crossed).
CREATE FUNCTION webhook_emit(acct text, live boolean, kind text, body jsonb, balance_before bigint DEFAULT NULL, balance_after bigint DEFAULT NULL)
RETURNS void LANGUAGE plpgsql AS $$
DECLARE
  event_id text := 'msg_' || replace(gen_random_uuid()::text, '-', '');
  n bigint;
BEGIN
  IF NOT EXISTS (SELECT 1 FROM webhook_endpoints e WHERE e.account_id = acct AND e.livemode = live AND e.deleted_at IS NULL AND kind = ANY (e.events)
                   AND (kind <> 'balance.low' OR (balance_before >= e.balance_low_threshold AND balance_after < e.balance_low_threshold))) THEN
    RETURN;
  END IF;
  INSERT INTO webhook_events (id, account_id, livemode, type, payload) VALUES (event_id, acct, live, kind, body) RETURNING seq INTO n;
  INSERT INTO webhook_deliveries (event_id, endpoint_id, seq)
    SELECT event_id, e.id, n FROM webhook_endpoints e
     WHERE e.account_id = acct AND e.livemode = live AND e.deleted_at IS NULL AND kind = ANY (e.events)
       AND (kind <> 'balance.low' OR (balance_before >= e.balance_low_threshold AND balance_after < e.balance_low_threshold));
END $$;

-- answer.completed: an answer closes (succeeded or failed), with its usage when it has one.
CREATE FUNCTION webhook_answer_completed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM webhook_emit(NEW.account_id, NEW.livemode, 'answer.completed', jsonb_build_object(
    'answerId', NEW.id, 'requestId', NEW.request_id, 'status', NEW.status,
    'usage', NEW.response -> 'usage', 'error', NEW.error, 'finishedAt', NEW.finished_at));
  RETURN NULL;
END $$;
CREATE TRIGGER answers_webhook AFTER UPDATE OF status ON answers FOR EACH ROW
  WHEN (OLD.status IN ('queued', 'running') AND NEW.status IN ('succeeded', 'failed', 'expired'))
  EXECUTE FUNCTION webhook_answer_completed();

-- balance.low: a consumer's charge takes its balance (in that mode) below an endpoint's threshold.
CREATE FUNCTION webhook_balance_low() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE after bigint;
BEGIN
  IF NOT EXISTS (SELECT 1 FROM webhook_endpoints e WHERE e.account_id = NEW.account_id AND e.livemode = NEW.livemode
                   AND e.deleted_at IS NULL AND 'balance.low' = ANY (e.events)) THEN RETURN NULL; END IF;
  SELECT coalesce(sum(amount), 0) INTO after FROM ledger_entries WHERE account_id = NEW.account_id AND livemode = NEW.livemode;
  PERFORM webhook_emit(NEW.account_id, NEW.livemode, 'balance.low',
    jsonb_build_object('balance', after::text, 'charged', (-NEW.amount)::text, 'transactionId', NEW.transaction_id, 'currency', 'USD', 'unit', 'micro'),
    after - NEW.amount, after);
  RETURN NULL;
END $$;
CREATE TRIGGER ledger_entries_webhook AFTER INSERT ON ledger_entries FOR EACH ROW WHEN (NEW.amount < 0)
  EXECUTE FUNCTION webhook_balance_low();

-- earnings.settled: an epoch is confirmed on chain; each owner it paid hears of its new cumulative amount.
CREATE FUNCTION webhook_earnings_settled() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE p record;
BEGIN
  FOR p IN SELECT * FROM epoch_payouts WHERE epoch = NEW.epoch ORDER BY wallet LOOP
    PERFORM webhook_emit(p.account_id, true, 'earnings.settled', jsonb_build_object(
      'epoch', NEW.epoch, 'wallet', p.wallet, 'amount', p.amount::text, 'cumulative', p.cumulative::text,
      'txHash', NEW.tx_hash, 'payoutRoot', NEW.payout_root, 'currency', 'USD', 'unit', 'micro'));
  END LOOP;
  RETURN NULL;
END $$;
CREATE TRIGGER settlement_epochs_webhook AFTER UPDATE OF status ON settlement_epochs FOR EACH ROW
  WHEN (OLD.status <> 'confirmed' AND NEW.status = 'confirmed')
  EXECUTE FUNCTION webhook_earnings_settled();
