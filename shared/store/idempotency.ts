import type { Queryable } from '../db/index.ts';

// What an Idempotency-Key stored: the service's typed result, as JSON with bigints tagged so
// money comes back as bigint. (Rows from before migration 0009 hold a rendered body instead.)

export interface StoredResult {
  requestHash: string;
  /** the typed result, bigints restored; null for a row from before migration 0009 */
  result: unknown;
  /** the rendered body such a row holds instead; null otherwise */
  legacyBody: unknown;
}

const BIGINT_TAG = '$bigint';

export function encodeResult(value: unknown): string {
  return JSON.stringify(value, (_k, v: unknown) => (typeof v === 'bigint' ? { [BIGINT_TAG]: v.toString() } : v));
}

export function decodeResult(json: string): unknown {
  return JSON.parse(json, (_k, v: unknown) => {
    if (v && typeof v === 'object' && !Array.isArray(v)) {
      const tagged = (v as Record<string, unknown>)[BIGINT_TAG];
      if (typeof tagged === 'string' && Object.keys(v).length === 1) return BigInt(tagged);
    }
    return v;
  });
}

export async function findIdempotent(db: Queryable, accountId: string, key: string): Promise<StoredResult | null> {
  // result as text, so our reviver (not the driver's JSON parser) restores the bigints.
  const r = await db.query<{ request_hash: string; result: string | null; body: unknown }>(
    `SELECT request_hash, result::text AS result, body FROM idempotency_keys WHERE account_id = $1 AND key = $2`,
    [accountId, key],
  );
  const row = r.rows[0];
  if (!row) return null;
  return {
    requestHash: row.request_hash,
    result: row.result === null ? null : decodeResult(row.result),
    legacyBody: row.body ?? null,
  };
}

/** Stored in the caller's transaction, so the result exists exactly when its charge does. */
export async function storeIdempotent(
  db: Queryable,
  accountId: string,
  key: string,
  requestHash: string,
  result: unknown,
): Promise<void> {
  await db.query(
    `INSERT INTO idempotency_keys (account_id, key, request_hash, result) VALUES ($1, $2, $3, $4::jsonb)`,
    [accountId, key, requestHash, encodeResult(result)],
  );
}

/**
 * Claims the key for `claimant` (one request); false while another live claim holds it. A claim not
 * renewed for `staleAfterSeconds` (database clock) is taken over.
 */
export async function claimIdempotencyKey(
  db: Queryable,
  accountId: string,
  key: string,
  requestHash: string,
  staleAfterSeconds: number,
  claimant: string,
): Promise<boolean> {
  const r = await db.query(
    `INSERT INTO idempotency_claims (account_id, key, request_hash, claimant) VALUES ($1, $2, $3, $5)
     ON CONFLICT (account_id, key) DO UPDATE SET request_hash = excluded.request_hash, claimant = excluded.claimant, claimed_at = now()
       WHERE idempotency_claims.claimed_at < now() - make_interval(secs => $4)
     RETURNING 1`,
    [accountId, key, requestHash, staleAfterSeconds, claimant],
  );
  return r.rows.length === 1;
}

/** Renews the claimant's lease; false when the claim is no longer its own (taken over, released). */
export async function renewIdempotencyClaim(
  db: Queryable,
  accountId: string,
  key: string,
  claimant: string,
): Promise<boolean> {
  const r = await db.query(
    `UPDATE idempotency_claims SET claimed_at = now() WHERE account_id = $1 AND key = $2 AND claimant = $3`,
    [accountId, key, claimant],
  );
  return r.affectedRows > 0;
}

/** Releases the claimant's own claim (a claim taken over from it stays with its new holder). */
export async function releaseIdempotencyKey(
  db: Queryable,
  accountId: string,
  key: string,
  claimant: string,
): Promise<void> {
  await db.query(`DELETE FROM idempotency_claims WHERE account_id = $1 AND key = $2 AND claimant = $3`, [
    accountId,
    key,
    claimant,
  ]);
}
