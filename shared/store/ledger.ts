import type { Queryable } from '../db/index.ts';
import { assertBalanced, compactEntries, type LedgerTransaction } from '../core/ledger.ts';
import { encodeResult } from './idempotency.ts';
import {
  foldEarnings,
  foldUsage,
  type EarningsRow,
  type EarningsSummary,
  type UsageSummary,
} from '../core/ledger-summaries.ts';

export async function postTransaction(db: Queryable, tx: LedgerTransaction): Promise<void> {
  const entries = compactEntries(tx.entries);
  assertBalanced({ entries });
  await db.query(
    `INSERT INTO ledger_transactions (id, kind, request_id, key_id, livemode) VALUES ($1, $2, $3, $4, $5)`,
    [tx.id, tx.kind, tx.requestId, tx.keyId, tx.livemode],
  );
  await db.query(
    `INSERT INTO ledger_entries (transaction_id, livemode, account_id, amount, datanet_id, document_id)
     SELECT $1, $2, * FROM unnest($3::text[], $4::bigint[], $5::text[], $6::text[])`,
    [
      tx.id,
      tx.livemode,
      entries.map((e) => e.accountId),
      entries.map((e) => e.amount.toString()),
      entries.map((e) => e.datanetId ?? null),
      entries.map((e) => e.documentId ?? null),
    ],
  );
}

/** Serialises charges against one account (row lock held until the transaction ends). */
export async function lockAccount(db: Queryable, accountId: string): Promise<void> {
  await db.query(`SELECT id FROM accounts WHERE id = $1 FOR UPDATE`, [accountId]);
}

// Live and test money are two ledgers over the same accounts (migration 0012): every read says
// which one it means, so a test key's figures never include live money and the other way round.
// Balances and holds are running totals (migration 0040, kept by triggers in the transaction of
// each entry and each answer): one row per account and mode, whatever the account's history.

export interface Credits {
  /** Σ the account's ledger entries in this mode */
  balance: bigint;
  /** what answers still queued or running reserve of it */
  held: bigint;
}

export async function creditsOf(db: Queryable, accountId: string, livemode: boolean): Promise<Credits> {
  const r = await db.query<{ balance: bigint; held: bigint }>(
    `SELECT balance, held FROM account_balances WHERE account_id = $1 AND livemode = $2`,
    [accountId, livemode],
  );
  return r.rows[0] ?? { balance: 0n, held: 0n };
}

export async function balanceOf(db: Queryable, accountId: string, livemode: boolean): Promise<bigint> {
  return (await creditsOf(db, accountId, livemode)).balance;
}

export interface ChargeCallParameters {
  payer: { accountId: string; livemode: boolean };
  /** refuse unless balance − held covers this; null: refuse only an account with nothing left */
  required: bigint | null;
  /** the ledger transaction (its entries may be empty: nothing to pay for, nothing posted) */
  transaction: Omit<LedgerTransaction, 'livemode'>;
  receipt: { id: string; kind: 'retrieve' | 'answer'; canonical: string; hash: string; createdAt: Date } | null;
  /** the Idempotency-Key record; `balancePath` is where the result gets the available balance after the charge */
  idempotency: { key: string; requestHash: string; result: unknown; balancePath: string[] | null } | null;
}

export type ChargeCallReturnType =
  | { ok: true; balance: bigint; held: bigint }
  | { ok: false; balance: bigint; held: bigint };

/**
 * Locks the payer, checks what it can spend, posts the transaction, writes the receipt and the
 * idempotency record: one statement (migration 0041's charge_call), so one round trip.
 */
export async function chargeCall(db: Queryable, p: ChargeCallParameters): Promise<ChargeCallReturnType> {
  const entries = compactEntries(p.transaction.entries);
  if (entries.length > 0) assertBalanced({ entries }); // none: nothing to pay for, no transaction posted
  const r = await db.query<{ ok: boolean; balance: bigint; held: bigint }>(
    `SELECT ok, balance, held FROM charge_call($1, $2, $3, $4, $5, $6, $7, $8::text[], $9::bigint[], $10::text[], $11::text[],
                                               $12, $13, $14, $15, $16, $17, $18, $19::jsonb, $20::text[])`,
    [
      p.payer.accountId,
      p.payer.livemode,
      p.required,
      p.transaction.id,
      p.transaction.kind,
      p.transaction.requestId,
      p.transaction.keyId,
      entries.map((e) => e.accountId),
      entries.map((e) => e.amount.toString()),
      entries.map((e) => e.datanetId ?? null),
      entries.map((e) => e.documentId ?? null),
      p.receipt?.id ?? null,
      p.receipt?.kind ?? null,
      p.receipt?.canonical ?? null,
      p.receipt?.hash ?? null,
      p.receipt?.createdAt ?? null,
      p.idempotency?.key ?? null,
      p.idempotency?.requestHash ?? null,
      p.idempotency ? encodeResult(p.idempotency.result) : null,
      p.idempotency?.balancePath ?? null,
    ],
  );
  const row = r.rows[0]!;
  return { ok: row.ok, balance: row.balance, held: row.held } as ChargeCallReturnType;
}

/**
 * Running balances that disagree with the entries and answers they sum, in either direction
 * (a row with no entries, entries with no row): empty when balance = Σ entries and held = Σ open
 * holds for every account and mode. A whole-table scan, for check:ledger only.
 */
