import type { Queryable } from '../db/index.ts';
import type { Limits } from '../core/rate-limit.ts';

/**
 * Counts one request in each scope's current window (the database's clock, so every process
 * agrees) and returns the counts, this request included. One statement, atomic per row.
 */
export async function countRequest(db: Queryable, scopes: readonly string[], windowSeconds: number): Promise<{ counts: Map<string, number>; secondsIntoWindow: number }> {
  const r = await db.query<{ scope: string; count: number; into: number }>(
    `WITH w AS (SELECT to_timestamp(floor(extract(epoch FROM now()) / $2) * $2) AS start)
     INSERT INTO rate_limit_windows (scope, window_start, count)
     SELECT s, w.start, 1 FROM unnest($1::text[]) AS s, w
     ON CONFLICT (scope, window_start) DO UPDATE SET count = rate_limit_windows.count + 1
     RETURNING scope, count, extract(epoch FROM now() - window_start)::float8 AS into`,
    [scopes, windowSeconds],
  );
  return { counts: new Map(r.rows.map((row) => [row.scope, row.count])), secondsIntoWindow: r.rows[0]?.into ?? 0 };
}

/** Old windows are never read again; dropped now and then by whoever counts. */
export async function dropOldWindows(db: Queryable, windowSeconds: number): Promise<void> {
  await db.query(`DELETE FROM rate_limit_windows WHERE window_start < now() - make_interval(secs => $1)`, [windowSeconds * 2]);
}

type Overrides = Partial<Record<keyof Limits, number | null>>;

export async function limitOverrides(db: Queryable, accountId: string): Promise<Overrides | null> {
  const r = await db.query<{ a: number | null; k: number | null; ca: number | null; ck: number | null }>(
    `SELECT requests_per_minute AS a, key_requests_per_minute AS k, concurrent_answers AS ca, key_concurrent_answers AS ck
       FROM account_limits WHERE account_id = $1`, [accountId]);
  const row = r.rows[0];
  return row ? { accountRequests: row.a, keyRequests: row.k, accountAnswers: row.ca, keyAnswers: row.ck } : null;
}

export async function setLimitOverrides(db: Queryable, accountId: string, o: Overrides): Promise<void> {
  await db.query(
    `INSERT INTO account_limits (account_id, requests_per_minute, key_requests_per_minute, concurrent_answers, key_concurrent_answers)
     VALUES ($1, $2, $3, $4, $5)
     ON CONFLICT (account_id) DO UPDATE SET requests_per_minute = $2, key_requests_per_minute = $3,
       concurrent_answers = $4, key_concurrent_answers = $5, updated_at = now()`,
    [accountId, o.accountRequests ?? null, o.keyRequests ?? null, o.accountAnswers ?? null, o.keyAnswers ?? null]);
}

/** Answers queued or running for the account and for the key (callers hold the account lock). */
export async function openAnswerCounts(db: Queryable, accountId: string, keyId: string | null): Promise<{ account: number; key: number }> {
  const r = await db.query<{ account: number; key: number }>(
    `SELECT count(*)::int AS account, count(*) FILTER (WHERE key_id = $2)::int AS key
       FROM answers WHERE account_id = $1 AND status IN ('queued', 'running')`, [accountId, keyId]);
  return r.rows[0] ?? { account: 0, key: 0 };
}
