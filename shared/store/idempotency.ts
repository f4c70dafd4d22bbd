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
