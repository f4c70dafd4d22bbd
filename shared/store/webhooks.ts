import type { Queryable } from '../db/index.ts';

// Webhook endpoints, the event outbox (written by triggers, migration 0072) and its deliveries.

export interface WebhookEndpoint {
  id: string;
  accountId: string;
  livemode: boolean;
  url: string;
  secret: string;
  events: string[];
  balanceLowThreshold: bigint | null;
  createdAt: Date;
}
type EndpointRow = {
  id: string;
  account_id: string;
  livemode: boolean;
  url: string;
  secret: string;
  events: string[];
  balance_low_threshold: bigint | null;
  created_at: Date;
};
const toEndpoint = (r: EndpointRow): WebhookEndpoint => ({
  id: r.id,
  accountId: r.account_id,
  livemode: r.livemode,
  url: r.url,
  secret: r.secret,
  events: r.events,
  balanceLowThreshold: r.balance_low_threshold,
  createdAt: r.created_at,
});

export async function insertEndpoint(db: Queryable, e: Omit<WebhookEndpoint, 'createdAt'>): Promise<WebhookEndpoint> {
  const r = await db.query<EndpointRow>(
    `INSERT INTO webhook_endpoints (id, account_id, livemode, url, secret, events, balance_low_threshold) VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING *`,
    [e.id, e.accountId, e.livemode, e.url, e.secret, e.events, e.balanceLowThreshold],
  );
  return toEndpoint(r.rows[0]!);
}

export async function listEndpoints(db: Queryable, accountId: string, livemode: boolean): Promise<WebhookEndpoint[]> {
  const r = await db.query<EndpointRow>(
    `SELECT * FROM webhook_endpoints WHERE account_id = $1 AND livemode = $2 AND deleted_at IS NULL ORDER BY created_at, id`,
    [accountId, livemode],
  );
  return r.rows.map(toEndpoint);
}

export async function findEndpoint(db: Queryable, accountId: string, id: string): Promise<WebhookEndpoint | null> {
  const r = await db.query<EndpointRow>(
    `SELECT * FROM webhook_endpoints WHERE id = $1 AND account_id = $2 AND deleted_at IS NULL`,
    [id, accountId],
  );
  return r.rows[0] ? toEndpoint(r.rows[0]) : null;
}

/** Stops deliveries to it: its pending deliveries are dropped with it. */
export async function deleteEndpoint(db: Queryable, id: string): Promise<void> {
  await db.query(`UPDATE webhook_endpoints SET deleted_at = now() WHERE id = $1`, [id]);
  await db.query(
    `UPDATE webhook_deliveries SET status = 'failed', last_error = 'endpoint deleted' WHERE endpoint_id = $1 AND status = 'pending'`,
    [id],
  );
}

/** Records an event raised by a service rather than a trigger (e.g. a relayed claim), in the caller's transaction. */
export async function emitWebhookEvent(
  db: Queryable,
  accountId: string,
  livemode: boolean,
  type: string,
  payload: Record<string, unknown>,
): Promise<void> {
  await db.query(`SELECT webhook_emit($1, $2, $3, $4::jsonb)`, [accountId, livemode, type, JSON.stringify(payload)]);
}

export interface DueDelivery {
  eventId: string;
  endpointId: string;
  attempts: number;
  url: string;
  secret: string;
  type: string;
  payload: Record<string, unknown>;
  createdAt: Date;
}

/**
 * Leases, for each endpoint, its oldest pending delivery when it is due: one in flight per endpoint
 * keeps them in order. A lease that ran out (a worker died mid-send) makes it due again.
 */
export async function leaseDueDeliveries(db: Queryable, leaseMs: number, limit: number): Promise<DueDelivery[]> {
  const r = await db.query<{
    event_id: string;
    endpoint_id: string;
    attempts: number;
    url: string;
    secret: string;
    type: string;
    payload: Record<string, unknown>;
    created_at: Date;
  }>(
    `WITH heads AS (
       SELECT DISTINCT ON (endpoint_id) endpoint_id, event_id, next_attempt_at, lease_until
         FROM webhook_deliveries WHERE status = 'pending' ORDER BY endpoint_id, seq),
     leased AS (
       UPDATE webhook_deliveries d SET lease_until = now() + make_interval(secs => $1::float8 / 1000)
         FROM (SELECT * FROM heads WHERE next_attempt_at <= now() AND (lease_until IS NULL OR lease_until < now()) LIMIT $2) h
        WHERE d.endpoint_id = h.endpoint_id AND d.event_id = h.event_id AND d.status = 'pending'
          AND (d.lease_until IS NULL OR d.lease_until < now())
        RETURNING d.event_id, d.endpoint_id, d.attempts)
     SELECT l.event_id, l.endpoint_id, l.attempts, e.url, e.secret, v.type, v.payload, v.created_at
       FROM leased l JOIN webhook_endpoints e ON e.id = l.endpoint_id JOIN webhook_events v ON v.id = l.event_id`,
    [leaseMs, limit],
  );
  return r.rows.map((x) => ({
    eventId: x.event_id,
    endpointId: x.endpoint_id,
    attempts: x.attempts,
    url: x.url,
    secret: x.secret,
    type: x.type,
    payload: x.payload,
    createdAt: x.created_at,
  }));
}

