import type { Queryable } from '../db/index.ts';

// Self-serve top-ups (migration 0101): stablecoin Transfers from a consumer's wallet to the treasury.

/** The ledger account top-ups are credited from: like the funding account, the outside world. */
export const TOP_UPS_ACCOUNT_ID = 'acct_topups';

export interface TopUp {
  id: string;
  accountId: string;
  wallet: string;
  token: string;
  treasury: string;
  txHash: string;
  logIndex: number;
  blockNumber: bigint;
  amount: bigint;
  status: 'pending' | 'credited';
  /** a wallet's own ERC-20 transfer (the watcher) or an x402 payment (POST /v1/credits/top-up) */
  via: 'transfer' | 'x402';
  creditTransactionId: string | null;
  seenAt: Date;
  creditedAt: Date | null;
}

type Row = {
  id: string;
  account_id: string;
  wallet: string;
  token: string;
  treasury: string;
  tx_hash: string;
  log_index: number;
  block_number: bigint;
  amount: bigint;
  status: 'pending' | 'credited';
  via: 'transfer' | 'x402' | null;
  credit_transaction_id: string | null;
  seen_at: Date;
  credited_at: Date | null;
};
const toTopUp = (r: Row): TopUp => ({
  id: r.id,
  accountId: r.account_id,
  wallet: r.wallet,
  token: r.token,
  treasury: r.treasury,
  txHash: r.tx_hash,
  logIndex: Number(r.log_index),
  blockNumber: BigInt(r.block_number),
  amount: BigInt(r.amount),
  status: r.status,
  via: r.via ?? 'transfer',
  creditTransactionId: r.credit_transaction_id,
  seenAt: new Date(r.seen_at),
  creditedAt: r.credited_at ? new Date(r.credited_at) : null,
});

/** Consumer accounts by wallet, for the wallets given (the senders the watcher saw). */
export async function consumerAccountsByWallet(
  db: Queryable,
  wallets: readonly string[],
): Promise<Map<string, string>> {
  if (wallets.length === 0) return new Map();
  const r = await db.query<{ id: string; wallet: string }>(
    `SELECT id, wallet FROM accounts WHERE kind = 'consumer' AND disabled_at IS NULL AND wallet = ANY($1::text[])`,
    [wallets],
  );
  return new Map(r.rows.map((x) => [x.wallet, x.id]));
}

/** Records a Transfer once: false when (tx hash, log index) was recorded before (by any process). */
export async function recordTopUp(
  db: Queryable,
  t: Omit<TopUp, 'status' | 'via' | 'creditTransactionId' | 'seenAt' | 'creditedAt'>,
): Promise<boolean> {
  const r = await db.query(
    `INSERT INTO top_ups (id, account_id, wallet, token, treasury, tx_hash, log_index, block_number, amount, status)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 'pending') ON CONFLICT (tx_hash, log_index) DO NOTHING`,
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
    ],
  );
  return (r.affectedRows ?? 0) > 0;
}

export async function pendingTopUps(db: Queryable, limit: number): Promise<TopUp[]> {
  const r = await db.query<Row>(
    `SELECT * FROM top_ups WHERE status = 'pending' ORDER BY block_number, log_index LIMIT $1`,
    [limit],
  );
  return r.rows.map(toTopUp);
}

/** pending → credited, once: false when it was credited already (the caller's transaction then rolls back). */
export async function markCredited(db: Queryable, id: string, creditTransactionId: string): Promise<boolean> {
  const r = await db.query(
    `UPDATE top_ups SET status = 'credited', credit_transaction_id = $2, credited_at = now() WHERE id = $1 AND status = 'pending'`,
    [id, creditTransactionId],
  );
  return (r.affectedRows ?? 0) > 0;
}

/** A reorg dropped it: the Transfer is no longer on chain, so it is forgotten (it was never credited). */
export async function forgetPendingTopUp(db: Queryable, id: string): Promise<void> {
  await db.query(`DELETE FROM top_ups WHERE id = $1 AND status = 'pending'`, [id]);
}

export async function topUpsOf(db: Queryable, accountId: string, limit = 20): Promise<TopUp[]> {
  const r = await db.query<Row>(`SELECT * FROM top_ups WHERE account_id = $1 ORDER BY seen_at DESC LIMIT $2`, [
    accountId,
    limit,
  ]);
  return r.rows.map(toTopUp);
}

export async function creditedTopUps(db: Queryable): Promise<TopUp[]> {
  const r = await db.query<Row>(`SELECT * FROM top_ups WHERE status = 'credited' ORDER BY block_number, log_index`);
  return r.rows.map(toTopUp);
}
