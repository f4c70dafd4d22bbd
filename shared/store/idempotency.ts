import type { Queryable } from '../db/index.ts';

export interface StoredResponse {
  requestHash: string;
  status: number;
  body: unknown;
}

export async function findIdempotent(db: Queryable, accountId: string, key: string): Promise<StoredResponse | null> {
  const r = await db.query<{ request_hash: string; status: number; body: unknown }>(
    `SELECT request_hash, status, body FROM idempotency_keys WHERE account_id = $1 AND key = $2`,
    [accountId, key],
  );
  const row = r.rows[0];
  return row ? { requestHash: row.request_hash, status: row.status, body: row.body } : null;
}

/** Stored in the caller's transaction, so the response exists exactly when its charge does. */
export async function storeIdempotent(db: Queryable, accountId: string, key: string, response: StoredResponse): Promise<void> {
  await db.query(
    `INSERT INTO idempotency_keys (account_id, key, request_hash, status, body) VALUES ($1, $2, $3, $4, $5::jsonb)`,
    [accountId, key, response.requestHash, response.status, JSON.stringify(response.body)],
  );
}

/** Claims the key for one request; false while another live claim holds it (stale ones are taken over). */
export async function claimIdempotencyKey(db: Queryable, accountId: string, key: string, requestHash: string, staleAfterSeconds: number): Promise<boolean> {
  const r = await db.query(
    `INSERT INTO idempotency_claims (account_id, key, request_hash) VALUES ($1, $2, $3)
     ON CONFLICT (account_id, key) DO UPDATE SET request_hash = excluded.request_hash, claimed_at = now()
       WHERE idempotency_claims.claimed_at < now() - make_interval(secs => $4)
     RETURNING 1`,
    [accountId, key, requestHash, staleAfterSeconds],
  );
  return r.rows.length === 1;
}

export async function releaseIdempotencyKey(db: Queryable, accountId: string, key: string): Promise<void> {
  await db.query(`DELETE FROM idempotency_claims WHERE account_id = $1 AND key = $2`, [accountId, key]);
}
