import type { Queryable } from '../db/index.ts';
import type { TopUp } from './top-ups.ts';

// Top-ups paid with x402 (migration 0140): one row per payment, and the top_ups row it credits.

export interface X402TopUp {
  id: string;
  accountId: string;
  payer: string;
  nonce: string;
  amount: bigint;
  status: 'pending' | 'credited' | 'failed';
  topUpId: string | null;
  txHash: string | null;
  payload: unknown;
  requirements: unknown;
  error: string | null;
}

type Row = {
  id: string;
  account_id: string;
  payer: string;
  nonce: string;
  amount: bigint;
  status: X402TopUp['status'];
  top_up_id: string | null;
  tx_hash: string | null;
  payload: unknown;
  requirements: unknown;
  error: string | null;
};
const json = (v: unknown) => (typeof v === 'string' ? JSON.parse(v) : v);
const toTopUp = (r: Row): X402TopUp => ({
  id: r.id,
  accountId: r.account_id,
  payer: r.payer,
  nonce: r.nonce,
  amount: BigInt(r.amount),
  status: r.status,
  topUpId: r.top_up_id,
  txHash: r.tx_hash,
  payload: json(r.payload),
  requirements: json(r.requirements),
  error: r.error,
});
const SELECT = `SELECT x.id, x.account_id, x.payer, x.nonce, x.amount, x.status, x.top_up_id, t.tx_hash, x.payload,
                       x.requirements, x.error
                  FROM x402_top_ups x LEFT JOIN top_ups t ON t.id = x.top_up_id`;

/**
 * Records a verified payment as pending; false when this (payer, nonce) was seen before — as a
 * top-up, or as a call's payment (x402_payments): one signed authorization buys one thing.
 */
export async function insertX402TopUp(
  db: Queryable,
  t: Pick<X402TopUp, 'id' | 'accountId' | 'payer' | 'nonce' | 'amount' | 'payload' | 'requirements'>,
): Promise<boolean> {
  const r = await db.query(
    `INSERT INTO x402_top_ups (id, account_id, payer, nonce, amount, status, payload, requirements)
     SELECT $1, $2, $3, $4, $5, 'pending', $6, $7
      WHERE NOT EXISTS (SELECT 1 FROM x402_payments WHERE payer = $3 AND nonce = $4)
     ON CONFLICT (payer, nonce) DO NOTHING`,
    [
      t.id,
      t.accountId,
      t.payer,
      t.nonce,
      t.amount.toString(),
      JSON.stringify(t.payload),
      JSON.stringify(t.requirements),
    ],
  );
  return (r.affectedRows ?? 0) > 0;
}

export async function findX402TopUp(db: Queryable, payer: string, nonce: string): Promise<X402TopUp | null> {
  const r = await db.query<Row>(`${SELECT} WHERE x.payer = $1 AND x.nonce = $2`, [payer, nonce]);
  return r.rows[0] ? toTopUp(r.rows[0]) : null;
}

/** An account's top-up by its payment's nonce (the same signed payment presented again). */
export async function findAccountX402TopUp(db: Queryable, accountId: string, nonce: string): Promise<X402TopUp | null> {
  const r = await db.query<Row>(`${SELECT} WHERE x.account_id = $1 AND x.nonce = $2`, [accountId, nonce]);
  return r.rows[0] ? toTopUp(r.rows[0]) : null;
}

export async function x402TopUpById(db: Queryable, id: string): Promise<X402TopUp | null> {
  const r = await db.query<Row>(`${SELECT} WHERE x.id = $1`, [id]);
  return r.rows[0] ? toTopUp(r.rows[0]) : null;
}

/** Pending for longer than `olderThanSeconds`: left by a process that ended before its settle was recorded. */
export async function stalePendingX402TopUps(
  db: Queryable,
  olderThanSeconds: number,
  limit: number,
): Promise<X402TopUp[]> {
  const r = await db.query<Row>(
    `${SELECT} WHERE x.status = 'pending' AND x.created_at < now() - make_interval(secs => $1) ORDER BY x.created_at LIMIT $2`,
    [olderThanSeconds, limit],
  );
  return r.rows.map(toTopUp);
}

/** Locks a still-pending top-up until the caller's transaction ends; false: another process finished it. */
export async function lockPendingX402TopUp(tx: Queryable, id: string): Promise<boolean> {
  const r = await tx.query(`SELECT 1 FROM x402_top_ups WHERE id = $1 AND status = 'pending' FOR UPDATE`, [id]);
  return r.rows.length > 0;
}

/** pending → credited or failed, once: false when another process finished it first. */
export async function finishX402TopUp(
  db: Queryable,
  id: string,
  outcome: { status: 'credited'; topUpId: string } | { status: 'failed'; error: string },
): Promise<boolean> {
  const r = await db.query(
    `UPDATE x402_top_ups SET status = $2, top_up_id = $3, error = $4, finished_at = now() WHERE id = $1 AND status = 'pending'`,
    [
      id,
      outcome.status,
      outcome.status === 'credited' ? outcome.topUpId : null,
      outcome.status === 'failed' ? outcome.error.slice(0, 500) : null,
    ],
  );
  return (r.affectedRows ?? 0) > 0;
}

/** The credited top_ups row of an x402 top-up (unique by the Transfer's transaction and log). */
export async function insertCreditedTopUp(
  db: Queryable,
  t: Omit<TopUp, 'status' | 'via' | 'creditTransactionId' | 'seenAt' | 'creditedAt'> & { creditTransactionId: string },
): Promise<void> {
  await db.query(
    `INSERT INTO top_ups (id, account_id, wallet, token, treasury, tx_hash, log_index, block_number, amount, status,
                          credit_transaction_id, credited_at, via)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 'credited', $10, now(), 'x402')`,
    [
      t.id,
      t.accountId,
      t.wallet,
      t.token,
      t.treasury,
      t.txHash,
      t.logIndex,
      t.blockNumber.toString(),
      t.amount.toString(),
      t.creditTransactionId,
    ],
  );
}
