import type { Queryable } from '../db/index.ts';

// x402 payments left `pending` (verified and credited, the call perhaps run and charged) by a
// process that ended before it settled or refunded them (issue 20): what the sweep reads and locks.

export interface StalePayment {
  id: string;
  payer: string;
  scheme: 'exact' | 'upto';
  amount: bigint;
  requestId: string;
  /** the payer wallet's account, which the payment credited and the call charged */
  accountId: string;
  keyId: string;
}

type Row = {
  id: string;
  payer: string;
  scheme: 'exact' | 'upto';
  amount: bigint;
  request_id: string;
  account_id: string;
  key_id: string;
};

/** Payments pending for longer than `olderThanSeconds` (longer than any call runs), oldest first. */
export async function stalePendingPayments(
  db: Queryable,
  olderThanSeconds: number,
  limit: number,
): Promise<StalePayment[]> {
  const r = await db.query<Row>(
    `SELECT p.id, p.payer, p.scheme, p.amount, p.request_id, x.account_id, x.key_id
       FROM x402_payments p JOIN x402_payers x ON x.wallet = p.payer
      WHERE p.status = 'pending' AND p.created_at < now() - make_interval(secs => $1)
      ORDER BY p.created_at LIMIT $2`,
    [olderThanSeconds, limit],
  );
  return r.rows.map((x) => ({
    id: x.id,
    payer: x.payer,
    scheme: x.scheme,
    amount: BigInt(x.amount),
    requestId: x.request_id,
    accountId: x.account_id,
    keyId: x.key_id,
  }));
}

/** Locks a payment that is still pending until the caller's transaction ends; false: someone finished it. */
export async function lockPendingPayment(tx: Queryable, id: string): Promise<boolean> {
  const r = await tx.query(`SELECT 1 FROM x402_payments WHERE id = $1 AND status = 'pending' FOR UPDATE`, [id]);
  return r.rows.length > 0;
}

/** Whether the request's answer is still queued or running (it may yet be charged: not stale). */
export async function answerStillOpen(db: Queryable, requestId: string): Promise<boolean> {
  const r = await db.query(`SELECT 1 FROM answers WHERE request_id = $1 AND status IN ('queued', 'running') LIMIT 1`, [
    requestId,
  ]);
  return r.rows.length > 0;
}

/** A swept payment whose call was charged: kept as `unsettled` with why, for the settle retry pass. */
export async function markSweptUnsettled(tx: Queryable, id: string, error: string): Promise<boolean> {
  const r = await tx.query(
    `UPDATE x402_payments SET status = 'unsettled', error = $2, finished_at = now() WHERE id = $1 AND status = 'pending'`,
    [id, error],
  );
  return (r.affectedRows ?? 0) > 0;
}
