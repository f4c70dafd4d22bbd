import type { Queryable } from '../db/index.ts';
import type { Limits } from '../core/rate-limit.ts';

/** Old windows are never read again; dropped now and then by whoever counts. */
export async function dropOldWindows(db: Queryable, windowSeconds: number): Promise<void> {
  await db.query(`DELETE FROM rate_limit_windows WHERE window_start < now() - make_interval(secs => $1)`, [
    windowSeconds * 2,
  ]);
}

type Overrides = Partial<Record<keyof Limits, number | null>>;

export async function limitOverrides(db: Queryable, accountId: string): Promise<Overrides | null> {
  const r = await db.query<{ a: number | null; k: number | null; ca: number | null; ck: number | null }>(
    `SELECT requests_per_minute AS a, key_requests_per_minute AS k, concurrent_answers AS ca, key_concurrent_answers AS ck
       FROM account_limits WHERE account_id = $1`,
    [accountId],
  );
  const row = r.rows[0];
  return row ? { accountRequests: row.a, keyRequests: row.k, accountAnswers: row.ca, keyAnswers: row.ck } : null;
}

export async function setLimitOverrides(db: Queryable, accountId: string, o: Overrides): Promise<void> {
  await db.query(
    `INSERT INTO account_limits (account_id, requests_per_minute, key_requests_per_minute, concurrent_answers, key_concurrent_answers)
     VALUES ($1, $2, $3, $4, $5)
     ON CONFLICT (account_id) DO UPDATE SET requests_per_minute = $2, key_requests_per_minute = $3,
       concurrent_answers = $4, key_concurrent_answers = $5, updated_at = now()`,
    [accountId, o.accountRequests ?? null, o.keyRequests ?? null, o.accountAnswers ?? null, o.keyAnswers ?? null],
  );
}
