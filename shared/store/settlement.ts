import type { Queryable } from '../db/index.ts';
import type { PayoutTreeDump, ReceiptsTreeDump } from '../core/merkle.ts';

export type EpochStatus = 'built' | 'submitted' | 'confirmed';

export interface EpochRecord {
  epoch: number;
  status: EpochStatus;
  payoutRoot: `0x${string}`;
  receiptsRoot: `0x${string}`;
  totalCumulative: bigint;
  amount: bigint;
  payeeCount: number;
  receiptCount: number;
  txHash: `0x${string}` | null;
  blockNumber: bigint | null;
  attempts: number;
  lastError: string | null;
  nextAttemptAt: Date | null;
  builtAt: Date;
  submittedAt: Date | null;
  confirmedAt: Date | null;
}

type Row = {
  epoch: number;
  status: EpochStatus;
  payout_root: `0x${string}`;
  receipts_root: `0x${string}`;
  total_cumulative: bigint;
  amount: bigint;
  payee_count: number;
  receipt_count: number;
  tx_hash: `0x${string}` | null;
  block_number: bigint | null;
  attempts: number;
  last_error: string | null;
  next_attempt_at: Date | null;
  built_at: Date;
  submitted_at: Date | null;
  confirmed_at: Date | null;
};
const COLUMNS = `epoch, status, payout_root, receipts_root, total_cumulative, amount, payee_count, receipt_count, tx_hash, block_number,
  attempts, last_error, next_attempt_at, built_at, submitted_at, confirmed_at`;
const toEpoch = (r: Row): EpochRecord => ({
  epoch: r.epoch,
  status: r.status,
  payoutRoot: r.payout_root,
  receiptsRoot: r.receipts_root,
  totalCumulative: r.total_cumulative,
  amount: r.amount,
  payeeCount: r.payee_count,
  receiptCount: r.receipt_count,
  txHash: r.tx_hash,
  blockNumber: r.block_number,
  attempts: r.attempts,
  lastError: r.last_error,
  nextAttemptAt: r.next_attempt_at,
  builtAt: r.built_at,
  submittedAt: r.submitted_at,
  confirmedAt: r.confirmed_at,
});

export async function inFlightEpoch(db: Queryable): Promise<EpochRecord | null> {
  const r = await db.query<Row>(`SELECT ${COLUMNS} FROM settlement_epochs WHERE status <> 'confirmed'`);
  return r.rows[0] ? toEpoch(r.rows[0]) : null;
}

export async function findEpoch(db: Queryable, epoch: number, forUpdate = false): Promise<EpochRecord | null> {
  const r = await db.query<Row>(
    `SELECT ${COLUMNS} FROM settlement_epochs WHERE epoch = $1 ${forUpdate ? 'FOR UPDATE' : ''}`,
    [epoch],
  );
  return r.rows[0] ? toEpoch(r.rows[0]) : null;
}

export async function listEpochs(db: Queryable, limit: number): Promise<EpochRecord[]> {
  return (
    await db.query<Row>(`SELECT ${COLUMNS} FROM settlement_epochs ORDER BY epoch DESC LIMIT $1`, [limit])
  ).rows.map(toEpoch);
}

export async function lastEpochNumber(db: Queryable): Promise<number> {
  const r = await db.query<{ n: number | null }>(`SELECT max(epoch) AS n FROM settlement_epochs`);
  return r.rows[0]?.n ?? 0;
}

/** The latest confirmed epoch: its payout root is the one claims verify against. */
export async function latestConfirmedEpoch(db: Queryable): Promise<EpochRecord | null> {
  const r = await db.query<Row>(
    `SELECT ${COLUMNS} FROM settlement_epochs WHERE status = 'confirmed' ORDER BY epoch DESC LIMIT 1`,
  );
  return r.rows[0] ? toEpoch(r.rows[0]) : null;
}

export async function payoutTreeOf(db: Queryable, epoch: number): Promise<PayoutTreeDump | null> {
  const r = await db.query<{ payout_tree: PayoutTreeDump | null }>(
    `SELECT payout_tree FROM settlement_epochs WHERE epoch = $1`,
    [epoch],
  );
  return r.rows[0]?.payout_tree ?? null;
}

export async function receiptsTreeOf(db: Queryable, epoch: number): Promise<ReceiptsTreeDump | null> {
  const r = await db.query<{ receipts_tree: ReceiptsTreeDump | null }>(
    `SELECT receipts_tree FROM settlement_epochs WHERE epoch = $1`,
    [epoch],
  );
  return r.rows[0]?.receipts_tree ?? null;
}

/** Every wallet's cumulative amount in the last epoch that paid it (all such epochs are confirmed when this is read). */
export async function settledCumulatives(db: Queryable): Promise<Map<string, bigint>> {
  const r = await db.query<{ wallet: string; cumulative: bigint }>(
    `SELECT DISTINCT ON (wallet) wallet, cumulative FROM epoch_payouts ORDER BY wallet, epoch DESC`,
  );
  return new Map(r.rows.map((row) => [row.wallet, row.cumulative]));
}