export async function balanceMismatches(
  db: Queryable,
  limit: number,
): Promise<{ accountId: string; livemode: boolean; stored: string; derived: string }[]> {
  const r = await db.query<{ account_id: string; livemode: boolean; stored: string; derived: string }>(
    `WITH derived AS (
       SELECT account_id, livemode, sum(balance)::bigint AS balance, sum(held)::bigint AS held FROM (
         SELECT account_id, livemode, amount AS balance, 0 AS held FROM ledger_entries
         UNION ALL
         SELECT account_id, livemode, 0, hold FROM answers WHERE status IN ('queued', 'running')) x
       GROUP BY account_id, livemode)
     SELECT coalesce(b.account_id, d.account_id) AS account_id, coalesce(b.livemode, d.livemode) AS livemode,
            format('balance %s held %s', coalesce(b.balance, 0), coalesce(b.held, 0)) AS stored,
            format('balance %s held %s', coalesce(d.balance, 0), coalesce(d.held, 0)) AS derived
       FROM account_balances b FULL JOIN derived d ON d.account_id = b.account_id AND d.livemode = b.livemode
      WHERE coalesce(b.balance, 0) <> coalesce(d.balance, 0) OR coalesce(b.held, 0) <> coalesce(d.held, 0)
      ORDER BY 1, 2 LIMIT $1`,
    [limit],
  );
  return r.rows.map((x) => ({ accountId: x.account_id, livemode: x.livemode, stored: x.stored, derived: x.derived }));
}

/** A comparator by a string key (code-point order: the same in every locale). */
export type { EarningsSummary, UsageSummary } from '../core/ledger-summaries.ts';

/** One document's earnings as both readers select it (here and store/dashboard.ts). */
export interface EarningsRowSql {
  document_id: string;
  datanet_id: string;
  title: string;
  deleted: boolean;
  dn_name: string;
  earned: bigint;
  calls: bigint;
}

export const earningsRow = (r: EarningsRowSql): EarningsRow => ({
  documentId: r.document_id,
  datanetId: r.datanet_id,
  datanetName: r.dn_name,
  title: r.title,
  deleted: r.deleted,
  earned: r.earned,
  calls: r.calls,
});

/**
 * A sum over the account's whole ledger: the reference the rollups are tested against
 * (test/dashboard/rollups.test.ts). No API path reads it: they read store/dashboard.ts's rollups.
 */
export async function usageOf(db: Queryable, accountId: string, livemode: boolean): Promise<UsageSummary> {
  const rows = await db.query<{ kind: string; key_id: string | null; calls: bigint; spend: bigint; credited: bigint }>(
    `SELECT t.kind, t.key_id, count(*)::bigint AS calls,
            coalesce(sum(-e.amount) FILTER (WHERE e.amount < 0), 0)::bigint AS spend,
            coalesce(sum(e.amount) FILTER (WHERE e.amount > 0), 0)::bigint AS credited
       FROM ledger_entries e JOIN ledger_transactions t ON t.id = e.transaction_id
      WHERE e.account_id = $1 AND e.livemode = $2
      GROUP BY t.kind, t.key_id`,
    [accountId, livemode],
  );
  return foldUsage(
    rows.rows.map((r) => ({ kind: r.kind, keyId: r.key_id, calls: r.calls, spend: r.spend, credited: r.credited })),
  );
}

/** The reference for store/dashboard.ts earningsSummary (a sum over the whole ledger; no API path reads it). */
export async function earningsOf(db: Queryable, accountId: string, livemode: boolean): Promise<EarningsSummary> {
  const docs = await db.query<{
    document_id: string;
    datanet_id: string;
    title: string;
    deleted: boolean;
    dn_name: string;
    earned: bigint;
    calls: bigint;
  }>(
    `SELECT e.document_id, e.datanet_id, d.title, d.deleted_at IS NOT NULL AS deleted, n.name AS dn_name,
            sum(e.amount)::bigint AS earned, count(DISTINCT e.transaction_id)::bigint AS calls
       FROM ledger_entries e JOIN documents d ON d.id = e.document_id JOIN datanets n ON n.id = e.datanet_id
      WHERE e.account_id = $1 AND e.livemode = $2
      GROUP BY e.document_id, e.datanet_id, d.title, d.deleted_at, n.name
      ORDER BY earned DESC, e.document_id`,
    [accountId, livemode],
  );
  const balance = await balanceOf(db, accountId, livemode);
  // Test earnings never settle: only live money goes on chain.
  const settled = livemode ? await settledOf(db, accountId) : 0n;
  return foldEarnings(docs.rows.map(earningsRow), { balance, settled });
}

/** What confirmed settlement epochs moved out of the account onto the chain. */
async function settledOf(db: Queryable, accountId: string): Promise<bigint> {
  const r = await db.query<{ settled: bigint }>(
    `SELECT coalesce(-sum(e.amount), 0)::bigint AS settled
       FROM ledger_entries e JOIN ledger_transactions t ON t.id = e.transaction_id
      WHERE e.account_id = $1 AND t.kind = 'payout' AND e.livemode`,
    [accountId],
  );
  return r.rows[0]!.settled;
}
