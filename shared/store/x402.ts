import type { Queryable } from '../db/index.ts';

// x402 payers (a wallet's own consumer account) and payments (migrations 0060, 0105).

/** The ledger account on-chain x402 inflows come from: like the funding account, the outside world. */
export const X402_ACCOUNT_ID = 'acct_x402';

export interface X402Payer {
  wallet: string;
  accountId: string;
  keyId: string;
}

export async function findPayer(db: Queryable, wallet: string): Promise<X402Payer | null> {
  const r = await db.query<{ wallet: string; account_id: string; key_id: string }>(
    `SELECT wallet, account_id, key_id FROM x402_payers WHERE wallet = $1`,
    [wallet],
  );
  const row = r.rows[0];
  return row ? { wallet: row.wallet, accountId: row.account_id, keyId: row.key_id } : null;
}

export async function insertPayer(db: Queryable, p: X402Payer): Promise<void> {
  await db.query(`INSERT INTO x402_payers (wallet, account_id, key_id) VALUES ($1, $2, $3)`, [
    p.wallet,
    p.accountId,
    p.keyId,
  ]);
}

export interface NewX402Payment {
  id: string;
  payer: string;
  nonce: string;
  network: string;
  asset: string;
  payTo: string;
  /** what the ledger takes in: for `upto` the authorised maximum until the call's cost is known */
  amount: bigint;
  scheme: 'exact' | 'upto';
  route: string;
  requestId: string;
  creditTransactionId: string;
  /** the signed x402 payload and the requirements it met: what a later settle resubmits */
  payload: unknown;
  requirements: unknown;
}

/** false: this (payer, nonce) was seen before — a replay. */
export async function insertPayment(db: Queryable, p: NewX402Payment): Promise<boolean> {
  const r = await db.query(
    `INSERT INTO x402_payments (id, payer, nonce, network, asset, pay_to, amount, authorized, route, request_id, status,
                                credit_transaction_id, scheme, payload, requirements)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $7, $8, $9, 'pending', $10, $11, $12, $13) ON CONFLICT (payer, nonce) DO NOTHING`,
    [
      p.id,
      p.payer,
      p.nonce,
      p.network,
      p.asset,
      p.payTo,
      p.amount.toString(),
      p.route,
      p.requestId,
      p.creditTransactionId,
      p.scheme,
      JSON.stringify(p.payload ?? null),
      JSON.stringify(p.requirements ?? null),
    ],
  );
  return (r.affectedRows ?? 0) > 0;
}

/** What the request's call charged `accountId` (its one ledger transaction for `requestId`; 0 if none). */
export async function chargedForRequest(db: Queryable, accountId: string, requestId: string): Promise<bigint> {
  const r = await db.query<{ charged: string }>(
    `SELECT (-coalesce(sum(e.amount), 0))::text AS charged FROM ledger_entries e
       JOIN ledger_transactions t ON t.id = e.transaction_id
      WHERE t.request_id = $2 AND e.account_id = $1`,
    [accountId, requestId],
  );
  return BigInt(r.rows[0]!.charged);
}

/** An `upto` payment's amount becomes the call's cost; the rest of the credit was reversed by `releaseTransactionId`. */
export async function lowerPaymentAmount(
  db: Queryable,
  id: string,
  p: { amount: bigint; releaseTransactionId: string },
): Promise<boolean> {
  const r = await db.query(
    `UPDATE x402_payments SET amount = $2, release_transaction_id = $3 WHERE id = $1 AND status = 'pending'`,
    [id, p.amount.toString(), p.releaseTransactionId],
  );
  return (r.affectedRows ?? 0) > 0;
}

export async function finishPayment(
  db: Queryable,
  id: string,
  outcome:
    | { status: 'settled'; txHash: string }
    | { status: 'refused'; refundTransactionId: string; error: string }
    | { status: 'unsettled'; error: string },
): Promise<boolean> {
  // a settle also records over `unsettled`: the pending sweep may have handed a slow call's payment to the retry pass
  const r = await db.query(
    `UPDATE x402_payments SET status = $2, tx_hash = $3, refund_transaction_id = $4, error = $5, finished_at = now()
      WHERE id = $1 AND (status = 'pending' OR ($2 = 'settled' AND status = 'unsettled'))`,
    [
      id,
      outcome.status,
      'txHash' in outcome ? outcome.txHash : null,
      'refundTransactionId' in outcome ? outcome.refundTransactionId : null,
      'error' in outcome ? outcome.error : null,
    ],
  );
  return (r.affectedRows ?? 0) > 0;
}