/** Contributor accounts whose unsettled balance (credits minus what earlier epochs moved on chain) reaches `minimum`. */
export async function payableBalances(
  db: Queryable,
  minimum: bigint,
): Promise<{ accountId: string; wallet: string; amount: bigint }[]> {
  const r = await db.query<{ id: string; wallet: string; amount: bigint }>(
    `SELECT a.id, a.wallet, sum(e.amount)::bigint AS amount
       FROM accounts a JOIN ledger_entries e ON e.account_id = a.id
      WHERE a.kind = 'contributor' AND a.wallet IS NOT NULL AND e.livemode -- test earnings never settle
      GROUP BY a.id, a.wallet
     HAVING sum(e.amount) >= $1 AND sum(e.amount) > 0
      ORDER BY a.wallet`,
    [minimum.toString()],
  );
  return r.rows.map((row) => ({ accountId: row.id, wallet: row.wallet, amount: row.amount }));
}

/** Receipts not yet in any epoch, oldest first. */
export async function openReceipts(db: Queryable): Promise<{ id: string; hash: `0x${string}` }[]> {
  return (
    await db.query<{ id: string; hash: `0x${string}` }>(
      `SELECT id, hash FROM receipts WHERE epoch IS NULL AND livemode ORDER BY created_at, id`,
    )
  ).rows;
}

export async function countOpenReceipts(db: Queryable): Promise<number> {
  const r = await db.query<{ n: bigint }>(
    `SELECT count(*)::bigint AS n FROM receipts WHERE epoch IS NULL AND livemode`,
  );
  return Number(r.rows[0]!.n);
}

export interface NewEpoch {
  epoch: number;
  payoutRoot: `0x${string}`;
  receiptsRoot: `0x${string}`;
  totalCumulative: bigint;
  amount: bigint;
  payoutTree: PayoutTreeDump | null;
  receiptsTree: ReceiptsTreeDump | null;
  payouts: { wallet: string; accountId: string; amount: bigint; cumulative: bigint }[];
  receiptIds: string[];
}

export async function insertEpoch(db: Queryable, e: NewEpoch): Promise<void> {
  await db.query(
    `INSERT INTO settlement_epochs (epoch, status, payout_root, receipts_root, total_cumulative, amount, payee_count, receipt_count, payout_tree, receipts_tree)
     VALUES ($1, 'built', $2, $3, $4, $5, $6, $7, $8, $9)`,
    [
      e.epoch,
      e.payoutRoot,
      e.receiptsRoot,
      e.totalCumulative,
      e.amount,
      e.payouts.length,
      e.receiptIds.length,
      JSON.stringify(e.payoutTree),
      JSON.stringify(e.receiptsTree),
    ],
  );
  if (e.payouts.length > 0)
    await db.query(
      `INSERT INTO epoch_payouts (epoch, wallet, account_id, amount, cumulative)
       SELECT $1, * FROM unnest($2::text[], $3::text[], $4::bigint[], $5::bigint[])`,
      [
        e.epoch,
        e.payouts.map((p) => p.wallet),
        e.payouts.map((p) => p.accountId),
        e.payouts.map((p) => p.amount.toString()),
        e.payouts.map((p) => p.cumulative.toString()),
      ],
    );
  if (e.receiptIds.length > 0)
    await db.query(
      `UPDATE receipts r SET epoch = $1, leaf_index = t.ord - 1
         FROM unnest($2::text[]) WITH ORDINALITY AS t(id, ord) WHERE r.id = t.id`,
      [e.epoch, e.receiptIds],
    );
}

export async function epochPayouts(
  db: Queryable,
  epoch: number,
): Promise<{ wallet: string; accountId: string; amount: bigint; cumulative: bigint }[]> {
  const r = await db.query<{ wallet: string; account_id: string; amount: bigint; cumulative: bigint }>(
    `SELECT wallet, account_id, amount, cumulative FROM epoch_payouts WHERE epoch = $1 ORDER BY wallet`,
    [epoch],
  );
  return r.rows.map((row) => ({
    wallet: row.wallet,
    accountId: row.account_id,
    amount: row.amount,
    cumulative: row.cumulative,
  }));
}

export async function markSubmitted(db: Queryable, epoch: number, txHash: `0x${string}`): Promise<void> {
  await db.query(
    `UPDATE settlement_epochs SET status = 'submitted', tx_hash = $2, submitted_at = now() WHERE epoch = $1 AND status <> 'confirmed'`,
    [epoch, txHash],
  );
}

export async function markConfirmed(db: Queryable, epoch: number, blockNumber: bigint | null): Promise<void> {
  await db.query(
    `UPDATE settlement_epochs SET status = 'confirmed', block_number = coalesce($2, block_number), confirmed_at = now(), last_error = NULL, next_attempt_at = NULL
      WHERE epoch = $1`,
    [epoch, blockNumber],
  );
}

