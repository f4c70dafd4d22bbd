import type { Queryable } from '../db/index.ts';

// Rows of idempotency_keys: a claim ('pending', with the claimant's token) that becomes a
// stored result ('done'). Results are JSON with bigints tagged, so money survives the trip.

export interface IdempotencyRow {
  requestHash: string;
  state: 'pending' | 'done';
  /** the service's typed result, bigints restored; null on a claim or a row from before 0008 */
  result: unknown;
  /** the rendered body a row from before migration 0008 stored instead of a result */
  legacyBody: unknown;
  claimedAt: Date;
}

const BIGINT_TAG = '$bigint';

export function encodeResult(value: unknown): string {
  return JSON.stringify(value, (_k, v: unknown) => (typeof v === 'bigint' ? { [BIGINT_TAG]: v.toString() } : v));
}

export function decodeResult(json: string): unknown {
  return JSON.parse(json, (_k, v: unknown) => {
    if (v && typeof v === 'object' && !Array.isArray(v)) {
      const keys = Object.keys(v);
      const tagged = (v as Record<string, unknown>)[BIGINT_TAG];
      if (keys.length === 1 && typeof tagged === 'string') return BigInt(tagged);
    }
    return v;
  });
}

/** Claims the key for this request; false when a row (claim or result) already exists. Autocommits on its own. */
export async function claimKey(db: Queryable, accountId: string, key: string, requestHash: string, token: string): Promise<boolean> {
  const r = await db.query(
    `INSERT INTO idempotency_keys (account_id, key, request_hash, state, claim_token, claimed_at)
     VALUES ($1, $2, $3, 'pending', $4, now()) ON CONFLICT (account_id, key) DO NOTHING`,
    [accountId, key, requestHash, token],
  );
  return r.affectedRows === 1;
}

export async function findKey(db: Queryable, accountId: string, key: string): Promise<IdempotencyRow | null> {
  // result::text so the bigint tags are revived by our own parser, not the driver's.
  const r = await db.query<{ request_hash: string; state: 'pending' | 'done'; result: string | null; body: unknown; claimed_at: Date }>(
    `SELECT request_hash, state, result::text AS result, body, claimed_at FROM idempotency_keys WHERE account_id = $1 AND key = $2`,
    [accountId, key],
  );
  const row = r.rows[0];
  if (!row) return null;
  return {
    requestHash: row.request_hash, state: row.state, result: row.result === null ? null : decodeResult(row.result),
    legacyBody: row.body ?? null, claimedAt: row.claimed_at,
  };
}

/** Stores the result under the caller's claim, in the caller's transaction (with its charge). False if the claim is no longer ours. */
export async function completeClaim(tx: Queryable, accountId: string, key: string, token: string, result: unknown): Promise<boolean> {
  const r = await tx.query(
    `UPDATE idempotency_keys SET state = 'done', result = $4::jsonb, claim_token = NULL
     WHERE account_id = $1 AND key = $2 AND state = 'pending' AND claim_token = $3`,
    [accountId, key, token, encodeResult(result)],
  );
  return r.affectedRows === 1;
}

/** Gives the key back after a failed attempt, so a retry can do the work. */
export async function releaseClaim(db: Queryable, accountId: string, key: string, token: string): Promise<void> {
  await db.query(`DELETE FROM idempotency_keys WHERE account_id = $1 AND key = $2 AND state = 'pending' AND claim_token = $3`, [accountId, key, token]);
}

/** Takes over a claim whose holder has been silent for `staleSeconds` (a crashed process); its late completion then fails. */
export async function takeOverStaleClaim(db: Queryable, accountId: string, key: string, token: string, staleSeconds: number): Promise<boolean> {
  const r = await db.query(
    `UPDATE idempotency_keys SET claim_token = $3, claimed_at = now()
     WHERE account_id = $1 AND key = $2 AND state = 'pending' AND claimed_at < now() - make_interval(secs => $4)`,
    [accountId, key, token, staleSeconds],
  );
  return r.affectedRows === 1;
}