export interface X402PaymentRow {
  id: string;
  payer: string;
  amount: bigint;
  status: string;
  txHash: string | null;
  requestId: string;
}

export async function paymentsForRequest(db: Queryable, requestId: string): Promise<X402PaymentRow[]> {
  const r = await db.query<{
    id: string;
    payer: string;
    amount: bigint;
    status: string;
    tx_hash: string | null;
    request_id: string;
  }>(`SELECT id, payer, amount, status, tx_hash, request_id FROM x402_payments WHERE request_id = $1`, [requestId]);
  return r.rows.map((x) => ({
    id: x.id,
    payer: x.payer,
    amount: BigInt(x.amount),
    status: x.status,
    txHash: x.tx_hash,
    requestId: x.request_id,
  }));
}

/** Serialises a wallet's first payments until the caller's transaction ends, so concurrent ones make one payer. */
export async function lockPayerWallet(tx: Queryable, wallet: string): Promise<void> {
  await tx.query(`SELECT pg_advisory_xact_lock(hashtext($1))`, [`x402:${wallet}`]);
}

export interface UnsettledPayment {
  id: string;
  payer: string;
  nonce: string;
  asset: string;
  payTo: string;
  amount: bigint;
  requestId: string;
  payload: unknown;
  requirements: unknown;
  attempts: number;
}

/** Payments whose call succeeded but whose settle failed, oldest first (the retry pass's work). */
export async function unsettledPayments(db: Queryable, limit: number): Promise<UnsettledPayment[]> {
  const r = await db.query<{
    id: string;
    payer: string;
    nonce: string;
    asset: string;
    pay_to: string;
    amount: bigint;
    request_id: string;
    payload: unknown;
    requirements: unknown;
    settle_attempts: number;
  }>(
    `SELECT id, payer, nonce, asset, pay_to, amount, request_id, payload, requirements, settle_attempts
       FROM x402_payments WHERE status = 'unsettled' ORDER BY created_at LIMIT $1`,
    [limit],
  );
  const json = (v: unknown) => (typeof v === 'string' ? JSON.parse(v) : v);
  return r.rows.map((x) => ({
    id: x.id,
    payer: x.payer,
    nonce: x.nonce,
    asset: x.asset,
    payTo: x.pay_to,
    amount: BigInt(x.amount),
    requestId: x.request_id,
    payload: json(x.payload),
    requirements: json(x.requirements),
    attempts: Number(x.settle_attempts),
  }));
}

/** An unsettled payment found or made on chain: settled, once (false: another pass recorded it first). */
export async function settleUnsettled(db: Queryable, id: string, txHash: string): Promise<boolean> {
  const r = await db.query(
    `UPDATE x402_payments SET status = 'settled', tx_hash = $2, error = NULL, finished_at = now(),
            settle_attempts = settle_attempts + 1 WHERE id = $1 AND status = 'unsettled'`,
    [id, txHash],
  );
  return (r.affectedRows ?? 0) > 0;
}

export async function noteSettleAttempt(db: Queryable, id: string, error: string): Promise<void> {
  await db.query(
    `UPDATE x402_payments SET settle_attempts = settle_attempts + 1, error = $2 WHERE id = $1 AND status = 'unsettled'`,
    [id, error.slice(0, 500)],
  );
}

export interface SettledInflow {
  id: string;
  payer: string;
  payTo: string;
  asset: string;
  amount: bigint;
  txHash: string;
}

/** Every payment recorded as settled on chain (check:ledger reads each transaction's Transfer). */
export async function settledPayments(db: Queryable): Promise<SettledInflow[]> {
  const r = await db.query<{
    id: string;
    payer: string;
    pay_to: string;
    asset: string;
    amount: bigint;
    tx_hash: string;
  }>(
    `SELECT id, payer, pay_to, asset, amount, tx_hash FROM x402_payments WHERE status = 'settled' ORDER BY created_at`,
  );
  return r.rows.map((x) => ({
    id: x.id,
    payer: x.payer,
    payTo: x.pay_to,
    asset: x.asset,
    amount: BigInt(x.amount),
    txHash: x.tx_hash,
  }));
}
