import type { Queryable } from '../db/index.ts';
import { FUNDING_ACCOUNT_ID, SETTLED_ACCOUNT_ID } from './accounts.ts';
import { balanceMismatches } from './ledger.ts';
import { X402_ACCOUNT_ID } from './x402.ts';
import { TOP_UPS_ACCOUNT_ID } from './top-ups.ts';
import { X402_CHANNEL_CLAIMS_ACCOUNT_ID, X402_VOUCHERS_ACCOUNT_ID } from './x402-channels.ts';

// The database's money invariants (services/ledger-check.ts adds the chain's): each check is one
// query that lists offenders (a few, for the report); an empty list passes.
export interface LedgerCheck {
  name: string;
  ok: boolean;
  /** what was checked, in numbers */
  checked: string;
  /** up to 5 offending rows, as text */
  offenders: string[];
}

/** offending rows listed per check */
export const LIMIT = 5;

export async function ledgerInvariants(db: Queryable): Promise<LedgerCheck[]> {
  const checks: LedgerCheck[] = [];
  const add = async (name: string, checked: () => Promise<string>, sql: string, params: unknown[] = []) => {
    const r = await db.query<Record<string, unknown>>(`${sql} LIMIT ${LIMIT}`, params);
    const offenders = r.rows.map((row) =>
      Object.entries(row)
        .map(([k, v]) => `${k}=${String(v)}`)
        .join(' '),
    );
    checks.push({ name, ok: offenders.length === 0, checked: await checked(), offenders });
  };
  const count = async (sql: string) => String((await db.query<{ n: bigint }>(sql)).rows[0]?.n ?? 0n);

  await add(
    'every ledger transaction sums to zero',
    async () => `${await count(`SELECT count(*)::bigint AS n FROM ledger_transactions`)} transactions`,
    `SELECT transaction_id, sum(amount)::text AS total FROM ledger_entries GROUP BY transaction_id HAVING sum(amount) <> 0`,
  );
  await add(
    'every transaction has entries',
    async () => 'all transactions',
    `SELECT t.id FROM ledger_transactions t WHERE NOT EXISTS (SELECT 1 FROM ledger_entries e WHERE e.transaction_id = t.id)`,
  );
  // Live and test money are two ledgers over the same accounts (migration 0012): each balances on
  // its own, no account goes below zero in either, and nothing crosses between them.
  await add(
    'all balances together sum to zero, live and test each',
    async () => `${await count(`SELECT count(DISTINCT account_id)::bigint AS n FROM ledger_entries`)} accounts`,
    `SELECT livemode, sum(amount)::text AS total FROM ledger_entries GROUP BY livemode HAVING sum(amount) <> 0`,
  );
  // Balances are derived from entries (never stored), so "balance = entries" holds by construction;
  // what can go wrong is an account spent below zero. Only the outside world's accounts may be:
  // admin funding, and stablecoin paid in with x402 (batch-settlement: vouchers owed, claims received).
  await add(
    'no account below zero but the funding account',
    async () => `${await count(`SELECT count(*)::bigint AS n FROM accounts`)} accounts`,
    `SELECT account_id, livemode, sum(amount)::text AS balance FROM ledger_entries WHERE account_id <> ALL($1::text[])
      GROUP BY account_id, livemode HAVING sum(amount) < 0`,
    [
      [
        FUNDING_ACCOUNT_ID,
        X402_ACCOUNT_ID,
        TOP_UPS_ACCOUNT_ID,
        X402_VOUCHERS_ACCOUNT_ID,
        X402_CHANNEL_CLAIMS_ACCOUNT_ID,
      ],
    ],
  );
  await add(
    'test and live never in one transaction',
    async () =>
      `${await count(`SELECT count(*)::bigint AS n FROM ledger_transactions WHERE NOT livemode`)} test transactions`,
    `SELECT DISTINCT t.id, t.livemode FROM ledger_transactions t JOIN ledger_entries e ON e.transaction_id = t.id WHERE e.livemode <> t.livemode`,
  );
  // Only an admin's credit grant may be made in the other mode than its key's, and only live → test.
  await add(
    "a test key never moves live money; a live key's calls are live",
    async () =>
      `${await count(`SELECT count(*)::bigint AS n FROM ledger_transactions WHERE key_id IS NOT NULL`)} transactions by a key`,
    `SELECT t.id, t.kind, t.key_id FROM ledger_transactions t JOIN api_keys k ON k.id = t.key_id
      WHERE (t.livemode AND NOT k.livemode) OR (k.livemode AND NOT t.livemode AND t.kind <> 'credit_grant')`,
  );
  await add(
    'test money never settles',
    async () => `${await count(`SELECT count(*)::bigint AS n FROM receipts WHERE NOT livemode`)} test receipts`,
    `SELECT DISTINCT 'transaction' AS what, e.transaction_id AS id FROM ledger_entries e JOIN ledger_transactions t ON t.id = e.transaction_id
      WHERE NOT e.livemode AND (e.account_id = $1 OR t.kind = 'payout')
     UNION ALL
     SELECT 'receipt', id FROM receipts WHERE NOT livemode AND epoch IS NOT NULL`,
    [SETTLED_ACCOUNT_ID],
  );
  await add(
    'every charge has its receipt',
    async () =>
      `${await count(`SELECT count(*)::bigint AS n FROM ledger_transactions WHERE kind IN ('retrieve', 'answer')`)} charges`,
    `SELECT t.id, t.request_id FROM ledger_transactions t LEFT JOIN receipts r ON r.request_id = t.request_id AND r.livemode = t.livemode
      WHERE t.kind IN ('retrieve', 'answer') AND r.id IS NULL`,
  );
  // A call that found nothing to pay for has a receipt of 0 and no ledger transaction.
  await add(
    'every receipt of a charge has its ledger transaction',
    async () => `${await count(`SELECT count(*)::bigint AS n FROM receipts`)} receipts`,
    `SELECT r.id, r.request_id FROM receipts r LEFT JOIN ledger_transactions t ON t.request_id = r.request_id
      WHERE t.id IS NULL AND (r.canonical::jsonb ->> 'charged') <> '0'`,
  );
  await add(
    'the settled account equals the last confirmed cumulative total',
    async () =>
      `${await count(`SELECT count(*)::bigint AS n FROM settlement_epochs WHERE status = 'confirmed'`)} confirmed epochs`,
    `SELECT settled::text, published::text FROM (
       SELECT (SELECT coalesce(sum(amount), 0) FROM ledger_entries WHERE account_id = $1 AND livemode) AS settled,
              (SELECT coalesce(max(total_cumulative), 0) FROM settlement_epochs WHERE status = 'confirmed') AS published) x
      WHERE settled <> published`,
    [SETTLED_ACCOUNT_ID],
  );
  await add(
    "each epoch's payouts add up to its amount",
    async () => `${await count(`SELECT count(*)::bigint AS n FROM settlement_epochs`)} epochs`,
    `SELECT e.epoch, e.amount::text, coalesce(sum(p.amount), 0)::text AS payouts FROM settlement_epochs e
       LEFT JOIN epoch_payouts p ON p.epoch = e.epoch GROUP BY e.epoch, e.amount HAVING e.amount <> coalesce(sum(p.amount), 0)`,
  );
  await add(
    'each confirmed epoch paid out once in the ledger',
    async () => 'confirmed epochs with an amount',
    `SELECT e.epoch, count(t.id) AS payouts FROM settlement_epochs e
       LEFT JOIN ledger_transactions t ON t.request_id = 'settlement-epoch-' || e.epoch
      WHERE e.status = 'confirmed' AND e.amount > 0 GROUP BY e.epoch HAVING count(t.id) <> 1`,
  );
  // x402 (migration 0060): what the ledger took in equals the payments it kept (a refused payment
  // was reversed and never settled); unsettled ones are receivables, listed until settled.
  await add(
    'x402 inflows equal the payments not refused',
    async () => `${await count(`SELECT count(*)::bigint AS n FROM x402_payments`)} x402 payments`,
    `SELECT ledger::text, payments::text FROM (
       SELECT (SELECT -coalesce(sum(amount), 0) FROM ledger_entries WHERE account_id = $1) AS ledger,
              (SELECT coalesce(sum(amount), 0) FROM x402_payments WHERE status <> 'refused') AS payments) x
      WHERE ledger <> payments`,
    [X402_ACCOUNT_ID],
  );
  await add(
    'no x402 payment left unsettled after a successful call',
    async () =>
      `${await count(`SELECT count(*)::bigint AS n FROM x402_payments WHERE status = 'settled'`)} settled on chain`,
    `SELECT id, payer, amount::text, error FROM x402_payments WHERE status = 'unsettled'`,
  );
  // x402 `upto` (migration 0105): a settled payment took exactly what its call was charged, no more
  // than the payer signed; the unused rest of its credit was reversed.
  await add(
    'x402 upto payments took what their call cost',
    async () =>
      `${await count(`SELECT count(*)::bigint AS n FROM x402_payments WHERE scheme = 'upto' AND status = 'settled'`)} settled upto payments`,
    `SELECT p.id, p.amount::text, p.authorized::text, (-coalesce(sum(e.amount), 0))::text AS charged
       FROM x402_payments p JOIN x402_payers w ON w.wallet = p.payer
       LEFT JOIN ledger_transactions t ON t.request_id = p.request_id
       LEFT JOIN ledger_entries e ON e.transaction_id = t.id AND e.account_id = w.account_id
      WHERE p.scheme = 'upto' AND p.status = 'settled'
      GROUP BY p.id, p.amount, p.authorized HAVING p.amount <> -coalesce(sum(e.amount), 0) OR p.amount > p.authorized`,
  );
  // Self-serve top-ups (migration 0101): what the ledger took in equals the top-ups credited.
  await add(
    'top-up inflows equal the credited top-ups',
    async () =>
      `${await count(`SELECT count(*)::bigint AS n FROM top_ups WHERE status = 'credited'`)} credited top-ups`,
    `SELECT ledger::text, credited::text FROM (
       SELECT (SELECT -coalesce(sum(amount), 0) FROM ledger_entries WHERE account_id = $1) AS ledger,
              (SELECT coalesce(sum(amount), 0) FROM top_ups WHERE status = 'credited') AS credited) x
      WHERE ledger <> credited`,
    [TOP_UPS_ACCOUNT_ID],
  );
  checks.push(await runningBalancesCheck(db));
  return checks;
}

/** The running balances (migration 0040) equal what they sum: Σ entries and Σ open holds, per account and mode. */
async function runningBalancesCheck(db: Queryable): Promise<LedgerCheck> {
  const offenders = (await balanceMismatches(db, LIMIT)).map(
    (m) => `account_id=${m.accountId} livemode=${m.livemode} stored: ${m.stored}; entries: ${m.derived}`,
  );
  const n = (await db.query<{ n: bigint }>(`SELECT count(*)::bigint AS n FROM account_balances`)).rows[0]!.n;
  return {
    name: 'running balances and holds equal their entries and open answers',
    ok: offenders.length === 0,
    checked: `${n} account balances`,
    offenders,
  };
}