export async function recordFailure(db: Queryable, epoch: number, error: string, nextAttemptAt: Date): Promise<void> {
  await db.query(
    `UPDATE settlement_epochs SET attempts = attempts + 1, last_error = $2, next_attempt_at = $3 WHERE epoch = $1`,
    [epoch, error.slice(0, 1000), nextAttemptAt],
  );
}

/** The wallet's latest settled cumulative amount and the epoch that set it. */
export async function settledFor(db: Queryable, wallet: string): Promise<{ epoch: number; cumulative: bigint } | null> {
  const r = await db.query<{ epoch: number; cumulative: bigint }>(
    `SELECT p.epoch, p.cumulative FROM epoch_payouts p JOIN settlement_epochs s ON s.epoch = p.epoch
      WHERE p.wallet = $1 AND s.status = 'confirmed' ORDER BY p.epoch DESC LIMIT 1`,
    [wallet],
  );
  return r.rows[0] ?? null;
}

/** Confirmed epochs, oldest first (what the chain must hold). */
export async function confirmedEpochs(db: Queryable): Promise<EpochRecord[]> {
  return (
    await db.query<Row>(`SELECT ${COLUMNS} FROM settlement_epochs WHERE status = 'confirmed' ORDER BY epoch`)
  ).rows.map(toEpoch);
}

/** A confirmed epoch published again (the chain had lost it): its new transaction. */
export async function markRepublished(
  db: Queryable,
  epoch: number,
  txHash: `0x${string}`,
  blockNumber: bigint,
): Promise<void> {
  await db.query(
    `UPDATE settlement_epochs SET tx_hash = $2, block_number = $3 WHERE epoch = $1 AND status = 'confirmed'`,
    [epoch, txHash, blockNumber],
  );
}

/** Every wallet any epoch paid (the distributor's possible claimants). */
export async function paidWallets(db: Queryable): Promise<string[]> {
  return (await db.query<{ wallet: string }>(`SELECT DISTINCT wallet FROM epoch_payouts ORDER BY wallet`)).rows.map(
    (r) => r.wallet,
  );
}

// relayed_claims (migration 0030): the claims this deployment relayed, recorded before sending.
export async function recordClaimSending(db: Queryable, wallet: string, cumulative: bigint): Promise<number> {
  const r = await db.query<{ id: string }>(
    `INSERT INTO relayed_claims (wallet, cumulative) VALUES ($1, $2) RETURNING id`,
    [wallet, cumulative],
  );
  return Number(r.rows[0]!.id);
}

export async function recordClaimOutcome(
  db: Queryable,
  id: number,
  outcome: { status: 'sent' | 'mined' | 'reverted'; txHash: string; blockNumber?: bigint },
): Promise<void> {
  await db.query(
    `UPDATE relayed_claims SET status = $2, tx_hash = $3, block_number = coalesce($4, block_number), updated_at = now() WHERE id = $1`,
    [id, outcome.status, outcome.txHash, outcome.blockNumber ?? null],
  );
}

/**
 * Per wallet, the highest cumulative amount a relayed claim paid it up to: mined claims, and (with
 * `settledForSeconds`) claims still unfinished after that long (their process died mid-way).
 */
export async function relayedClaimTotals(
  db: Queryable,
  opts: { settledForSeconds?: number } = {},
): Promise<{ wallet: string; cumulative: bigint }[]> {
  const r = await db.query<{ wallet: string; cumulative: bigint }>(
    `SELECT wallet, max(cumulative)::bigint AS cumulative FROM relayed_claims
      WHERE status = 'mined' OR (status IN ('sending', 'sent') AND created_at < now() - make_interval(secs => $1))
      GROUP BY wallet ORDER BY wallet`,
    [opts.settledForSeconds ?? 1e9],
  );
  return r.rows.map((row) => ({ wallet: row.wallet, cumulative: row.cumulative }));
}

export async function recordChainRepair(
  db: Queryable,
  repair: { kind: 'epoch' | 'claim'; subject: string; detail: string; txHash: string | null },
): Promise<void> {
  await db.query(`INSERT INTO chain_repairs (kind, subject, detail, tx_hash) VALUES ($1, $2, $3, $4)`, [
    repair.kind,
    repair.subject,
    repair.detail,
    repair.txHash,
  ]);
}

export async function chainRepairCounts(db: Queryable): Promise<{ kind: string; n: number }[]> {
  return (
    await db.query<{ kind: string; n: string }>(`SELECT kind, count(*) AS n FROM chain_repairs GROUP BY kind`)
  ).rows.map((r) => ({ kind: r.kind, n: Number(r.n) }));
}

/** Published but not yet final: no failure, just the next look. */
export async function waitForFinality(db: Queryable, epoch: number, nextAttemptAt: Date): Promise<void> {
  await db.query(`UPDATE settlement_epochs SET next_attempt_at = $2 WHERE epoch = $1 AND status <> 'confirmed'`, [
    epoch,
    nextAttemptAt,
  ]);
}

/** Makes the caller's transaction read one snapshot throughout (call it first in the transaction). */
export async function readOneSnapshot(tx: Queryable): Promise<void> {
  await tx.query('SET TRANSACTION ISOLATION LEVEL REPEATABLE READ');
}