export interface AttemptOutcome {
  statusCode: number | null;
  error: string | null;
  durationMs: number;
  delivered: boolean;
  retryInMs: number | null;
}

/** Logs the attempt and moves the delivery on: delivered, retried later, or failed for good (retryInMs null). */
export async function recordAttempt(
  db: Queryable,
  d: Pick<DueDelivery, 'eventId' | 'endpointId' | 'attempts'>,
  o: AttemptOutcome,
): Promise<void> {
  await db.query(
    `INSERT INTO webhook_attempts (event_id, endpoint_id, attempt, status_code, error, duration_ms) VALUES ($1, $2, $3, $4, $5, $6)`,
    [d.eventId, d.endpointId, d.attempts + 1, o.statusCode, o.error, Math.round(o.durationMs)],
  );
  await db.query(
    `UPDATE webhook_deliveries SET attempts = attempts + 1, lease_until = NULL, last_status = $3, last_error = $4,
            status = CASE WHEN $5 THEN 'delivered' WHEN $6::float8 IS NULL THEN 'failed' ELSE 'pending' END,
            delivered_at = CASE WHEN $5 THEN now() ELSE delivered_at END,
            next_attempt_at = CASE WHEN $6::float8 IS NULL THEN next_attempt_at ELSE now() + make_interval(secs => $6::float8 / 1000) END
      WHERE event_id = $1 AND endpoint_id = $2`,
    [d.eventId, d.endpointId, o.statusCode, o.error, o.delivered, o.delivered ? null : o.retryInMs],
  );
}

export interface DeliveryRow {
  eventId: string;
  type: string;
  createdAt: Date;
  status: string;
  attempts: number;
  lastStatus: number | null;
  lastError: string | null;
  deliveredAt: Date | null;
  nextAttemptAt: Date;
  payload: Record<string, unknown>;
}

/** An endpoint's deliveries, newest event first. */
export async function listDeliveries(db: Queryable, endpointId: string, limit: number): Promise<DeliveryRow[]> {
  const r = await db.query<{
    event_id: string;
    type: string;
    created_at: Date;
    status: string;
    attempts: number;
    last_status: number | null;
    last_error: string | null;
    delivered_at: Date | null;
    next_attempt_at: Date;
    payload: Record<string, unknown>;
  }>(
    `SELECT d.event_id, v.type, v.created_at, d.status, d.attempts, d.last_status, d.last_error, d.delivered_at, d.next_attempt_at, v.payload
       FROM webhook_deliveries d JOIN webhook_events v ON v.id = d.event_id WHERE d.endpoint_id = $1 ORDER BY d.seq DESC LIMIT $2`,
    [endpointId, limit],
  );
  return r.rows.map((x) => ({
    eventId: x.event_id,
    type: x.type,
    createdAt: x.created_at,
    status: x.status,
    attempts: x.attempts,
    lastStatus: x.last_status,
    lastError: x.last_error,
    deliveredAt: x.delivered_at,
    nextAttemptAt: x.next_attempt_at,
    payload: x.payload,
  }));
}

/** Sends a delivery again, now, whatever became of it (same event id). False when there is no such delivery. */
export async function replayDelivery(db: Queryable, endpointId: string, eventId: string): Promise<boolean> {
  const r = await db.query(
    `UPDATE webhook_deliveries SET status = 'pending', next_attempt_at = now(), lease_until = NULL, attempts = 0 WHERE endpoint_id = $1 AND event_id = $2`,
    [endpointId, eventId],
  );
  return r.affectedRows === 1;
}

/** An event for the contributor account(s) paid to `wallet` (live money only: claims are on chain). */
export async function emitForWallet(
  db: Queryable,
  wallet: string,
  type: string,
  payload: Record<string, unknown>,
): Promise<void> {
  await db.query(
    `SELECT webhook_emit(a.id, true, $2, $3::jsonb) FROM accounts a WHERE lower(a.wallet) = lower($1) AND a.kind = 'contributor'`,
    [wallet, type, JSON.stringify(payload)],
  );
}
